"""`/gdpr audit` through its use case: the bot's actions and the platform's change log, newest first, a
page at a time, masked for a viewer without `pii.view`; reading it is audited; support may not."""
from __future__ import annotations

import pytest
from sqlalchemy import text

from gdpr.core.errors import NotAllowed
from tests.helpers import SUPPORT, unique_member
from tests.unit.conftest import App

ADMIN = "U0ADMIN1"  # audit.read, no pii.view


def test_history_merges_both_sources_newest_first_and_pages(app: App) -> None:
    services = app.services
    member = unique_member(services.system.engine)
    with services.system.engine.connect() as conn:
        platform = conn.execute(text("SELECT COUNT(*) FROM member_change_log WHERE member_id = :i"),
                                {"i": member["id"]}).scalar()
    services.subject_requests.open(actor=services.policy.actor(SUPPORT), kind="access", identity=member["email"],
                                   subject_type="member", club_code=None)
    services.find_subjects(actor=app.dpo(), text=member["member_number"], club_code=None)  # a VIEW, unmasked

    first = services.subject_history.find(actor=app.actor(ADMIN), identity=member["member_number"],
                                          subject_type="member", club_code=None)
    assert first.unmasked_by is None and first.subject["email"] != member["email"]  # masked for the admin
    lines, calls = [], 1
    while len(lines) < first.page.total:  # three at a time
        calls += 1
        page = services.subject_history.history(actor=app.actor(ADMIN), subject_type="member", key=str(member["id"]),
                                                offset=len(lines), limit=3, until=first.until).page
        lines += page.items
    assert calls > 2 and lines[:len(first.page.items)] == first.page.items  # reading did not shift the pages
    assert len(lines) == first.page.total >= platform + 1 + 2  # received, awaiting approval, + the platform's
    assert [line.at for line in lines] == sorted((line.at for line in lines), reverse=True)
    assert {"request.received", "subject.viewed"} <= {line.what for line in lines if line.source == "bot"}
    assert "VIEW" in {line.what for line in lines if line.source == "platform"}
    assert member["email"] not in str(lines)

    clear = services.subject_history.history(actor=app.dpo(), subject_type="member", key=str(member["id"]))
    assert clear.unmasked_by == "pii.view" and clear.subject["email"] == member["email"]
    with pytest.raises(NotAllowed):
        services.subject_history.find(actor=app.actor(SUPPORT), identity=member["member_number"],
                                      subject_type="member", club_code=None)
    with services.db.session() as s:
        reads = s.execute(text("SELECT COUNT(*) FROM audit_events WHERE action = 'audit.read'")).scalar()
        denied = s.execute(text("SELECT COUNT(*) FROM audit_events WHERE action = 'access.denied'")).scalar()
    assert (reads, denied) == (calls + 1, 1)  # every page read is audited, the DPO's too; support refused
