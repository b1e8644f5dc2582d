"""Every process stops on SIGTERM when started the way scripts and `nohup` start it - SIGINT ignored
(issue 23, defect 1): `serve --http`, `api`, `worker` and `scheduler` on PostgreSQL and Redis, each up,
then SIGTERM; each exits within its drain time, and the bot's port can be bound again at once."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from devslack.driver import wait_for
from tests.conftest import ROOT, credentials, free_port, ops_ports
from tests.integration.test_fresh_start import _healthy

DRAIN_S = 30  # the bot drains for 25 s at most; orchestrators wait 30 s before SIGKILL
IDLE_S = 3  # how long an idle process is watched for the CPU it uses
IDLE_CPU = 0.15  # the CPU share an idle process may use, of one core (its polls; a pass of the scheduler)
TICKS = os.sysconf("SC_CLK_TCK")


def _group_cpu(session: int) -> float:
    """CPU seconds (user + system) used so far by the processes of a session: a worker's children included."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # ended while being read
        if int(fields[3]) == session:  # fields after the name: state, ppid, pgrp, session, ..., utime, stime
            total += int(fields[11]) + int(fields[12])
    return total / TICKS


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # inherited across exec, as `cmd &` in a script leaves it


PROCESSES = {
    "serve": (["serve", "--http", "--port", "{port}"], "port"),
    "api": (["api", "--port", "{port}"], "port"),
    "worker": (["worker", "--processes", "1", "--threads", "1"], "Worker process is ready"),
    "scheduler": (["scheduler"], "retention policies"),
}


@pytest.mark.parametrize("name", list(PROCESSES))
def test_sigterm_stops_each_process_with_sigint_ignored(name: str, pg_url: str, redis_url: str, standin,
                                                        tmp_path: Path) -> None:
    args, ready = PROCESSES[name]
    port = free_port()
    env = {**os.environ, "DATABASE_URL": pg_url, "REDIS_URL": redis_url, **credentials(),
           "SLACK_API_URL": standin.api_url, "SMTP_URL": "smtp://127.0.0.1:9", "EXPORT_DIR": str(tmp_path / "exports"),
           **ops_ports(), "PYTHONUNBUFFERED": "1",
           "SCHEDULER_HEARTBEAT": str(tmp_path / "scheduler.alive"), "RECONCILE_INTERVAL_SECONDS": "2"}
    log = tmp_path / f"{name}.log"
    if name == "scheduler":  # no pass yet: unhealthy
        done = subprocess.run([sys.executable, "-m", "bootstrap.cli", "health", "scheduler"], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 1 and "no pass completed yet" in done.stdout, done.stdout + done.stderr
    proc = subprocess.Popen([sys.executable, "-m", "bootstrap.cli", *[a.format(port=port) for a in args]], cwd=ROOT,
                            env=env, stdout=open(log, "wb"), stderr=subprocess.STDOUT, preexec_fn=_ignore_sigint,  # noqa: SIM115 - the child writes to it until it ends
                            start_new_session=True)
    try:
        up = (lambda: _healthy(port)) if ready == "port" else (lambda: ready in log.read_text(errors="replace"))
        wait_for(lambda: up() or proc.poll() is not None, timeout=60, what=f"{name} to come up")
        assert proc.poll() is None, log.read_text()[-2000:]
        if name == "scheduler":  # its container health check: a completed pass, recently
            health = lambda: subprocess.run([sys.executable, "-m", "bootstrap.cli", "health", "scheduler"],  # noqa: E731
                                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
            wait_for(lambda: health().returncode == 0, timeout=30, what="the scheduler's heartbeat")
            assert "last pass" in health().stdout
        # idle, it waits: it does not spin (waitress read its 0.2 s loop timeout as 0, and the bot's Slack and
        # operations listeners and the API's operations listener spent a whole core polling their sockets)
        before, since = _group_cpu(proc.pid), time.monotonic()
        time.sleep(IDLE_S)
        share = (_group_cpu(proc.pid) - before) / (time.monotonic() - since)
        print(f"\n{name}: idle, {share:.0%} of a core")
        assert share < IDLE_CPU, f"{name} used {share:.0%} of a core while idle"
        proc.send_signal(signal.SIGTERM)
        started = time.monotonic()
        try:
            code = proc.wait(timeout=DRAIN_S)
        except subprocess.TimeoutExpired:
            pytest.fail(f"{name} still running {DRAIN_S} s after SIGTERM with SIGINT ignored:\n"
                        + log.read_text()[-2000:])
        print(f"\n{name}: exit {code} {time.monotonic() - started:.1f} s after SIGTERM")
        assert code == 0, log.read_text()[-2000:]  # a clean stop, its own `finally` run
        if ready == "port":
            with socket.socket() as again:  # the port is free for the next bot at once
                again.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                again.bind(("127.0.0.1", port))
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        else:  # a worker's children end with their supervisor; nothing of the group may linger
            try:
                os.killpg(proc.pid, 0)
                lingering = True
            except ProcessLookupError:
                lingering = False
            if lingering:
                os.killpg(proc.pid, signal.SIGKILL)
            assert not lingering, f"{name}: processes of its group still running after it exited"
