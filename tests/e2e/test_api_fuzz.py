"""The clubs' API under a fuzzer (issue 22, findings 9 and 10): schemathesis, every check, a fixed seed,
against the running API (uvicorn) with a real club token, on both backends, finds nothing: no 500, no
undocumented status or content type, no schema-valid request refused, no invalid one accepted. And the
junk the review sent by hand: every answer is problem+json, never a 500, and each call is recorded."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from openapi_spec_validator import validate
from sqlalchemy import func, select

from bootstrap.runtime import api_app
from gdpr.core import models as m
from tests.e2e.test_club_api import CLUB, Api, _token

SEED = 22


def test_schemathesis_with_every_check_finds_nothing(system, tmp_path: Path) -> None:
    app = api_app(system.services, per_minute=100_000, per_address=100_000)
    spec = app.openapi()
    validate(spec)
    assert spec["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    assert all(op.get("security") for ops in spec["paths"].values() for op in ops.values())
    assert all({"401", "422", "429", "500", "503"} <= set(op["responses"]) for ops in spec["paths"].values()
               for op in ops.values())
    document = tmp_path / "openapi.json"
    document.write_text(json.dumps(spec))
    server = Api(app)
    try:
        token = _token(system, CLUB)
        done = subprocess.run([str(Path(sys.executable).parent / "schemathesis"), "run", str(document),
                               "--url", f"http://127.0.0.1:{server.port}", "-H", f"Authorization: Bearer {token}",
                               "--checks", "all", "--seed", str(SEED), "--max-examples", "25",
                               "--no-color"],
                              capture_output=True, text=True, timeout=900, cwd=tmp_path)
    finally:
        server.stop()
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
    assert "No issues found" in done.stdout or " passed" in done.stdout, done.stdout[-3000:]


JUNK = [("GET", "/v1/requests/abc"), ("GET", f"/v1/requests/{2**31}"), ("GET", f"/v1/requests/{2**63}"),
        ("GET", "/v1/requests/someone@example.com"), ("GET", f"/v1/requests?offset={2**64}"),
        ("GET", "/v1/requests?limit=-1"), ("GET", "/v1/downloads/..%2F..%2Fetc%2Fpasswd"), ("DELETE", "/v1/requests"),
        ("POST", "/v1/requests")]


@pytest.mark.parametrize("with_token", [True, False], ids=["token", "no-token"])
def test_junk_is_answered_with_problem_json_and_recorded(system, with_token: bool) -> None:
    server = Api(api_app(system.services, per_minute=10_000, per_address=10_000))
    try:
        token = _token(system, CLUB) if with_token else None
        before = _recorded(system)
        for method, path in JUNK:
            status, body, headers = server.call(method, path, token, body={"kind": 1} if method == "POST" else None)
            assert 400 <= status < 500, (method, path, status)
            assert headers["content-type"] == "application/problem+json" and body["status"] == status, (method, path)
            assert "Traceback" not in json.dumps(body)
        assert _recorded(system) - before == len(JUNK)  # every call recorded, refused ones apart from the chain
    finally:
        server.stop()


def _recorded(system) -> int:
    with system.services.db.session() as s:
        return (s.execute(select(func.count()).select_from(m.AuditEvent).where(m.AuditEvent.action == "api.call"))
                .scalar_one() + s.execute(select(func.count()).select_from(m.ApiRefusal)).scalar_one())
