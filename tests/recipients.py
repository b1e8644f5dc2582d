"""Small local HTTP servers standing in for the integrations' erasure endpoints (recipients under Art. 19)."""
from __future__ import annotations

import json
import shutil
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


class RecipientServer:
    """Records every POST; answers `fail_first` requests with `fail_status`, then 200."""

    def __init__(self, fail_first: int = 0, fail_status: int = 503) -> None:
        self.received: list[dict] = []
        self.fail_first, self.fail_status = fail_first, fail_status
        self._lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
                with outer._lock:
                    outer.received.append({"body": body, "key": self.headers.get("Idempotency-Key"),
                                           "auth": self.headers.get("Authorization") or self.headers.get("X-Api-Key")})
                    status = outer.fail_status if len(outer.received) <= outer.fail_first else 200
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/erasure"

    def successes(self) -> list[dict]:
        with self._lock:
            return self.received[self.fail_first:]

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def config_with_recipients(src: Path, dest: Path, servers: dict[str, RecipientServer]) -> Path:
    """A copy of config/ whose integrations point at the given local servers."""
    shutil.copytree(src, dest)
    lines = []
    for provider in ("virtuagym", "milon", "clubplanner", "technogym"):
        server = servers.get(provider)
        url = server.url if server else "http://127.0.0.1:9/unreachable"
        lines.append(f"  {provider}:\n    name: {provider}\n    endpoint: {url}\n"
                     f"    auth: {{header: Authorization, scheme: Bearer, token_env: {provider.upper()}_TOKEN}}\n")
    (dest / "integrations.yaml").write_text("recipients:\n" + "".join(lines))
    return dest


def serve(servers: dict[str, RecipientServer]):
    """`yield from serve({...})` in a fixture: the servers for the test, stopped after it."""
    try:
        yield servers
    finally:
        for server in servers.values():
            server.stop()
