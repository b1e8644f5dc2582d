"""A request opened, decided and completed through the use cases alone: no Slack, no broker. The
presenter and the queue are in-memory fakes of the ports (gdpr/core/ports.py); the database is real."""
from __future__ import annotations

import datetime as dt
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import text

from gdpr.core import models as m
from gdpr.core.errors import AlreadyDecided, NotAllowed, NotEnded, UsageError
from gdpr.erasure.ledger import record_intent
from gdpr.requests.deadlines import AT, MARKS
from tests.helpers import STRANGER, SUPPORT, unique_member
from tests.unit.conftest import App


def test_an_access_request_goes_from_opened_to_done_without_slack(app: App) -> None:
    services, presenter, queue = app.services, app.requests, app.queue
    member = unique_member(services.system.engine)
    use = services.subject_requests
    opened = use.open(actor=services.policy.actor(SUPPORT), kind="access", identity=member["email"],
                      subject_type="member", club_code=None)
    assert opened.status == m.AWAITING_APPROVAL == services.requests.get(opened.request_id).status
    assert member["email"] not in str(presenter.opened) and presenter.opened[0]["number"]  # shown masked
    with pytest.raises(NotAllowed):  # four eyes: not the requester
        use.approve(actor=services.policy.actor(SUPPORT), request_id=opened.request_id)
    assert use.approve(actor=app.dpo(), request_id=opened.request_id) is True
    assert queue.sent == [(opened.request_id, "access")]
    assert services.requests.get(opened.request_id).status == m.QUEUED
    with pytest.raises(AlreadyDecided):
        use.check_decidable(actor=app.dpo(), request_id=opened.request_id)

    job = services.export_job()
    assert job.run(request_id=opened.request_id, owner="test") == "done"
    assert job.run(request_id=opened.request_id, owner="test") == "skipped"  # a redelivery does nothing
    done = services.requests.get(opened.request_id)
    assert (done.status, done.file_id) == (m.DONE, f"F{opened.request_id}") and len(presenter.passphrases) == 1
    assert [s for what, _, s in presenter.shown] == [m.AWAITING_APPROVAL, m.QUEUED, m.RUNNING, m.DONE]


def test_an_erasure_request_is_previewed_erased_and_done_without_slack(app: App) -> None:
    services, presenter, queue = app.services, app.requests, app.queue
    member = unique_member(services.system.engine)
    opened = services.subject_requests.open(actor=services.policy.actor(SUPPORT), kind="erase",
                                            identity=member["member_number"], subject_type="member", club_code=None)
    preview = services.requests.get(opened.request_id).preview
    assert sum(t["rows"] for t in preview["tables"].values()) > 0
    assert services.subject_requests.approve(actor=app.dpo(), request_id=opened.request_id)
    assert queue.sent == [(opened.request_id, "erase")]
    job = services.erasure_job()
    job.run(request_id=opened.request_id, owner="test")
    final = services.requests.get(opened.request_id)
    assert final.status in (m.DONE, m.NOTIFYING) and presenter.reports == [final.result["rows"]] != [0]
    with services.system.engine.connect() as conn:
        assert conn.execute(text("SELECT email FROM members WHERE id = :i"), {"i": member["id"]}).scalar() is None


def test_a_refused_or_unshowable_request_is_not_left_open(app: App) -> None:
    services, presenter = app.services, app.requests
    member = unique_member(services.system.engine)
    use = services.subject_requests
    with pytest.raises(NotAllowed):
        use.open(actor=services.policy.actor(STRANGER), kind="access", identity=member["email"], subject_type="member",
                 club_code=None)
    presenter.request_opened = lambda *_: (_ for _ in ()).throw(ConnectionError("slack down"))
    with pytest.raises(ConnectionError):
        use.open(actor=services.policy.actor(SUPPORT), kind="access", identity=member["email"], subject_type="member",
                 club_code=None)
    with services.db.session() as s:
        statuses = s.execute(text("SELECT status, open_key FROM subject_requests")).all()
    assert [tuple(r) for r in statuses] == [(m.FAILED, None)]  # abandoned: it can be filed again


def test_an_erasure_job_that_failed_for_good_keeps_no_sealed_identifiers(app: App) -> None:
    """The identifiers sealed for the proof go when the job ends any way: a job that died mid-erasure and
    then failed after its last attempt leaves them to the scheduler's next pass."""
    services = app.services
    member = unique_member(services.system.engine)
    opened = services.subject_requests.open(actor=services.policy.actor(SUPPORT), kind="erase",
                                            identity=member["member_number"], subject_type="member", club_code=None)
    services.subject_requests.approve(actor=app.dpo(), request_id=opened.request_id)
    job = services.erasure_job()
    claimed = services.leases.claim(request_id=opened.request_id, owner="w1")
    job.work(claimed, lambda: None)  # erased and proven; then the worker dies before finishing the job
    with services.db.session() as s:
        assert s.execute(text("SELECT sealed FROM erasure_ledger")).scalar()  # still sealed for a retry
    services.leases.release(request_id=opened.request_id, owner="w1", error="Killed (attempt 5)", final=True)
    services.housekeeping.reconcile()
    with services.db.session() as s:
        assert s.execute(text("SELECT sealed FROM erasure_ledger")).scalar() is None


def test_a_deadline_reminder_slack_could_not_take_stays_due(app: App) -> None:
    services, presenter = app.services, app.requests
    member = unique_member(services.system.engine)
    received = dt.date.today() - dt.timedelta(days=25)
    opened = services.subject_requests.open(actor=services.policy.actor(SUPPORT), kind="access",
                                            identity=member["email"], subject_type="member", club_code=None,
                                            club_received_on=received)
    now = dt.datetime.now(dt.UTC)
    presenter.down = True
    assert services.request_deadlines.fire_reminders(now) == 0 and presenter.reminders == []
    presenter.down = False
    assert services.request_deadlines.fire_reminders(now) == 1
    assert services.request_deadlines.fire_reminders(now) == 0
    due = services.requests.get(opened.request_id).due_on
    mark = min(d for d in MARKS if dt.datetime.combine(due - dt.timedelta(days=d), AT) <= now)
    assert presenter.reminders == [(opened.request_id, mark)] and mark in (7, 3)
    with pytest.raises(UsageError):  # the club cannot have received it tomorrow
        services.subject_requests.open(actor=services.policy.actor(SUPPORT), kind="erase", identity=member["email"],
                                       subject_type="member", club_code=None,
                                       club_received_on=dt.date.today() + dt.timedelta(days=1))


def test_erasures_that_reach_their_proof_together_share_one_pass_and_keep_their_own_results(app_on: App) -> None:
    """Four erasures run at once. The first pass (of the one, or the few, that asked first) is held until
    all four wait for their proof, so the rest are proven together by at most one more pass; a former email of the second, left in a table the data
    map does not know, fails that request alone."""
    services = app_on.services
    members = [unique_member(services.system.engine, skip=i) for i in range(4)]
    with services.system.engine.begin() as conn:
        conn.execute(text("CREATE TABLE call_notes (id INTEGER PRIMARY KEY, note TEXT)"))
        conn.execute(text("INSERT INTO call_notes VALUES (1, :n)"), {"n": f"asked to write to {members[1]['email']}"})
    ids = []
    for member in members:
        opened = services.subject_requests.open(actor=services.policy.actor(SUPPORT), kind="erase",
                                                identity=member["member_number"], subject_type="member", club_code=None)
        services.subject_requests.approve(actor=app_on.dpo(), request_id=opened.request_id)
        ids.append(opened.request_id)
    proofs, inner, sizes = services.proofs, services.proofs.check, []
    all_waiting = threading.Event()

    def held(engine, datamap, erasure, sought):
        sizes.append(len(sought))
        if len(sizes) == 1:  # the first pass: until every other erasure waits for its proof
            assert all_waiting.wait(60)
        return inner(engine, datamap, erasure, sought)

    def watch() -> None:
        while not all_waiting.is_set():
            with services.db.session() as s:
                if s.execute(text("SELECT COUNT(*) FROM erasure_ledger WHERE proof_wanted IS NOT NULL")).scalar() == 4:
                    all_waiting.set()
            with proofs._woken:
                proofs._woken.wait(0.05)

    proofs.check = held
    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda r: services.erasure_job().run(request_id=r, owner=f"w{r}"), ids))
    all_waiting.set()
    assert len(sizes) == proofs.passes <= 2 and sum(sizes) == 4  # not one pass each
    final = [services.requests.get(r) for r in ids]
    assert [r.status == m.FAILED for r in final] == [False, True, False, False]
    assert final[1].result["residue"] == ["call_notes.note"] and final[1].error == "residue found after erasure"
    assert all(r.result["residue"] == [] and r.result["rows"] > 0 for r in final[::2] + final[3:])
    with services.db.session() as s:
        assert s.execute(text("SELECT COUNT(*) FROM erasure_ledger WHERE sealed IS NOT NULL "
                              "OR proof_wanted IS NOT NULL OR prover IS NOT NULL")).scalar() == 0


def test_an_erasure_a_dead_prover_had_claimed_is_proven_by_the_next_pass(app: App) -> None:
    """A worker died in the middle of a shared pass: its claim's lease ends, and the next erasure to ask
    for its proof claims that one too; both are proven by one pass, each with its own result."""
    services, proofs = app.services, app.services.proofs
    a, b = (unique_member(services.system.engine, skip=i) for i in range(2))
    ids = {}
    for request_id, member in ((901, a), (902, b)):
        ids[request_id] = services.erasure.identifiers(kind="member", key=str(member["id"]))
        record_intent(services.db, request_id=request_id, kind="member", key=str(member["id"]), fingerprint="f",
                      planned={}, sealed=ids[request_id].seal(services.ring.sealer("erasure")), at=services.requests.clock())
        services.erasure.erase(kind="member", key=str(member["id"]))
    then = services.requests.clock() - dt.timedelta(minutes=5)
    with services.db.session() as s:
        s.execute(text("UPDATE erasure_ledger SET proof_wanted = :t, prover = 'dead-worker', proving_until = :t "
                       "WHERE request_id = 902"), {"t": then})
    assert proofs.prove(request_id=901, identifiers=ids[901], still_mine=lambda: None).hits == []
    assert proofs.passes == 1
    with services.db.session() as s:
        rows = s.execute(text("SELECT request_id, prover, proof FROM erasure_ledger ORDER BY request_id")).all()
    assert [r[1] == "dead-worker" for r in rows] == [False, False] and all(r[2] is not None for r in rows)


def test_each_ended_request_is_certified_once_and_a_thread_slack_refused_gets_it_on_a_later_pass(app_on: App) -> None:
    """On each engine: two rejected requests and one still open; the reconciler's pass signs the two (the open
    one waits), shows each in its thread once; the thread Slack refused is shown on the next pass, the
    other is not shown again; the certificate kept is the one signed first."""
    services, presenter = app_on.services, app_on.requests
    ids = []
    for skip in range(3):
        member = unique_member(services.system.engine, skip=skip)
        ids.append(services.subject_requests.open(actor=services.policy.actor(SUPPORT), kind="access",
                                                  identity=member["member_number"], subject_type="member",
                                                  club_code=None).request_id)
    for request_id in ids[:2]:
        services.subject_requests.reject(actor=app_on.dpo(), request_id=request_id, reason="asked twice by mistake")
    notes = presenter.request_note
    refused: list[int] = []

    def slack_refuses_the_first(req: m.SubjectRequest, text: str) -> None:
        if req.id == ids[0] and not refused:
            refused.append(req.id)
            raise ConnectionError("slack down")
        assert text.startswith(f":scroll: Certificate for R-{req.id} ")
        notes(req, text)
    presenter.request_note = slack_refuses_the_first  # type: ignore[method-assign]
    assert services.certificates.issue_due() == 1 and refused == [ids[0]]
    first = services.requests.get(ids[0]).certificate
    assert first is not None and services.requests.get(ids[2]).certificate is None
    assert services.certificates.issue_due() == 1  # the refused thread, now
    assert services.certificates.issue_due() == 0
    assert [what for what in presenter.shown if what[0] == "note"] == [("note", ids[1], m.REJECTED), ("note", ids[0], m.REJECTED)]
    assert services.certificates.issue(ids[0]) == first  # never signed again
    assert first["statement"]["outcome"] == {"rejected": True, "ground": "asked twice by mistake", "article": None}
    with pytest.raises(NotEnded):
        services.certificates.issue(ids[2])
