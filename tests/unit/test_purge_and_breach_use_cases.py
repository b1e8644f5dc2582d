"""CRM purges and breaches through their use cases alone: no Slack, no broker (fakes of the ports),
the embedded database and mail to .eml files. The same states as through Slack (tests/e2e)."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import text

from gdpr.breaches.service import BreachFacts
from gdpr.core import models as m
from gdpr.core.errors import AlreadyDecided, NotAllowed
from tests.helpers import STRANGER, SUPPORT
from tests.unit.conftest import App


def _leads(app: App, status: str) -> int:
    with app.services.system.engine.connect() as conn:
        return conn.execute(text("SELECT COUNT(*) FROM crm_leads WHERE status = :s AND email IS NOT NULL"),
                            {"s": status}).scalar_one()


def test_a_crm_purge_is_previewed_approved_once_and_run_without_slack(app: App) -> None:
    purges, before = app.services.purges, _leads(app, "rejection")
    opened = purges.open_purge(actor=app.actor(SUPPORT), options={"status": "rejection"})
    assert opened.run_id is not None and opened.total == before > 0
    assert app.bulk.cards == [(opened.run_id, m.AWAITING_APPROVAL, before)]
    again = purges.open_purge(actor=app.actor(SUPPORT), options={"status": "rejection"})
    assert again.run_id is None and again.already_open == f"P-{opened.run_id} (awaiting approval)"
    with pytest.raises(NotAllowed):  # four eyes
        purges.approve(actor=app.actor(SUPPORT), run_id=opened.run_id)
    assert purges.approve(actor=app.dpo(), run_id=opened.run_id) is True
    assert app.queue.of("run") == [opened.run_id]
    with pytest.raises(AlreadyDecided):
        purges.check_decidable(actor=app.dpo(), run_id=opened.run_id)

    assert app.services.bulk_job().run(run_id=opened.run_id, owner="test") == "done"
    run = app.services.runs.get(opened.run_id)
    assert (run.status, run.done, run.residue) == (m.DONE, before, 0) and _leads(app, "rejection") == 0
    assert app.bulk.changes[-1] == (opened.run_id, m.DONE)


def test_a_stranger_cannot_ask_for_a_purge_and_the_refusal_is_audited(app: App) -> None:
    with pytest.raises(NotAllowed):
        app.services.purges.open_purge(actor=app.actor(STRANGER), options={})
    with app.services.db.session() as s:
        assert s.execute(text("SELECT action FROM audit_events")).scalars().all() == ["access.denied"]
    assert app.bulk.cards == []


def _facts(clubs: list[str]) -> BreachFacts:
    aware = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    return BreachFacts(description="A staff laptop with a member export was stolen.", detected_at=aware,
                       aware_at=aware, kinds=["confidentiality"], data_categories=["contact"],
                       subject_categories=["members"], approx_people=40, approx_records=80, clubs=clubs,
                       consequences="Phishing.", measures="Wiped remotely.", contact="DPO, dpo@example.org")


def test_a_breach_is_reported_notified_through_the_outbox_and_closed_without_slack(app: App) -> None:
    desk, outbox = app.services.breach_desk, app.services.settings.outbox_dir
    breach_id = desk.report(actor=app.actor(SUPPORT), facts=_facts(["1", "2"]))
    assert app.breaches.alerts == [breach_id]
    with pytest.raises(NotAllowed, match="Only the DPO"):
        desk.notify(actor=app.actor(SUPPORT), breach_id=breach_id)
    notices = desk.notify(actor=app.dpo(), breach_id=breach_id)
    assert len(notices) == 2 and app.queue.of("breach notice") == notices
    assert desk.notify(actor=app.dpo(), breach_id=breach_id) == []  # a second click adds none
    assert [desk.deliver_notice(n) for n in notices] == ["sent", "sent"]
    assert [desk.deliver_notice(n) for n in notices] == ["skipped", "skipped"]  # each club told once
    assert len(list(outbox.glob("*.eml"))) == 2
    desk.close(actor=app.dpo(), breach_id=breach_id, remedial="Laptops encrypted.", reasoning="Clubs told.")
    assert app.breaches.closed_with == [(breach_id, 2)]
    assert app.services.breaches.get(breach_id).status == m.BREACH_CLOSED
    kinds = [e.kind for e in app.services.breaches.events(breach_id)]
    assert kinds[:2] == ["reported", "alerted"] and kinds.count("notice_sent") == 2 and kinds[-1] == "closed"


def test_a_breach_notice_waiting_for_its_backoff_is_not_sent_before_its_time(app: App) -> None:
    """The outbox's claim respects next_attempt_at: a delivery message that arrives early (the reconciler,
    a duplicate) attempts nothing and doubles no backoff; once due, one attempt, and one only."""
    desk, outbox = app.services.breach_desk, app.services.settings.outbox_dir
    breach_id = desk.report(actor=app.actor(SUPPORT), facts=_facts(["1"]))
    [notice] = desk.notify(actor=app.dpo(), breach_id=breach_id)
    later = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5)
    with app.services.db.session() as s:  # as a failed attempt leaves it
        s.execute(text("UPDATE breach_notices SET status = 'retrying', attempts = 1, next_attempt_at = :t "
                       "WHERE id = :i"), {"t": later, "i": notice})
    sent_before = list(app.queue.sent)
    app.services.housekeeping.reconcile()
    assert app.queue.sent == sent_before  # not due: the reconciler sends nothing
    assert desk.deliver_notice(notice) == "skipped" and not list(outbox.glob("*.eml"))
    [stored] = app.services.breaches.notices(breach_id)
    assert (stored.status, stored.attempts) == ("retrying", 1)
    with app.services.db.session() as s:  # its time has come
        s.execute(text("UPDATE breach_notices SET next_attempt_at = :t WHERE id = :i"),
                  {"t": dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1), "i": notice})
    assert [desk.deliver_notice(notice), desk.deliver_notice(notice)] == ["sent", "skipped"]
    assert len(list(outbox.glob("*.eml"))) == 1


def test_a_notice_claimed_by_a_sender_that_died_is_handed_out_again_after_a_minute_not_five(app: App) -> None:
    """A send is bounded by its timeouts (HTTP 10 s, SMTP 15 s): the claim's lease is the job lease, at least
    60 s; past it the reconciler hands the row out again (same idempotency key), before it, not."""
    desk = app.services.breach_desk
    breach_id = desk.report(actor=app.actor(SUPPORT), facts=_facts(["1"]))
    [notice] = desk.notify(actor=app.dpo(), breach_id=breach_id)
    claimed = app.services.breaches.outbox.claim(m.BreachNotice, notice)  # and the sender is killed here
    assert claimed is not None and claimed.status == "sending"
    lease = claimed.next_attempt_at.replace(tzinfo=dt.UTC) - dt.datetime.now(dt.UTC)
    assert dt.timedelta(seconds=55) < lease <= dt.timedelta(seconds=60)  # LEASE_SECONDS=30 < the 60 s floor
    assert app.services.breaches.notices_due(grace=dt.timedelta(0)) == []  # still its sender's
    with app.services.db.session() as s:  # a minute later
        s.execute(text("UPDATE breach_notices SET next_attempt_at = :t WHERE id = :i"),
                  {"t": dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1), "i": notice})
    assert app.services.breaches.notices_due(grace=dt.timedelta(0)) == [notice]
    assert [desk.deliver_notice(notice), desk.deliver_notice(notice)] == ["sent", "skipped"]
