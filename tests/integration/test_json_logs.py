"""With LOG_FORMAT=json every line every process writes is one JSON event (issue 23, defect 4): `serve`,
`api`, `worker` and `scheduler` on PostgreSQL and Redis, driven (a command, a forged request, API calls
good and bad, a job, scheduler ticks) and stopped; uvicorn, waitress, Dramatiq and APScheduler included,
a traceback inside its event, timestamps in messages left whole."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

from devslack.driver import SlackDriver, wait_for
from tests.conftest import ROOT, SIGNING_SECRET, credentials, free_port, ops_ports
from tests.integration.test_fresh_start import _healthy


def _events(path: Path) -> list[dict]:
    lines = [line for line in path.read_text(errors="replace").splitlines() if line.strip()]
    bad = [line for line in lines if not _is_event(line)]
    assert not bad, f"{path.name}: {len(bad)} of {len(lines)} lines are not JSON events, e.g. {bad[:3]}"
    return [json.loads(line) for line in lines]


def _is_event(line: str) -> bool:
    try:
        event = json.loads(line)
    except ValueError:
        return False
    return isinstance(event, dict) and {"ts", "level", "logger", "message"} <= set(event)


def _get(url: str, token: str | None = None) -> int:
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_every_line_of_every_process_is_a_json_event(pg_url: str, redis_url: str, standin, tmp_path: Path) -> None:
    bot, api = free_port(), free_port()
    env = {**os.environ, "DATABASE_URL": pg_url, "REDIS_URL": redis_url, **credentials(), "LOG_FORMAT": "json",
           "SLACK_API_URL": standin.api_url, "SMTP_URL": "smtp://127.0.0.1:9", "EXPORT_DIR": str(tmp_path / "exports"),
           **ops_ports(), "PYTHONUNBUFFERED": "1",
           "RECONCILE_INTERVAL_SECONDS": "1", "LOG_LEVEL": "DEBUG"}
    commands = {"serve": ["serve", "--http", "--port", str(bot)], "api": ["api", "--port", str(api)],
                "worker": ["worker", "--processes", "1", "--threads", "1"], "scheduler": ["scheduler"]}
    logs = {name: tmp_path / f"{name}.log" for name in commands}
    procs = {name: subprocess.Popen([sys.executable, "-m", "bootstrap.cli", *args], cwd=ROOT, env=env,
                                    stdout=open(logs[name], "wb"), stderr=subprocess.STDOUT, start_new_session=True)  # noqa: SIM115 - the child writes to it until it ends
             for name, args in commands.items()}
    try:
        wait_for(lambda: _healthy(bot) and _healthy(api) and "ready" in logs["worker"].read_text(errors="replace"),
                 timeout=90, what="the four processes")
        slack = SlackDriver(SIGNING_SECRET, url=f"http://127.0.0.1:{bot}/slack/events")
        assert slack.command("U0SUPPORT1", "help").status == 200
        assert SlackDriver("forged", url=f"http://127.0.0.1:{bot}/slack/events").command("U0SUPPORT1", "help").status == 401
        assert slack.command("U0SUPPORT1", "access M0000001").status == 200  # a job for the worker
        assert _get(f"http://127.0.0.1:{api}/v1/requests") == 401
        assert _get(f"http://127.0.0.1:{api}/v1/requests/abc", "gdprc_" + "x" * 43) == 401
        assert _get(f"http://127.0.0.1:{api}/nowhere") == 404
        for port in (bot, api):  # junk that is not HTTP: the servers' own warnings
            with socket.create_connection(("127.0.0.1", port), timeout=5) as junk:
                junk.sendall(b"\x16\x03\x01 not http at all\r\n\r\n")
                junk.recv(1024)
        wait_for(lambda: logs["scheduler"].read_text(errors="replace").count("\n") >= 3, timeout=30,
                 what="the scheduler's ticks")
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs.values():
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
    events = {name: _events(path) for name, path in logs.items()}
    loggers = {e["logger"].split(".")[0] for evs in events.values() for e in evs}
    assert {"uvicorn", "dramatiq", "apscheduler", "slack_bolt"} <= loggers, loggers  # the libraries' own lines too
    assert all(e["ts"].endswith("Z") for evs in events.values() for e in evs)


def test_an_uncaught_crash_is_one_event_with_its_traceback_inside(tmp_path: Path) -> None:
    code = ("from gdpr.core import logsafe; logsafe.configure(); import threading; "
            "t = threading.Thread(target=lambda: 1 / 0, name='doomed'); t.start(); t.join(); "
            "raise RuntimeError('at 2026-12-06 17:05:00.123456+00:00')")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env={**os.environ, "LOG_FORMAT": "json"},
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    lines = [line for line in (done.stdout + done.stderr).splitlines() if line.strip()]
    assert lines and all(_is_event(line) for line in lines), lines
    events = [json.loads(line) for line in lines]
    assert [e["level"] for e in events] == ["CRITICAL", "CRITICAL"]
    assert "ZeroDivisionError" in events[0]["exc"] and "doomed" in events[0]["message"]
    assert "2026-12-06 17:05:00.123456+00:00" in events[1]["exc"]  # the timestamp left whole by the scrubber
