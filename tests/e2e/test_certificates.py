"""Certificates (issue 26): a request that ends gets one signed certificate, on both backends - in its
thread (the reconciler's pass) and through the clubs' API, the same bytes each time; `gdpr-bot verify`
accepts it against the published key and refuses it after any byte of it changes, or against another key;
it names the subject by pseudonym only; an open request has none (409), another club's is not there (404);
a refusal's certificate carries its ground."""
from __future__ import annotations

import json
import random
import subprocess
import sys

from gdpr.core import models as m
from gdpr.core.crypto import public_key_b64, signing_key
from gdpr.requests.certificates import PURPOSE, verify
from tests.conftest import ROOT
from tests.e2e.test_club_api import CLUB, OTHER, Api, _member, _token
from tests.e2e.test_erasure import recipients, system_config  # noqa: F401 - the recipients told answer (Art. 19)
from tests.e2e.test_forgotten_everywhere import found_in
from tests.helpers import DPO, SUPPORT


def _verify_cli(path, *keys: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bootstrap.cli", "verify", str(path), *[a for k in keys for a in ("--key", k)]],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)


def _thread_certificates(system, request_id: int) -> list[str]:
    channel, ts = system.where(f"R-{request_id}", "approval")
    return [msg["text"] for msg in system.standin.thread(channel, ts) if msg["text"].startswith(":scroll: Certificate")]


def test_an_erasure_ends_with_a_certificate_the_club_verifies_and_a_changed_byte_breaks(system, gym, tmp_path) -> None:
    from bootstrap.runtime import api_app
    api = Api(api_app(system.services, per_minute=1000))
    try:
        token, member = _token(system, CLUB), _member(gym, CLUB)
        status, opened, _ = api.call("POST", "/v1/requests", token, {"kind": "erasure", "member": member["member_number"]})
        assert status == 201
        status, early, headers = api.call("GET", f"/v1/requests/{opened['id']}/certificate", token)
        assert status == 409 and headers["content-type"] == "application/problem+json" and "not ended" in early["detail"]

        card = system.card(request_id=opened["id"])
        system.slack.click(DPO, "request.approve", str(opened["id"]), card["channel"], card["ts"])
        done = system.wait_status(opened["id"], (m.DONE, m.FAILED), timeout=120)
        assert done.status == m.DONE, (done.error, done.result)
        assert _thread_certificates(system, done.id) == []  # not before the reconciler's pass
        assert system.services.certificates.issue_due() >= 1
        assert system.services.certificates.issue_due() == 0  # shown once
        [posted] = _thread_certificates(system, done.id)

        status, fetched, headers = api.call("GET", f"/v1/requests/{done.id}/certificate", token)
        assert status == 200 and headers["content-type"] == "application/json"
        raw = json.dumps(fetched, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
        assert raw.decode() in posted  # the thread shows the same bytes the API gives
        assert api.call("GET", f"/v1/requests/{done.id}/certificate", _token(system, OTHER))[0] == 404
        keys = api.call("GET", "/v1/keys", token)[1]["by_purpose"][PURPOSE]
        assert keys == system.services.certificates.public_keys()
        ropa = api.call("GET", "/v1/ropa", token)[1]["record"]
        assert ropa["signing_keys"][PURPOSE] == keys  # listed in the record of processing
    finally:
        api.stop()

    statement = fetched["statement"]
    assert statement["request"] == f"R-{done.id}" and statement["kind"] == "erase" and statement["status"] == m.DONE
    assert statement["subject"]["pseudonym"] == done.subject_ref
    assert statement["outcome"]["tables"]["members"]["erased"] == 1  # rows per table, as audited
    assert {p["store"] for p in statement["outcome"]["proof"]} >= {"platform", "state", "slack", "files"}
    assert all(p["clean"] for p in statement["outcome"]["proof"])
    assert statement["outcome"]["result"]["k"] >= 10  # the k its anonymised row reached
    assert found_in(json.dumps(fetched), {**member, "phone": None}) == []  # no identifier of the member in it

    path = tmp_path / "certificate.json"
    path.write_bytes(raw)
    ok = _verify_cli(path, keys[0])
    assert ok.returncode == 0 and ok.stdout.startswith(f"valid: R-{done.id}"), ok.stdout + ok.stderr
    stranger = public_key_b64(signing_key(b"another processor's secret key", PURPOSE))
    assert _verify_cli(path, stranger).returncode == 1  # the key inside the document is never trusted
    rng = random.Random(26)
    for at in sorted(rng.sample(range(len(raw)), 120)) + [0, len(raw) - 1]:  # any byte, the layout included
        changed = bytearray(raw)
        changed[at] = ord("7") if raw[at] != ord("7") else ord("8")
        assert not verify(bytes(changed), keys)[0], (at, bytes(changed[max(0, at - 20):at + 20]))
    path.write_bytes(raw.replace(b'"erased":1', b'"erased":0', 1))
    broken = _verify_cli(path, keys[0])
    assert broken.returncode == 1 and broken.stdout.startswith("INVALID"), broken.stdout


def test_a_refusal_is_certified_with_its_ground(system, gym) -> None:
    member = _member(gym, CLUB)
    system.slack.command(SUPPORT, f"access {member['member_number']}")  # four eyes: the DPO refuses
    request_id = int(system.card(kind="access")["blocks"][-1]["elements"][0]["value"])
    system.slack.command(DPO, f"refuse R-{request_id} the fourth identical request this month, answered on 2 Nov")
    system.wait_status(request_id, (m.REFUSED,), timeout=20)
    certificate = system.services.certificates.issue(request_id)
    assert certificate == system.services.certificates.issue(request_id)  # signed once: the same document
    outcome = certificate["statement"]["outcome"]
    assert outcome["refused"] is True and outcome["ground"].startswith("the fourth identical")
    assert outcome["article"] == "Art. 12(5) GDPR"
    assert verify(json.dumps(certificate, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(),
                  system.services.certificates.public_keys()) [0]
