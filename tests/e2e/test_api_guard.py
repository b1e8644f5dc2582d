"""What the clubs' API does before it reads a byte of a body, and what it does with a download that does not
finish (issue 22, findings 4, 6, 9 and 12), over real HTTP (uvicorn) on both backends: a huge body is
answered 401 (no token) or 413 (a club's) at once, without the server waiting for it; junk from one address
is rate-limited before authentication and recorded apart from the audit chain; a database that is down is a
503 problem document; a dropped transfer leaves the single-use link live, a complete one spends it, and the
audit says which."""
from __future__ import annotations

import datetime as dt
import json
import socket
import time

from sqlalchemy import func, select

from bootstrap.runtime import api_app
from devslack.driver import wait_for
from gdpr.core import models as m
from gdpr.core.db import Database
from tests.e2e.test_club_api import CLUB, Api, _member, _token
from tests.helpers import DPO

HUGE = 150 * 1024 * 1024


def _raw(port: int, head: str, body: bytes = b"", *, wait: float = 10) -> tuple[int, bytes, float]:
    """Send the head (and whatever body is given, maybe far less than announced); the status and how long
    the answer took. The server answers without the rest of the body, or the read times out."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=wait) as sock:
        sock.sendall(head.encode() + body)
        got = b""
        while b"\r\n\r\n" not in got:
            chunk = sock.recv(65536)
            if not chunk:
                break
            got += chunk
    return int(got.split(b" ", 2)[1]), got, time.monotonic() - started


def _head(method: str, path: str, token: str | None = None, **headers: str) -> str:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", "Content-Type: application/json",
             *([f"Authorization: Bearer {token}"] if token else []), *(f"{k}: {v}" for k, v in headers.items())]
    return "\r\n".join(lines) + "\r\n\r\n"


def _count(system, model) -> int:
    with system.services.db.session() as s:
        return s.execute(select(func.count()).select_from(model)).scalar_one()


def test_a_body_is_never_read_before_the_token_nor_past_the_cap(system) -> None:
    server = Api(api_app(system.services, per_minute=1000))
    try:
        status, got, took = _raw(server.port, _head("POST", "/v1/requests", **{"Content-Length": str(HUGE)}))
        assert status == 401 and b"application/problem+json" in got and took < 5  # not one byte of 150 MB was awaited
        token = _token(system, CLUB)
        status, got, took = _raw(server.port, _head("POST", "/v1/requests", token, **{"Content-Length": str(20 * 2**20)}))
        assert status == 413 and b"application/problem+json" in got and took < 5
        cap = system.settings.api_max_body_bytes
        chunk = b'{"kind": "access", "member": "' + b"x" * 8000
        chunked = b"".join(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n" for _ in range(cap // len(chunk) + 2))
        status, got, _ = _raw(server.port, _head("POST", "/v1/requests", token, **{"Transfer-Encoding": "chunked"}),
                              chunked + b"0\r\n\r\n")
        assert status == 413 and b"application/problem+json" in got  # counted as it arrives, refused past the cap
        assert server.call("GET", "/v1/requests", token)[0] == 200  # the server is none the worse
    finally:
        server.stop()


def test_junk_from_one_address_is_limited_before_authentication_and_kept_off_the_chain(system) -> None:
    server = Api(api_app(system.services, per_minute=1000, per_address=20))
    try:
        token = _token(system, CLUB)
        chain, refused = _count(system, m.AuditEvent), _count(system, m.ApiRefusal)
        codes = [server.call("GET", "/v1/requests", "gdprc_" + "x" * 43)[0] for _ in range(19)]
        assert codes == [401] * 19
        status, problem, headers = server.call("GET", "/v1/requests", token)  # the 20th call: a good token
        assert status == 200
        status, problem, headers = server.call("GET", "/v1/requests", token)  # the 21st: limited before the token
        assert status == 429 and problem["status"] == 429 and int(headers["retry-after"]) >= 1
        assert _count(system, m.ApiRefusal) - refused == 20  # each call refused before a club was known, apart
        assert _count(system, m.AuditEvent) - chain == 1  # the club's one call; no junk on the chain
        with system.services.db.session() as s:
            rows = s.execute(select(m.ApiRefusal)).scalars().all()
        assert all("127.0.0.1" not in r.address_ref and len(r.address_ref) == 32 for r in rows)  # a keyed hash
        assert system.services.club_tokens.forget_refusals(before=dt.datetime.now(dt.UTC)
                                                           + dt.timedelta(seconds=1)) >= 20
        assert _count(system, m.ApiRefusal) == 0
    finally:
        server.stop()


def test_a_database_that_is_down_is_a_503_problem(system, monkeypatch) -> None:
    server = Api(api_app(system.services, per_minute=1000))
    try:
        token = _token(system, CLUB)
        dead = Database("postgresql+psycopg://nobody@127.0.0.1:1/none", immediate=False)
        monkeypatch.setattr(system.services.club_tokens, "db", dead)  # the state DB gone under a running API
        for call in (("GET", "/v1/requests", token), ("GET", "/v1/requests/1", "gdprc_" + "x" * 43)):
            status, problem, headers = server.call(*call)
            assert status == 503 and headers["content-type"] == "application/problem+json", (call, status)
            assert problem["status"] == 503 and int(headers["retry-after"]) > 0 and "Traceback" not in json.dumps(problem)
    finally:
        server.stop()


def _ready_download(system, gym, server: Api, token: str) -> tuple[int, str]:
    member = _member(gym, CLUB)
    body = server.call("POST", "/v1/requests", token, {"kind": "access", "member": member["member_number"]})[1]
    card = system.card(request_id=body["id"])
    system.slack.click(DPO, "request.approve", str(body["id"]), card["channel"], card["ts"])
    assert system.wait_status(body["id"]).status == m.DONE
    url = server.call("GET", f"/v1/requests/{body['id']}", token)[1]["download_url"]
    return body["id"], "/v1/downloads/" + url.rsplit("/", 1)[1]


def _actions(system, request_id: int) -> list[str]:
    with system.services.db.session() as s:
        return [e.action for e in s.execute(select(m.AuditEvent).where(m.AuditEvent.request_id == request_id)
                                            .order_by(m.AuditEvent.seq)).scalars() if e.action.startswith("download.")]


def test_a_dropped_download_leaves_the_link_live_and_a_complete_one_spends_it(system, gym) -> None:
    server = Api(api_app(system.services, per_minute=1000))
    try:
        token = _token(system, CLUB)
        request_id, path = _ready_download(system, gym, server, token)
        archive = system.services.exports.fetch(system.services.requests.get(request_id).export_name)
        original = archive.read_bytes()
        archive.write_bytes(original + b"\0" * (32 * 2**20))  # large enough that a transfer takes a while
        size = archive.stat().st_size

        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # a slow reader: the server cannot run ahead
        sock.connect(("127.0.0.1", server.port))
        sock.sendall(_head("GET", path, token).encode())
        assert b"200 OK" in sock.recv(4096)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\1\0\0\0\0\0\0\0")  # reset, as a dropped line does
        sock.close()
        wait_for(lambda: "download.dropped" in _actions(system, request_id), timeout=30, what="the drop to be audited")
        assert system.services.requests.get(request_id).export_deleted_at is None  # nothing spent, nothing deleted

        status, got, headers = server.call("GET", path, token)  # the club tries again: the link still works
        assert status == 200 and len(got) == size  # type: ignore[arg-type]
        wait_for(lambda: "download.used" in _actions(system, request_id), timeout=30, what="the spend to be audited")
        assert _actions(system, request_id) == ["download.created", "download.started", "download.dropped",
                                                "download.started", "download.used"]
        status, gone, _ = server.call("GET", path, token)
        assert status == 410 and "used" in gone["detail"]  # spent by the transfer that ended
    finally:
        server.stop()
