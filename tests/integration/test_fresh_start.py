"""A fresh PostgreSQL and Redis with bot, worker and scheduler started at the same moment (as honcho or
compose start them): every try, all three come up; the migration runs once, under an advisory lock."""
from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from gdpr.core.db import make_engine
from tests.conftest import ROOT, SECRET, _pg_admin, _pg_url, credentials, drop_later, free_port, ops_ports

TRIES = 10



def _healthy(port: int) -> bool:
    import urllib.request
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as resp:
            return resp.status == 200
    except OSError:
        return False


def _one_try(system_url: str, redis_url: str, slack_url: str, tmp: Path) -> dict[str, str]:
    """Start the three at once on an empty state database; returns what went wrong per process (empty: all up)."""
    name = f"gdpr_fresh_{secrets.token_hex(4)}"
    _pg_admin(f"CREATE DATABASE {name}")
    port = free_port()
    env = {**os.environ, "DATABASE_URL": _pg_url(name), "SYSTEM_DATABASE_URL": system_url, "REDIS_URL": redis_url,
           **credentials(), "SMTP_URL": "smtp://127.0.0.1:9",  # (a worker needs one; none is sent here)
           "SLACK_API_URL": slack_url, "EXPORT_DIR": str(tmp / name / "exports"), "PYTHONUNBUFFERED": "1",
           "RECONCILE_INTERVAL_SECONDS": "1", **ops_ports()}
    commands = {"bot": ["serve", "--http", "--port", str(port)], "worker": ["worker", "--processes", "1", "--threads", "1"],
                "scheduler": ["scheduler"]}
    logs = {k: tmp / f"{name}-{k}.log" for k in commands}
    procs = {k: subprocess.Popen([sys.executable, "-m", "bootstrap.cli", *args], cwd=ROOT, env=env,
                                 stdout=open(logs[k], "wb"), stderr=subprocess.STDOUT, start_new_session=True)  # noqa: SIM115 - the child writes to it until it ends
             for k, args in commands.items()}
    try:
        deadline = time.monotonic() + 60
        up: set[str] = set()
        while time.monotonic() < deadline and len(up) < 3 and all(p.poll() is None for p in procs.values()):
            if _healthy(port):
                up.add("bot")
            if "Worker process is ready" in logs["worker"].read_text(errors="replace"):
                up.add("worker")
            if "retention policies" in logs["scheduler"].read_text(errors="replace"):
                up.add("scheduler")
            time.sleep(0.2)
        return {k: logs[k].read_text(errors="replace")[-1500:] for k in commands if k not in up}
    finally:  # they came up (or not): what a clean stop does is tested elsewhere
        for p in procs.values():
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
            p.wait(timeout=30)
        drop_later(name)


@pytest.mark.slow
def test_bot_worker_and_scheduler_started_at_once_on_a_fresh_database_come_up_every_time(
        pg_url: str, redis_url: str, standin, tmp_path: Path) -> None:
    failures = [(i, broken) for i in range(TRIES) if (broken := _one_try(pg_url, redis_url, standin.api_url, tmp_path))]
    assert failures == [], failures[:1]


def test_the_state_database_is_at_head_after_a_concurrent_start(pg_empty_url: str) -> None:
    """Three upgrades at once under the lock: one migrates, the others find it done (no error, one head)."""
    env = {**os.environ, "DATABASE_URL": pg_empty_url, "SECRET_KEY": SECRET}
    procs = [subprocess.Popen([sys.executable, "-m", "bootstrap.cli", "db", "upgrade"], cwd=ROOT, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT) for _ in range(3)]
    outputs = [p.communicate(timeout=120)[0].decode() for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], outputs
    engine = make_engine(pg_empty_url, immediate=False)
    with engine.connect() as conn:
        heads = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    engine.dispose()
    assert len(heads) == 1 and heads[0] == sorted(p.name[:4] for p in (ROOT / "gdpr/migrations/versions").glob("0*.py"))[-1]
