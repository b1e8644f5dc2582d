"""No member identifier reaches a process log, whatever the request and whatever a library logs.

A real `gdpr-bot serve --http` process at DEBUG receives stale, forged, replayed, unauthorised,
malformed and failing requests that carry a real member's email, phone and name; on the embedded
default its workers run in the same process, on PostgreSQL + Redis a `dramatiq workers.main`
process runs the export. Then every process's whole log is read, URL-decoded, and searched.
"""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

import pytest

from devslack.driver import SlackDriver, command_body, sign, wait_for
from gdpr.core.db import make_engine
from gdpr.core.logsafe import scrub
from tests.conftest import ROOT, SIGNING_SECRET, credentials, free_port, ops_ports
from tests.helpers import DPO, STRANGER, SUPPORT, unique_member


def _env(tmp_path: Path, standin, db_url: str, redis_url: str | None) -> dict[str, str]:
    env = {**os.environ, "DATABASE_URL": db_url, **credentials(), "SLACK_API_URL": standin.api_url,
           "CONFIG_DIR": str(ROOT / "config"), "EXPORT_DIR": str(tmp_path / "exports"), "LOG_LEVEL": "DEBUG",
           **ops_ports()}
    env.pop("REDIS_URL", None)
    if redis_url:
        env["REDIS_URL"] = redis_url
    return env


def _serve(tmp_path: Path, env: dict[str, str], log: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "bootstrap.cli", "serve", "--http", "--port", str(port), "--host",
                             "127.0.0.1"], env=env, cwd=tmp_path, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"

    def healthy() -> bool:
        try:
            return SlackDriver("x", url=base + "/healthz").send("").status in (200, 405)
        except OSError:
            return False
    wait_for(healthy, timeout=30, what="gdpr-bot serve --http")
    return proc, base + "/slack/events"


@pytest.mark.parametrize("backend", ["embedded", "postgres+redis"])
def test_no_member_identifier_in_the_log_after_bad_and_failing_requests(backend: str, request: pytest.FixtureRequest,
                                                                        tmp_path: Path, standin) -> None:
    db_url = request.getfixturevalue("sqlite_url" if backend == "embedded" else "pg_url")
    redis_url = request.getfixturevalue("redis_url") if backend != "embedded" else None
    engine = make_engine(db_url, immediate=False)
    member = unique_member(engine)
    engine.dispose()
    env = _env(tmp_path, standin, db_url, redis_url)
    log, worker_log = tmp_path / "bot.log", tmp_path / "worker.log"
    proc, url = _serve(tmp_path, env, log)
    worker = None
    if redis_url:  # the export runs in a real worker process, whose log is searched too
        worker = subprocess.Popen([sys.executable, "-m", "dramatiq", "workers.main", "--processes", "1", "--threads",
                                   "2"], env=env, cwd=tmp_path, stdout=worker_log.open("wb"), stderr=subprocess.STDOUT,
                                  start_new_session=True)
    slack = SlackDriver(SIGNING_SECRET, url=url)
    name = f"{member['first_name']} {member['last_name']}"
    try:
        body = command_body(SUPPORT, f"find {member['email']}")
        stale = sign(SIGNING_SECRET, body, timestamp=str(int(time.time()) - 600))
        assert slack.send(body, stale).status == 401
        forged = sign("not-the-secret", command_body(SUPPORT, f"access {member['phone']}"))
        assert slack.send(command_body(SUPPORT, f"access {member['phone']}"), forged).status == 401
        fresh = sign(SIGNING_SECRET, body)
        assert slack.send(body, fresh).status == 200 and slack.send(body, fresh).status == 200  # a replay
        assert slack.command(STRANGER, f"erase {member['email']}").status == 200  # unauthorised
        assert slack.command(SUPPORT, f"find {member['phone']} {name} <!channel>").status == 200  # malformed
        assert slack.command(SUPPORT, f"access {name}").status == 200  # not an identity
        view = {"type": "view_submission", "user": {"id": SUPPORT}, "view": {"type": "modal", "callback_id": "nope",
                "state": {"values": {"b": {"a": {"value": f"{name} {member['email']}"}}}}}}  # no such listener
        assert slack.send(urllib.parse.urlencode({"payload": json.dumps(view)})).status == 404
        del view["view"]["type"]  # malformed: Bolt's own middleware cannot parse it
        assert slack.send(urllib.parse.urlencode({"payload": json.dumps(view)})).status == 400
        assert slack.command(SUPPORT, f"access {member['email']}").status == 200  # a real one, through the job
        card = wait_for(lambda: [m for m in standin.channel("C0DPOAPPROV") if m.get("blocks")], timeout=30, what="card")[-1]
        request_id = card["blocks"][-1]["elements"][0]["value"]
        slack.click(DPO, "request.approve", request_id, card["channel"], card["ts"])
        wait_for(lambda: any(f.get("name", "").startswith(f"export-R{request_id}-") for f in standin.uploaded_files()),
                 timeout=60, what="the export upload")
    finally:
        proc.terminate()
        proc.wait(timeout=15)
        if worker is not None:
            os.killpg(worker.pid, signal.SIGTERM)
            worker.wait(timeout=30)
    written = log.read_text(errors="replace")
    if worker is not None:
        assert "Worker process is ready" in worker_log.read_text(errors="replace")
        written += worker_log.read_text(errors="replace")
    assert "Invalid request signature" in written  # Bolt did log its refusals: what it said is what we search
    decoded = urllib.parse.unquote_plus(urllib.parse.unquote(written)).lower()
    digits = re.sub(r"\D", "", member["phone"])
    for identifier in (member["email"], member["phone"], name, member["first_name"] + "+" + member["last_name"]):
        assert identifier.lower() not in decoded, identifier
    assert digits not in re.sub(r"[ \-/().+]", "", decoded)


def test_scrub_withholds_bodies_fields_and_identifiers() -> None:
    raw = ("{'text': 'Jan Peeters'} call +32 499 12 34 56 or BE68 5390 0754 7034, ts 1700000000.123456; Invalid "
           "request signature detected (signature: v0=ab, timestamp: 1, body: token=x&text=find+jan%40ex.be) at 2026-11-27")
    out = scrub(raw)
    for leaked in ("jan@ex.be", "Jan Peeters", "499 12 34 56", "BE68", "find"):
        assert leaked not in out, leaked
    assert "1700000000.123456" in out and "2026-11-27" not in out  # the body after 'body:' goes whole
    assert scrub("R-12 approved by U0DPO1 at 2026-11-27, 3 rows") == "R-12 approved by U0DPO1 at 2026-11-27, 3 rows"
