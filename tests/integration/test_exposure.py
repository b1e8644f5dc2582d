"""Which port shows what (issue 22, finding 5), on the processes an operator starts: `gdpr-bot serve
--http` and `gdpr-bot api` answer Slack and the clubs on their public ports and nothing else there -
/metrics, /readyz, /openapi.json, /docs and /redoc are 404 - while /readyz and /metrics are served on an
operations port bound to loopback (OPS_PORT, API_OPS_PORT)."""
from __future__ import annotations

import os
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

from devslack.driver import wait_for
from tests.conftest import ROOT, credentials, free_port

HIDDEN = ["/metrics", "/readyz", "/openapi.json", "/docs", "/redoc"]


def _get(url: str) -> tuple[int, str, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return resp.status, resp.headers.get("content-type", ""), resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers.get("content-type", ""), exc.read().decode()


def _up(url: str) -> bool:
    try:
        return _get(url)[0] == 200
    except OSError:
        return False


def _listening(port: int) -> list[str]:
    """The local addresses a TCP socket listens on at this port, as /proc/net/tcp{,6} says (hex, as there)."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hexport = local.split(":")
            if state == "0A" and int(hexport, 16) == port:  # 0A: LISTEN
                found.append(address)
    return found


def test_public_ports_hide_operations_which_listen_on_loopback_only(tmp_path: Path, standin, sqlite_url: str) -> None:
    bot, bot_ops, api, api_ops = free_port(), free_port(), free_port(), free_port()
    env = {**os.environ, "DATABASE_URL": sqlite_url, **credentials(), "SLACK_API_URL": standin.api_url,
           "CONFIG_DIR": str(ROOT / "config"), "EXPORT_DIR": str(tmp_path / "exports"), "OPS_PORT": str(bot_ops),
           "API_OPS_PORT": str(api_ops), "OUTBOX_DIR": str(tmp_path / "outbox")}
    for name in ("REDIS_URL", "OPS_HOST", "API_DOCS"):
        env.pop(name, None)
    procs = [subprocess.Popen([sys.executable, "-m", "bootstrap.cli", *args], env=env, cwd=tmp_path,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
             for args in (["serve", "--http", "--port", str(bot), "--host", "127.0.0.1"],
                          ["api", "--port", str(api), "--host", "127.0.0.1"])]
    try:
        for port in (bot, api, bot_ops, api_ops):
            wait_for(lambda port=port: _up(f"http://127.0.0.1:{port}/healthz"), timeout=60, what=f"port {port}")
        for port in (bot, api):
            for path in HIDDEN:
                assert _get(f"http://127.0.0.1:{port}{path}")[0] == 404, (port, path)
        assert _get(f"http://127.0.0.1:{api}/docs")[1] == "application/problem+json"
        for port, series in ((bot_ops, "gdpr_breaches_clock"), (api_ops, "gdpr_api_calls")):
            status, kind, body = _get(f"http://127.0.0.1:{port}/metrics")
            assert status == 200 and series in body  # (the state DB's gauges from the bot alone)
            assert _get(f"http://127.0.0.1:{port}/readyz")[0] in (200, 503)  # it answers; what it says is tested apart
            assert _listening(port) and set(_listening(port)) <= {"0100007F", "00000000000000000000000001000000"}
        assert set(_listening(bot)) == {"0100007F"}  # (as asked: --host 127.0.0.1)
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=15)
