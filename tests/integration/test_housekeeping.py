"""Operator-facing behaviour: export purge, HTTP mode with the IP allow-list."""
from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from devslack.driver import SlackDriver, wait_for
from gdpr.requests.jobs import purge_exports
from tests.conftest import ROOT, SIGNING_SECRET, credentials, free_port, ops_ports


def test_exports_older_than_the_ttl_are_purged(tmp_path: Path) -> None:
    old, fresh, other = tmp_path / "export-R1-aa.zip", tmp_path / "export-R2-bb.zip", tmp_path / "keep.txt"
    work = tmp_path / ".work-3-cc"
    for f in (old, fresh, other):
        f.write_bytes(b"x")
    work.mkdir()
    ten_days_ago = time.time() - 10 * 86400
    for path in (old, other, work):
        os.utime(path, (ten_days_ago, ten_days_ago))
    assert purge_exports(tmp_path, ttl=dt.timedelta(days=7)) == 2
    assert not old.exists() and not work.exists() and fresh.exists() and other.exists()



def _serve(tmp_path: Path, standin, sqlite_url: str, allowed: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "DATABASE_URL": sqlite_url, **credentials(), "SLACK_API_URL": standin.api_url,
           "CONFIG_DIR": str(ROOT / "config"), "ALLOWED_IPS": allowed, "EXPORT_DIR": str(tmp_path / "exports"),
           **ops_ports()}
    env.pop("REDIS_URL", None)
    proc = subprocess.Popen([sys.executable, "-m", "bootstrap.cli", "serve", "--http", "--port", str(port), "--host",
                             "127.0.0.1"], env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"

    def healthy() -> bool:
        try:
            return urllib.request.urlopen(base + "/healthz", timeout=1).status == 200
        except (urllib.error.URLError, ConnectionError):
            return False
    wait_for(healthy, timeout=30, what="gdpr-bot serve --http")
    return proc, base


def test_http_mode_serves_slack_and_enforces_the_allow_list(tmp_path: Path, standin, sqlite_url: str) -> None:
    proc, base = _serve(tmp_path, standin, sqlite_url, "10.0.0.0/8")
    try:
        refused = SlackDriver(SIGNING_SECRET, url=base + "/slack/events").command("U0SUPPORT1", "help")
        assert refused.status == 403
    finally:
        proc.terminate()
        proc.wait(timeout=15)
    proc, base = _serve(tmp_path, standin, sqlite_url, "127.0.0.1,::1")
    try:
        answer = SlackDriver(SIGNING_SECRET, url=base + "/slack/events").command("U0SUPPORT1", "help")
        assert answer.status == 200 and "/gdpr find" in answer.json["text"]
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def test_sent_mail_in_the_outbox_is_deleted_after_its_retention(tmp_path: Path, standin, sqlite_url: str) -> None:
    import yaml

    from bootstrap.runtime import housekeeping_pass
    from gdpr.core import models as m
    from tests.conftest import make_system
    from tests.helpers import config_copy
    shipped = yaml.safe_load((ROOT / "config" / "retention.yaml").read_text())["policies"]
    config = config_copy(ROOT / "config", tmp_path / "config", retention={"policies": {"sent-mail": shipped["sent-mail"]}})
    system = make_system("embedded", sqlite_url, standin, tmp_path, None, config_dir=config)
    try:
        outbox = system.settings.outbox_dir
        outbox.mkdir(parents=True, exist_ok=True)
        now = dt.datetime.now(dt.UTC)
        old, recent, other = outbox / "a.eml", outbox / "b.eml", outbox / "notes.txt"
        for path, age in ((old, 120), (recent, 10), (other, 120)):
            path.write_text("To: someone@example.com\n\nbody")
            when = (now - dt.timedelta(days=age)).timestamp()
            os.utime(path, (when, when))
        housekeeping_pass(system.services, owner="clock", now=now)  # first sight of the policy
        housekeeping_pass(system.services, owner="clock", now=now + dt.timedelta(days=1, hours=1))
        with system.services.db.session() as s:
            run_id = s.query(m.BulkRun).filter(m.BulkRun.policy == "sent-mail").one().id
        run = wait_for(lambda: (r := system.services.runs.get(run_id)).status == m.DONE and r, timeout=30,
                       what="the sent-mail run")
        assert run.done == run.total == 1 and run.residue == 0
        assert not old.exists() and recent.exists() and other.exists()
    finally:
        system.stop()


def test_a_stopped_bot_leaves_no_thread_behind(sqlite_url: str, standin, tmp_path: Path) -> None:
    """Its HTTP servers' task threads, Bolt's listener pool, the follow-ups and the embedded workers all end
    with it (an API or test process that starts bots repeatedly must not gather threads). Dramatiq's
    time-limit watcher is the one exception: it has no stop, and sleeps a second at a time."""
    import threading

    from tests.conftest import make_system
    from tests.helpers import SUPPORT, wait_ephemeral

    def ours() -> set[threading.Thread]:
        return {t for t in threading.enumerate() if type(t).__name__ != "_CtypesTimeoutManager"}

    before = ours()
    bot = make_system("embedded", sqlite_url, standin, tmp_path, None)
    bot.slack.command(SUPPORT, "find M0000001")  # every pool has run something
    wait_ephemeral(standin, SUPPORT, 1)
    assert len(ours() - before) >= 10
    bot.stop()
    wait_for(lambda: not (ours() - before), timeout=10, what="the bot's threads to end")
