"""HTTP mode: Bolt's WSGI adapter under waitress (a production WSGI server), with an IP allow-list."""
from __future__ import annotations

import contextlib
import ipaddress
import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler

from bot.followups import Followups

if TYPE_CHECKING:  # waitress ships no type information: its server class, named for the reader
    from waitress.server import BaseWSGIServer

log = logging.getLogger(__name__)


def parse_networks(spec: str | None) -> list[ipaddress._BaseNetwork]:
    return [ipaddress.ip_network(part.strip(), strict=False) for part in (spec or "").split(",") if part.strip()]


Route = Callable[[], tuple[int, str, bytes]]  # () -> (status, content type, body)
STATUS = {200: "200 OK", 503: "503 Service Unavailable"}


def _verifiable(environ: dict) -> bool:
    """Slack's signature headers in the only form Bolt can check: a timestamp of digits (seconds since 1970,
    at most 11 of them) and a `v0=` signature. Anything else is refused before Bolt sees the request."""
    timestamp = environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP") or ""
    signature = environ.get("HTTP_X_SLACK_SIGNATURE") or ""
    return timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 11 and signature.startswith("v0=")


def wsgi_app(app: App | None, allowed_ips: str | None = None, *, routes: dict[str, Route] | None = None,
             observe_ack: Callable[[float], None] | None = None) -> Callable:
    """Slack's events at /slack/events (None: only the operator's routes, for Socket Mode), /healthz, and
    `routes` (/readyz, /metrics): those answer whatever ALLOWED_IPS says (it is for Slack's requests)."""
    handler = SlackRequestHandler(app, path="/slack/events") if app is not None else None
    networks = parse_networks(allowed_ips)
    followups = getattr(app, "followups", None)  # gdpr-bot's app: acks take priority over follow-ups
    extra = routes or {}

    def application(environ: dict, start_response: Callable) -> Iterable[bytes]:
        path = environ.get("PATH_INFO")
        if path == "/healthz":
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [b"ok"]
        if path in extra:
            status, kind, body = extra[path]()
            start_response(STATUS.get(status, f"{status} Unknown"), [("Content-Type", kind)])
            return [body]
        if handler is None or path != "/slack/events":  # nothing else is served here (no /metrics, no /readyz)
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"not found"]
        if networks and not _allowed(environ.get("REMOTE_ADDR", ""), networks):
            start_response("403 Forbidden", [("Content-Type", "text/plain")])
            return [b"forbidden"]
        if not _verifiable(environ):  # Bolt would raise on it, and its error path would act on what it names
            start_response("401 Unauthorized", [("Content-Type", "text/plain")])
            return [b"invalid request"]
        started = time.monotonic()
        try:
            if followups is None:
                return handler(environ, start_response)
            with followups.answering():
                return handler(environ, start_response)
        except Exception as exc:  # a signed payload Bolt cannot parse: a clear 400, never a traceback with it
            log.warning("unparseable request refused: %s", type(exc).__name__)
            start_response("400 Bad Request", [("Content-Type", "text/plain")])
            return [b"bad request"]
        finally:
            if observe_ack is not None:
                observe_ack(time.monotonic() - started)

    return application


def _allowed(addr: str, networks: list) -> bool:
    try:
        ip = ipaddress.ip_address(addr)
    except ValueError:
        return False
    return any(ip in net for net in networks)


def make_server(application: Callable, host: str, port: int, threads: int = 16) -> BaseWSGIServer:
    """A waitress server (call .run(); .close() to stop); port 0 picks a free one."""
    from waitress.server import create_server
    return create_server(application, host=host, port=port, threads=threads, channel_timeout=30,
                         connection_limit=500, clear_untrusted_proxy_headers=True)


def stop_gracefully(server: BaseWSGIServer, followups: Followups, *, grace_s: float, stopped: threading.Event) -> None:
    """SIGTERM: accept no new connection from now on (health checks fail, a load balancer sends traffic
    elsewhere), answer every command already acknowledged - acks still being written, follow-ups still
    queued - for at most `grace_s`, then set `stopped`, which ends `run_until` (the caller's `finally`
    stops the rest). Nothing here depends on SIGINT, which scripts and nohup start processes ignoring."""
    server.accepting = False  # the loop keeps serving the connections it has; it accepts no other

    def drain() -> None:
        if not followups.drain(timeout=grace_s):
            log.warning("shutdown: follow-ups still running after %ss; stopping anyway", grace_s)
        stopped.set()
    threading.Thread(target=drain, daemon=True, name="shutdown").start()


def run_until(server: BaseWSGIServer, stopped: threading.Event, *, tick_s: float = 0.2) -> None:
    """Waitress's loop, one poll at a time, each waiting up to `tick_s` for a socket, until `stopped` is set
    (seen within `tick_s`); then its task threads end. The wait is ours, not waitress's
    `asyncore_loop_timeout`: waitress reads that setting as a whole number of seconds, and 0.2 became 0, a
    poll that never waited: an idle server spun a whole core (measured: 1.0 s of CPU a second)."""
    try:
        while server._map and not stopped.is_set():
            server.asyncore.loop(timeout=tick_s, map=server._map, use_poll=server.adj.asyncore_use_poll, count=1)
    finally:
        server.task_dispatcher.shutdown()
        server.close()


def serve_in_thread(server: BaseWSGIServer) -> Callable[[], None]:
    """Run a waitress server on a daemon thread; returns a function that stops it (within a tick)."""
    stopped = threading.Event()

    def run() -> None:
        with contextlib.suppress(OSError):  # a socket closed under the loop while it stops
            run_until(server, stopped)

    thread = threading.Thread(target=run, daemon=True, name="waitress")
    thread.start()

    def stop() -> None:
        stopped.set()
        thread.join(timeout=5)
    return stop
