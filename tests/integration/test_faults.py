"""The faults a deployment meets, on PostgreSQL + Redis with real worker and scheduler processes and the
Slack stand-in answering 429 (with Retry-After), 503 or slowly per method. Each test asserts exactly one
file, one passphrase DM, one erasure, exact counts, and a final Slack state that matches the database;
recovery times are measured against the one-minute bound of the default settings."""
from __future__ import annotations

import json
import os
import signal
import threading
import time
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy import text

from devslack.driver import SlackDriver, command_body, sign, wait_for
from gdpr.core import models as m
from tests.conftest import ROOT, SIGNING_SECRET, credentials, make_system
from tests.e2e.test_log_safety import _serve as serve_http
from tests.helpers import SUPPORT, block_texts, file_and_approve, unique_member

PASSPHRASE = "Passphrase for"


def _passphrase_dms(standin, request_id: int) -> list:
    return [c for c in standin.calls_to("chat.postMessage")
            if c.args.get("channel") == f"D{SUPPORT}" and f"access request R-{request_id})" in (c.args.get("text") or "")]


def _files_in_thread(bot, request_id: int) -> list[dict]:
    return [f for msg in bot.standin.thread(*bot.where(f"R-{request_id}", "request")) for f in msg.get("files", [])]


def _archives(tmp_path: Path, request_id: int) -> list[Path]:
    return sorted((tmp_path / "exports").glob(f"export-R{request_id}-*.zip"))


def _card_text(bot, request_id: int) -> str:
    channel, ts = bot.where(f"R-{request_id}", "approval")
    return block_texts(next(msg for msg in bot.standin.channel(channel) if msg["ts"] == ts))


def _ledger_confirmed(bot, request_id: int) -> bool:
    with bot.services.db.session() as s:
        return bool(s.execute(text("SELECT confirmed FROM erasure_ledger WHERE request_id = :r"),
                              {"r": request_id}).scalar())


def _scheduler(bot, **env: str):
    return bot.spawn("-m", "bootstrap.cli", "scheduler", log_name="scheduler", **env)


def test_429_and_503_on_every_call_of_an_export_give_one_dm_one_file_and_a_card_that_tells_the_truth(
        pg_url, redis_url, standin, tmp_path: Path) -> None:
    bot = make_system("postgres+redis", pg_url, standin, tmp_path, redis_url, lease_seconds=3)
    try:
        member = unique_member(bot.services.system.engine)
        bot.start_worker()
        standin.fail("chat.postMessage", 503, times=2)  # the cards themselves go out through a 503
        request_id = file_and_approve(bot, "access", member["member_number"])
        standin.fail("conversations.open", 503, times=1)
        standin.fail("files.getUploadURLExternal", 429, times=2, retry_after=1)
        standin.fail("files.getUploadURLExternal", 0, times=1)  # then the connection drops once
        standin.fail("files.completeUploadExternal", 429, times=7, retry_after=1)  # beyond the retries: the job's
        wait_for(lambda: standin.attempts("files.completeUploadExternal"), timeout=60,  # attempt fails, the next
                 what="the first upload attempt")                                   # reuses the archive
        standin.fail("chat.update", 429, times=24, retry_after=0)  # every card update of the second attempt
        done = bot.wait_status(request_id, timeout=120)
        assert done.status == m.DONE and done.attempts == 2
        assert len(_passphrase_dms(standin, request_id)) == 1  # one passphrase, ever
        assert len(_files_in_thread(bot, request_id)) == 1 and len(_archives(tmp_path, request_id)) == 1
        tries = [c.at for c in standin.attempts("files.completeUploadExternal")]
        assert len(tries) == 8 and min(b - a for a, b in zip(tries, tries[1:5], strict=False)) >= 1.0  # Retry-After honoured
        assert "done" not in _card_text(bot, request_id).lower()  # the card lags: Slack refused its updates
        assert {role for _, role in bot.services.shown.owed()} == {"request", "approval"}
        owed_at = time.monotonic()
        _scheduler(bot)  # on the shipped tick (15 s), it delivers the card updates Slack did not take
        final = wait_for(lambda: "done" in (t := _card_text(bot, request_id)).lower() and t, timeout=60,
                         what="the approval card to show the request done")
        print(f"\nowed card updates delivered {time.monotonic() - owed_at:.1f} s after the scheduler started")
        assert "request.approve" not in json.dumps(standin.channel(bot.where(f"R-{request_id}", "approval")[0]))
        assert "awaiting" not in final.lower()
        assert wait_for(lambda: not bot.services.shown.owed() or None, timeout=30, what="nothing owed to Slack")
    finally:
        bot.stop()


def test_a_worker_killed_after_the_passphrase_dm_leaves_one_archive_one_passphrase_one_dm(
        pg_url, redis_url, standin, tmp_path: Path) -> None:
    bot = make_system("postgres+redis", pg_url, standin, tmp_path, redis_url, lease_seconds=3)
    try:
        member = unique_member(bot.services.system.engine)
        first = bot.start_worker()
        standin.slow("files.getUploadURLExternal", 60)  # the worker will be inside the upload when it dies
        request_id = file_and_approve(bot, "access", member["member_number"])
        wait_for(lambda: _passphrase_dms(standin, request_id), timeout=60, what="the passphrase DM")
        wait_for(lambda: bot.services.requests.get(request_id).passphrase_sent_at, timeout=10, what="the DM recorded")
        os.killpg(first.pid, signal.SIGKILL)
        first.wait()
        killed = time.monotonic()
        bot.start_worker()
        _scheduler(bot)  # the default settings: lease, tick and re-enqueue as shipped (lease 3 s here)
        done = bot.wait_status(request_id, timeout=90)
        print(f"\nrecovery after kill -9 between DM and upload: {time.monotonic() - killed:.1f} s")
        assert done.status == m.DONE and time.monotonic() - killed < 60
        assert len(_passphrase_dms(standin, request_id)) == 1
        assert len(_archives(tmp_path, request_id)) == 1 and len(_files_in_thread(bot, request_id)) == 1
        assert _files_in_thread(bot, request_id)[0]["name"] == done.export_name == _archives(tmp_path, request_id)[0].name
    finally:
        bot.stop()


def test_a_worker_killed_between_the_erasures_commit_and_its_end_reports_and_proves_what_was_done(
        pg_url, redis_url, standin, tmp_path: Path) -> None:
    bot = make_system("postgres+redis", pg_url, standin, tmp_path, redis_url, lease_seconds=3)
    try:
        gym = bot.services.system.engine
        member = unique_member(gym)
        first = bot.start_worker()
        access = file_and_approve(bot, "access", member["member_number"])
        assert bot.wait_status(access).status == m.DONE
        work = tmp_path / "exports" / f".work-{access}-dead"  # what a crashed export of this subject left
        work.mkdir(mode=0o700)
        (work / "data.json").write_text(json.dumps({"email": member["email"]}))
        standin.slow("files.delete", 60)  # erasure withdraws the subject's export: the worker dies in there
        erase = file_and_approve(bot, "erase", member["member_number"])
        wait_for(lambda: _ledger_confirmed(bot, erase), timeout=60, what="the erasure to commit")
        assert bot.services.requests.get(erase).status == m.RUNNING
        os.killpg(first.pid, signal.SIGKILL)
        first.wait()
        bot.start_worker()
        _scheduler(bot, RECONCILE_INTERVAL_SECONDS="1")
        done = bot.wait_status(erase, timeout=90)
        assert done.status in (m.DONE, m.NOTIFYING) and done.attempts == 2
        planned = sum(t["rows"] for t in done.preview["tables"].values())
        assert done.result["recovered"] and not done.result["already_erased"] and done.result["rows"] == planned > 0
        with bot.services.db.session() as s:
            tables = [json.loads(d)["table"] for d in s.execute(text(
                "SELECT details FROM audit_events WHERE request_id = :r AND action = 'erasure.table'"), {"r": erase}).scalars()]
            proofs = s.execute(text("SELECT details FROM audit_events WHERE request_id = :r AND action = "
                                    "'erasure.residue'"), {"r": erase}).scalars().all()
            sealed = s.execute(text("SELECT sealed FROM erasure_ledger WHERE request_id = :r"), {"r": erase}).scalar()
        assert len(tables) == len(set(tables)) and set(done.preview["tables"]) <= set(tables)  # each table once
        assert len(proofs) == 1 and json.loads(proofs[0])["ok"] is True
        assert sealed is None  # the identifiers are gone with the job
        # the thread is told after the status commits (Slack follows the state database): awaited, not raced
        thread = wait_for(lambda: f"{planned} rows erased" in (t := " ".join(
            msg.get("text") or "" for msg in standin.thread(*bot.where(f"R-{erase}", "request")))) and t,
            timeout=60, what="the erasure's outcome in its thread")
        assert "nothing left to erase" not in thread
        with gym.connect() as conn:
            assert conn.execute(text("SELECT email FROM members WHERE id = :i"), {"i": member["id"]}).scalar() is None
        assert [p.name for p in (tmp_path / "exports").iterdir()] == [".gdpr-bot-deployment"]  # only the folder's mark:
        # the subject's archive and the dead work folder are gone
    finally:
        bot.stop()


@pytest.mark.slow
def test_a_prefetched_job_of_a_killed_worker_and_jobs_of_a_flushed_redis_run_within_a_minute(
        pg_url, redis_url, standin, tmp_path: Path) -> None:
    import redis as redis_lib
    bot = make_system("postgres+redis", pg_url, standin, tmp_path, redis_url)  # the shipped lease and intervals
    try:
        engine = bot.services.system.engine
        with engine.connect() as conn:
            numbers = conn.execute(text("SELECT member_number FROM members WHERE email IS NOT NULL ORDER BY id "
                                        "LIMIT 4")).scalars().all()
        one = bot.spawn("-m", "dramatiq", "workers.main", "--processes", "1", "--threads", "1", log_name="worker")
        standin.slow("files.getUploadURLExternal", 120)  # the worker's only thread is busy with the first job
        busy = file_and_approve(bot, "access", numbers[0])
        waiting = file_and_approve(bot, "access", numbers[1])  # its message sits with the busy worker
        wait_for(lambda: _passphrase_dms(standin, busy), timeout=60, what="the first job inside its upload")
        os.killpg(one.pid, signal.SIGKILL)
        one.wait()
        killed = time.monotonic()
        bot.start_worker()
        _scheduler(bot)
        for request_id in (busy, waiting):
            assert bot.wait_status(request_id, timeout=90).status == m.DONE
        prefetch_s = time.monotonic() - killed
        for proc in bot.workers:  # no worker: two approved jobs wait in Redis, then Redis loses them
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        bot.workers.clear()
        lost = [file_and_approve(bot, "access", n) for n in numbers[2:]]
        wait_for(lambda: all(bot.services.requests.get(i).status == m.QUEUED for i in lost), timeout=20,
                 what="the jobs queued")
        redis_lib.Redis.from_url(redis_url).flushdb()
        flushed = time.monotonic()
        bot.start_worker()
        _scheduler(bot)
        for request_id in lost:
            assert bot.wait_status(request_id, timeout=90).status == m.DONE
        flush_s = time.monotonic() - flushed
        print(f"\nrecovery: prefetched job of a killed worker {prefetch_s:.1f} s, Redis flushed {flush_s:.1f} s")
        assert prefetch_s < 60 and flush_s < 60
        assert all(len(_passphrase_dms(standin, i)) == 1 for i in (busy, waiting, *lost))
    finally:
        bot.stop()


def test_sigterm_during_a_burst_answers_every_acknowledged_command_then_exits(sqlite_url, standin,
                                                                              tmp_path: Path) -> None:
    env = {**os.environ, "DATABASE_URL": sqlite_url, **credentials(), "SLACK_API_URL": standin.api_url,
           "CONFIG_DIR": str(ROOT / "config"), "EXPORT_DIR": str(tmp_path / "exports")}
    env.pop("REDIS_URL", None)
    proc, url = serve_http(tmp_path, env, tmp_path / "bot.log")
    port = int(url.split(":")[2].split("/")[0])
    slack = SlackDriver(SIGNING_SECRET, url=url)
    standin.slow("chat.postEphemeral", 0.3, times=25)  # the answers take a while: most are still due at SIGTERM
    statuses: list[int] = []

    def command(i: int) -> None:
        body = command_body(SUPPORT, f"find M{i:07d}")
        statuses.append(slack.send(body, sign(SIGNING_SECRET, body)).status)
    senders = [threading.Thread(target=command, args=(i,)) for i in range(25)]
    for t in senders:
        t.start()
    for t in senders:
        t.join()
    assert statuses == [200] * 25  # all 25 acknowledged
    proc.send_signal(signal.SIGTERM)
    started = time.monotonic()

    def refused() -> bool:  # a new request gets no answer once it is stopping (health checks fail)
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=0.5)
            return False
        except OSError:
            return True
    wait_for(refused, timeout=5, what="new connections refused once stopping")
    code = proc.wait(timeout=40)
    stopped_in = time.monotonic() - started
    answers = [c for c in standin.calls_to("chat.postEphemeral") if c.args.get("user") == SUPPORT
               and "Working on" not in (c.args.get("text") or "")]
    print(f"\nSIGTERM: {len(answers)} of 25 answered, stopped in {stopped_in:.1f} s")
    assert code == 0
    assert len(answers) == 25 and stopped_in < 30
