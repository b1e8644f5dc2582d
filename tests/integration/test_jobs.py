"""Jobs: leases, idempotency, the reconciler, and a worker killed with kill -9 on Redis."""
from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import signal
import time
from pathlib import Path

import redis as redis_lib
from sqlalchemy import text

from devslack.driver import wait_for
from gdpr.core import models as m
from tests.conftest import make_system
from tests.helpers import DPO, SUPPORT, add_visits, file_and_approve, unique_member, wait_ephemeral


def _approve(system, gym) -> tuple[int, dict]:
    member = unique_member(gym)
    system.slack.command(SUPPORT, f"access {member['member_number']}")
    card = system.card()
    request_id = int(card["blocks"][-1]["elements"][0]["value"])
    system.slack.click(DPO, "request.approve", str(request_id), card["channel"], card["ts"])
    return request_id, member


def test_leases_let_one_worker_run_and_a_dead_ones_request_be_taken_over(system, gym) -> None:
    member = unique_member(gym)
    services = system.services
    subject = services.directory.load("member", str(member["id"]))
    req = services.requests.open_request(kind="access", subject=subject, requester_id=SUPPORT)
    services.requests.approve(request_id=req.id, actor=services.policy.actor(DPO, frozenset({"S0DPOTEAM"})))
    leases = services.leases
    assert leases.claim(request_id=req.id, owner="w1") is not None
    assert leases.claim(request_id=req.id, owner="w2") is None  # live lease: hands off
    with services.db.engine.begin() as conn:  # w1 stops renewing (it died)
        conn.execute(text("UPDATE subject_requests SET lease_expires_at = :t WHERE id = :i"),
                     {"t": dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1), "i": req.id})
    assert req.id in services.requests.needing_enqueue(requeue_after=dt.timedelta(minutes=5))
    taken = leases.claim(request_id=req.id, owner="w2")
    assert taken is not None and taken.attempts == 2
    assert leases.renew(request_id=req.id, owner="w1") is False  # the old owner cannot come back
    assert leases.finish(request_id=req.id, owner="w1") is False
    assert leases.finish(request_id=req.id, owner="w2") is True
    assert services.requests.get(req.id).status == m.DONE


def test_running_a_finished_job_again_does_nothing(system, gym) -> None:
    request_id, _ = _approve(system, gym)
    assert system.wait_status(request_id).status == m.DONE
    assert system.services.export_job().run(request_id=request_id, owner="redelivered") == "skipped"
    assert len(system.standin.calls_to("files.completeUploadExternal")) == 1


def test_broker_down_at_enqueue_loses_nothing(pg_url, redis_url, standin, tmp_path: Path) -> None:
    """Redis unreachable when the DPO approves: the request stays approved in the state DB, and the
    scheduler process re-enqueues it once Redis is reachable; the worker then finishes it once."""
    bot = make_system("postgres+redis", pg_url, standin, tmp_path, "redis://127.0.0.1:1/0")  # nothing listens
    try:
        member = unique_member(bot_engine := bot.services.system.engine)
        bot.slack.command(SUPPORT, f"access {member['email']}")
        card = bot.card()
        request_id = int(card["blocks"][-1]["elements"][0]["value"])
        bot.slack.click(DPO, "request.approve", str(request_id), card["channel"], card["ts"])
        assert "queue is unreachable" in wait_ephemeral(standin, DPO)["text"]
        assert bot.services.requests.get(request_id).status == m.APPROVED
        bot.start_worker(REDIS_URL=redis_url)
        bot.spawn("-m", "bootstrap.cli", "scheduler", log_name="scheduler", REDIS_URL=redis_url,
                  RECONCILE_INTERVAL_SECONDS="1")
        done = bot.wait_status(request_id, timeout=60)
        assert done.status == m.DONE and done.attempts == 1
        assert len(standin.calls_to("files.completeUploadExternal")) == 1
        assert bot_engine is not None
    finally:
        bot.stop()


def test_queue_messages_carry_the_request_id_only(pg_url, redis_url, standin, tmp_path: Path) -> None:
    bot = make_system("postgres+redis", pg_url, standin, tmp_path, redis_url)  # no worker: messages stay
    try:
        request_id, member = _approve(bot, bot.services.system.engine)
        bot.wait_status(request_id, (m.QUEUED,), timeout=20)
        raw = redis_lib.Redis.from_url(redis_url).hgetall("dramatiq:exports.msgs")
        assert len(raw) == 1
        message = json.loads(next(iter(raw.values())))
        assert message["args"] == [request_id] and message["kwargs"] == {}
        blob = json.dumps(message)
        for pii in (member["email"], member["last_name"], member["member_number"], member["phone"]):
            assert pii not in blob
    finally:
        bot.stop()


def test_worker_killed_mid_export_on_redis_gives_exactly_one_file(pg_url, redis_url, standin, tmp_path: Path) -> None:
    """kill -9 of the worker in the middle of an export: the lease expires, the scheduler's reconciler
    re-enqueues, a new worker finishes, exactly one file lands in the thread, within 2 minutes, and the
    killed attempt's plaintext work folder does not outlive it."""
    bot = make_system("postgres+redis", pg_url, standin, tmp_path, redis_url, lease_seconds=3)
    try:
        engine = bot.services.system.engine
        member = unique_member(engine)
        add_visits(engine, member["id"], 300_000, first_id=10_000_000)
        first = bot.start_worker()
        request_id = file_and_approve(bot, "access", member["member_number"])
        bot.wait_status(request_id, (m.RUNNING,), timeout=60)
        exports = tmp_path / "exports"
        wait_for(lambda: list(exports.glob(f".work-{request_id}-*")), timeout=30, what="the export's work folder")
        assert standin.calls_to("files.completeUploadExternal") == []  # still exporting
        os.killpg(first.pid, signal.SIGKILL)
        killed_at = time.monotonic()
        first.wait()
        assert bot.services.requests.get(request_id).status == m.RUNNING  # the dead worker's lease remains
        bot.start_worker()
        bot.spawn("-m", "bootstrap.cli", "scheduler", log_name="scheduler", RECONCILE_INTERVAL_SECONDS="2")
        done = bot.wait_status(request_id, timeout=120)
        elapsed = time.monotonic() - killed_at
        assert done.status == m.DONE and done.attempts == 2 and elapsed < 120
        thread = standin.thread(*bot.where(f"R-{done.id}", "request"))
        assert len([f for msg in thread for f in msg.get("files", [])]) == 1
        # the dead attempt's plaintext work folder is gone; one archive, the one in the thread
        assert list(exports.glob(".work-*")) == [] and [p.name for p in exports.glob("export-*")] == [done.export_name]
        # a late redelivery of the killed worker's message must not produce a second file
        assert bot.services.export_job().run(request_id=request_id, owner="late") == "skipped"
        assert len(standin.calls_to("files.completeUploadExternal")) == 1
    finally:
        bot.stop()


def test_an_export_that_keeps_failing_is_marked_failed_and_said_in_the_thread(sqlite_url, standin,
                                                                                tmp_path: Path) -> None:
    blocked = tmp_path / "not-a-directory"
    bot = make_system("embedded", sqlite_url, standin, tmp_path, None, http=False, export_dir=blocked,
                      job_max_attempts=1)
    shutil.rmtree(blocked)  # (a file where EXPORT_DIR was is refused at start; here it goes after it)
    blocked.write_text("EXPORT_DIR points at a file: every export attempt fails")
    try:
        request_id, member = _approve(bot, bot.services.system.engine)
        failed = bot.wait_status(request_id, (m.FAILED, m.DONE), timeout=30)
        assert failed.status == m.FAILED and failed.error.startswith(("FileExistsError", "NotADirectoryError"))
        assert member["email"] not in failed.error
        thread = wait_for(lambda: standin.thread(*bot.where(f"R-{failed.id}", "request")), timeout=10)
        assert "failed after 1 attempts" in thread[-1]["text"]
        assert standin.calls_to("files.completeUploadExternal") == []
        assert [c for c in standin.calls_to("chat.postMessage") if c.args["channel"] == f"D{SUPPORT}"] == []
    finally:
        bot.stop()


def test_a_retry_after_the_upload_landed_does_not_upload_again(system, gym) -> None:
    """The worker died after Slack stored the file but before the DB recorded it: the retry finds
    its own archive in the thread and finishes with it - no second file, no second passphrase."""
    request_id, _ = _approve(system, gym)
    done = system.wait_status(request_id)
    assert done.status == m.DONE
    with system.services.db.engine.begin() as conn:  # the state as the crash left it
        conn.execute(text("UPDATE subject_requests SET status = 'running', file_id = NULL, open_key = 'x', "
                          "lease_owner = 'dead', lease_expires_at = :t WHERE id = :i"),
                     {"t": dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1), "i": request_id})
    assert system.services.export_job().run(request_id=request_id, owner="retry") == "done"
    again = system.services.requests.get(request_id)
    assert again.status == m.DONE and again.file_id == done.file_id and again.attempts == 2
    assert len(system.standin.calls_to("files.completeUploadExternal")) == 1
    dms = [c for c in system.standin.calls_to("chat.postMessage") if c.args["channel"] == f"D{SUPPORT}"]
    assert len(dms) == 1
