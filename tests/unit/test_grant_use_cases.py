"""Temporary access through the use cases alone (fakes of the ports): an end Slack could not tell is told
on a later pass, once; a grant stops unmasking at its end even if no pass ran; who may ask, list and
revoke; the cap and its config."""
from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

from gdpr.core import models as m
from gdpr.core.access import load_policy
from gdpr.core.errors import ConfigError, DuplicateRequest, NotAllowed, UsageError
from tests.conftest import ROOT
from tests.helpers import COLLEAGUE, SUPPORT, unique_member
from tests.unit.conftest import App

REASON = "ticket 4411: billing dispute"


def _live(app: App, member: dict, minutes: str = "30m") -> int:
    use = app.services.access_grants
    grant_id = use.ask(actor=app.actor(SUPPORT), identity=member["member_number"], subject_type="member",
                       club_code=None, duration=minutes, reason=REASON)
    use.approve(actor=app.dpo(), grant_id=grant_id)
    return grant_id


def _sees(app: App, member: dict, user: str = SUPPORT) -> bool:
    found = app.services.find_subjects(actor=app.actor(user), text=member["member_number"], club_code=None)
    return found.subjects[0].fields["email"] == member["email"]


def test_an_end_slack_could_not_tell_is_told_on_a_later_pass_once(app: App) -> None:
    member = unique_member(app.services.system.engine)
    grant_id = _live(app, member)
    assert _sees(app, member) and not _sees(app, member, COLLEAGUE)  # the grantee alone
    end = app.services.grants.get(grant_id).expires_at.replace(tzinfo=dt.UTC)
    app.grants.down = True
    assert app.services.access_grants.expire_due(end + dt.timedelta(seconds=1)) == 1
    assert app.services.grants.get(grant_id).end_told_at is None and not _sees(app, member)
    app.grants.down = False
    app.services.access_grants.expire_due(end + dt.timedelta(seconds=30))  # too soon to be sure nobody is telling
    assert ("ended", grant_id, m.EXPIRED) not in app.grants.shown
    app.services.access_grants.expire_due(end + dt.timedelta(minutes=2))
    app.services.access_grants.expire_due(end + dt.timedelta(minutes=3))
    assert app.grants.shown.count(("ended", grant_id, m.EXPIRED)) == 1


def test_a_grant_stops_unmasking_at_its_end_without_any_pass(app: App) -> None:
    member = unique_member(app.services.system.engine)
    grant_id = _live(app, member)
    grant = app.services.grants.get(grant_id)
    end = grant.expires_at.replace(tzinfo=dt.UTC)
    assert app.services.grants.live(user_id=SUPPORT, subject_ref=grant.subject_ref, now=end - dt.timedelta(seconds=1))
    assert app.services.grants.live(user_id=SUPPORT, subject_ref=grant.subject_ref, now=end) is None
    assert app.services.grants.get(grant_id).status == m.APPROVED  # nothing ran: still recorded as approved


def test_who_may_ask_list_and_revoke(app: App) -> None:
    member = unique_member(app.services.system.engine)
    use = app.services.access_grants
    with pytest.raises(NotAllowed):  # admin holds no grant.request
        use.ask(actor=app.actor("U0ADMIN1"), identity=member["member_number"], subject_type="member",
                club_code=None, duration="1h", reason=REASON)
    with pytest.raises(UsageError):
        use.ask(actor=app.actor(SUPPORT), identity=member["member_number"], subject_type="member", club_code=None,
                duration="1h", reason="because")  # no investigation named
    with pytest.raises(UsageError):
        use.ask(actor=app.actor(SUPPORT), identity=member["member_number"], subject_type="member", club_code=None,
                duration="soon", reason=REASON)
    grant_id = use.ask(actor=app.actor(SUPPORT), identity=member["member_number"], subject_type="member",
                       club_code=None, duration="4h", reason=REASON)
    with pytest.raises(DuplicateRequest):
        use.ask(actor=app.actor(SUPPORT), identity=member["member_number"], subject_type="member", club_code=None,
                duration="1h", reason=REASON)
    assert [v.grant_id for v in use.listed(actor=app.actor(SUPPORT)).items] == [grant_id]
    assert use.listed(actor=app.actor(COLLEAGUE)).total == 0  # someone else's
    assert [v.grant_id for v in use.listed(actor=app.dpo()).items] == [grant_id]
    assert member["email"] not in str(use.listed(actor=app.dpo()))
    use.approve(actor=app.dpo(), grant_id=grant_id)
    with pytest.raises(NotAllowed):
        use.revoke(actor=app.actor(SUPPORT), grant_id=grant_id)
    assert use.revoke(actor=app.dpo(), grant_id=grant_id, reason="done").status == m.REVOKED
    assert not _sees(app, member) and ("ended", grant_id, m.REVOKED) in app.grants.shown


@pytest.mark.parametrize("role, message", [
    ("    permissions: [subject.find, grant.request]\n", "needs max_grant"),
    ("    permissions: [subject.find, grant.request]\n    max_grant: 3d\n", "at most 24h"),
])
def test_the_cap_is_configured_per_role(tmp_path: Path, role: str, message: str) -> None:
    shutil.copy(ROOT / "config" / "roles.yaml", tmp_path / "roles.yaml")
    path = tmp_path / "roles.yaml"
    path.write_text(path.read_text().replace("roles:\n", "roles:\n  trainee:\n" + role, 1))
    with pytest.raises(ConfigError, match=message):
        load_policy(path)
