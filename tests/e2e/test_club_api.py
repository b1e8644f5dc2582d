"""The clubs' API over real HTTP (uvicorn), on both backends: a club's token sees only its own members and
requests (another club's are 404, never 403); a request it opens waits for the DPO's approval in Slack,
whose card says it came from the API; the export is fetched once through an expiring link, its
passphrase mailed to the club's GDPR contact; the IP allow-list, plain HTTP behind a proxy, unknown and
revoked tokens, the rate limit; every call audited; the OpenAPI document validates."""
from __future__ import annotations

import datetime as dt
import email
import json
import threading
import urllib.error
import urllib.request
from pathlib import Path

import jsonschema
import pytest
import uvicorn
from openapi_spec_validator import validate
from sqlalchemy import select, text

from bootstrap.runtime import api_app
from devslack.driver import wait_for
from gdpr.core import models as m
from gdpr.core.crypto import read_aes_zip
from tests.helpers import DPO, ephemerals, wait_ephemeral

CLUB, OTHER = "ghent-centre", "antwerp-north"


class Api:
    def __init__(self, app) -> None:
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning",
                                                    proxy_headers=True, forwarded_allow_ips="127.0.0.1"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        wait_for(lambda: self.server.started, timeout=20, what="uvicorn")
        self.port = self.server.servers[0].sockets[0].getsockname()[1]

    def call(self, method: str, path: str, token: str | None = None, body: dict | None = None,
             headers: dict | None = None) -> tuple[int, dict | bytes, dict]:
        req = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", method=method,
                                     data=json.dumps(body).encode() if body is not None else None,
                                     headers={"Content-Type": "application/json", **(headers or {}),
                                              **({"Authorization": f"Bearer {token}"} if token else {})})
        try:
            with urllib.request.urlopen(req, timeout=20) as resp:
                raw, status, got = resp.read(), resp.status, dict(resp.headers)
        except urllib.error.HTTPError as exc:
            raw, status, got = exc.read(), exc.code, dict(exc.headers)
        kind = got.get("content-type", "")
        return status, (json.loads(raw) if "json" in kind else raw), got

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture
def api(system):
    server = Api(api_app(system.services, per_minute=1000))
    yield server
    server.stop()


def _token(system, club: str, ips: str = "") -> str:
    before = len(ephemerals(system.standin, DPO))
    dms = len(system.standin.channel(f"D{DPO}"))
    system.slack.command(DPO, f"club token create {club}" + (f" --ip {ips}" if ips else ""))
    shown = wait_ephemeral(system.standin, DPO, before + 1)
    assert len(system.standin.channel(f"D{DPO}")) == dms  # shown once, ephemerally: no DM keeps it
    return shown["text"].split("`")[3]


def _member(gym, club: str) -> dict:
    with gym.connect() as conn:
        return dict(conn.execute(text(
            "SELECT m.id, m.member_number, m.email FROM members m JOIN clubs c ON c.id = m.club_id WHERE c.code = :c "
            "AND m.email IS NOT NULL AND (SELECT COUNT(*) FROM members o WHERE o.email = m.email) = 1 "
            "ORDER BY m.id LIMIT 1"), {"c": club}).mappings().one())


def test_a_club_opens_an_access_request_the_dpo_approves_and_it_fetches_the_export_once(system, gym, api) -> None:
    token = _token(system, CLUB)
    member = _member(gym, CLUB)
    status, body, headers = api.call("POST", "/v1/requests", token, {"kind": "access", "member": member["member_number"],
                                                                     "received_on": str(dt.date.today())})
    assert status == 201 and body["status"] == m.AWAITING_APPROVAL and body["opened_through_api"] is True
    assert headers["location"].endswith(f"/v1/requests/{body['id']}") and body["download_url"] is None
    card = system.card(request_id=body["id"])
    assert "through the clubs' API" in json.dumps(card) and member["email"] not in json.dumps(card)

    system.slack.click(DPO, "request.approve", str(body["id"]), card["channel"], card["ts"])
    done = system.wait_status(body["id"])
    assert done.status == m.DONE, done.error
    status, ready, _ = api.call("GET", f"/v1/requests/{body['id']}", token)
    assert status == 200 and ready["status"] == m.DONE and ready["download_url"]
    outbox = list(Path(system.settings.outbox_dir).glob("*.eml"))
    assert outbox and all(p.stat().st_mode & 0o077 == 0 for p in outbox)  # the demo's mail files: owner only
    mails = [email.message_from_bytes(p.read_bytes()) for p in outbox]
    passmail = [mail for mail in mails if mail["Subject"] == f"Passphrase for R-{body['id']}"]
    assert len(passmail) == 1 and passmail[0]["To"] == "dpo@ghent-centre.example"
    passphrase = passmail[0].get_payload(decode=True).decode().split("passphrase is:")[1].split()[0]
    assert ready["download_url"] not in passmail[0].get_payload(decode=True).decode()  # never in the same channel

    path = "/v1/downloads/" + ready["download_url"].rsplit("/", 1)[1]
    status, archive, headers = api.call("GET", path, token)
    assert status == 200 and headers["content-type"] == "application/zip"
    zipped = system.tmp / "fetched.zip"
    zipped.write_bytes(archive)  # type: ignore[arg-type]
    data = json.loads(read_aes_zip(zipped, passphrase)["data.json"])
    assert [r["email"] for r in data["tables"]["members"]] == [member["email"]]
    schema = api.call("GET", "/v1/portability-schema", token)[1]
    jsonschema.validate(data, schema)  # Art. 20: the data as the schema the club can read says
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**data, "tables": {"members": [{"not_a_column": 1}]}}, schema)
    answered = wait_for(lambda: (r := system.services.requests.get(body["id"])).export_deleted_at and r, timeout=20,
                        what="the downloaded archive to be deleted")
    assert "downloaded" in answered.export_delete_reason and not (system.settings.export_dir / answered.export_name).exists()
    status, gone, _ = api.call("GET", path, token)
    assert status == 410 and gone["status"] == 410 and "used" in gone["detail"]  # single-use
    assert api.call("GET", f"/v1/requests/{body['id']}", token)[1]["download_url"] is None
    with system.services.db.session() as s:
        actions = [e.action for e in s.execute(select(m.AuditEvent).where(m.AuditEvent.request_id == body["id"])).scalars()]
        calls = s.execute(select(m.AuditEvent).where(m.AuditEvent.action == "api.call")).scalars().all()
    assert {"download.used", "download.refused"} <= set(actions)
    assert len(calls) >= 5 and member["email"] not in json.dumps([c.details for c in calls])


def test_a_club_sees_only_its_own_and_an_erasure_waits_for_the_dpo(system, gym, api) -> None:
    token, theirs = _token(system, CLUB), _member(gym, OTHER)
    status, problem, headers = api.call("POST", "/v1/requests", token, {"kind": "access", "member": theirs["member_number"]})
    assert status == 404 and headers["content-type"] == "application/problem+json" and problem["status"] == 404
    other_token = _token(system, OTHER)
    _, opened, _ = api.call("POST", "/v1/requests", other_token, {"kind": "erasure", "member": theirs["member_number"]})
    assert opened["status"] == m.AWAITING_APPROVAL  # waits for the DPO: nothing is erased yet
    with gym.connect() as conn:
        assert conn.execute(text("SELECT email FROM members WHERE id = :i"), {"i": theirs["id"]}).scalar() == theirs["email"]
    assert api.call("GET", f"/v1/requests/{opened['id']}", token)[0] == 404  # another club's request: no such thing
    assert api.call("GET", f"/v1/requests/{opened['id']}", other_token)[0] == 200
    assert [r["id"] for r in api.call("GET", "/v1/requests", other_token)[1]["items"]] == [opened["id"]]
    assert api.call("GET", "/v1/requests", token)[1]["total"] == 0


def test_refusals_are_problem_details(system, gym, api) -> None:
    status, problem, headers = api.call("GET", "/v1/requests")
    assert status == 401 and headers["www-authenticate"] == "Bearer" and problem["type"].endswith("/unauthenticated")
    token = _token(system, CLUB)
    assert api.call("POST", "/v1/requests", token, {"kind": "delete-everything", "member": "M0000001"})[0] == 422
    assert api.call("POST", "/v1/requests", token, {"member": "M0000001"})[0] == 422
    proxied = {"X-Forwarded-For": "198.51.100.9", "X-Forwarded-Proto": "http"}
    status, problem, _ = api.call("GET", "/v1/requests", token, headers=proxied)
    assert status == 403 and problem["type"].endswith("/https-required")
    assert api.call("GET", "/v1/requests", token, headers={**proxied, "X-Forwarded-Proto": "https"})[0] == 200

    fenced = _token(system, CLUB, "203.0.113.0/24")  # rotation: the first token stops working
    assert api.call("GET", "/v1/requests", token)[0] == 401
    status, problem, _ = api.call("GET", "/v1/requests", fenced)
    bogus = api.call("GET", "/v1/requests", "gdprc_" + "x" * 43)[1]
    assert status == 401 and problem == bogus  # answered as a bad token is: the caller learns nothing
    assert api.call("GET", "/v1/requests", fenced, headers={"X-Forwarded-For": "203.0.113.7",
                                                            "X-Forwarded-Proto": "https"})[0] == 200
    system.slack.command(DPO, f"club token revoke {CLUB}")
    wait_for(lambda: any("revoked" in e["text"] for e in ephemerals(system.standin, DPO)), timeout=20, what="revoked")
    assert api.call("GET", "/v1/requests", fenced, headers={"X-Forwarded-For": "203.0.113.7",
                                                            "X-Forwarded-Proto": "https"})[0] == 401


def test_the_rate_limit_and_the_openapi_document(system) -> None:
    server = Api(api_app(system.services, per_minute=3, docs=True))
    try:
        token = _token(system, CLUB)
        codes = [server.call("GET", "/v1/requests", token)[0] for _ in range(4)]
        status, problem, headers = server.call("GET", "/v1/requests", token)
        assert codes == [200, 200, 200, 429] and status == 429 and int(headers["retry-after"]) >= 1
        spec = server.call("GET", "/openapi.json")[1]
        validate(spec)  # raises when the document is not valid OpenAPI
        assert {"/v1/requests", "/v1/requests/{request_id}", "/v1/downloads/{token}"} <= set(spec["paths"])
    finally:
        server.stop()
