"""Restriction (Art. 18) and rectification (Art. 16) on the club's instruction, end to end on both backends:
through Slack and the clubs' API, the platform changed as the data map allows, every recipient told through
the Art. 19 outbox (a rectification only what each one holds), the ledger replayed onto a restored backup,
the certificate, and the values never in Slack, the audit chain or the bot's database in the clear."""
from __future__ import annotations

import email
import json
import subprocess
import sys
from pathlib import Path

from sqlalchemy import text

from devslack.driver import wait_for
from gdpr.core import models as m
from gdpr.core.audit import verify_chain
from gdpr.core.db import make_engine
from tests.conftest import ROOT, SECRET
from tests.e2e.test_club_api import Api, _token
from tests.e2e.test_erasure import recipients, system_config  # noqa: F401 - the recipients told answer (Art. 19)
from tests.helpers import DPO, SUPPORT, ephemerals

GROUND = "The member contests the accuracy of their address (Art. 18(1)(a)); the club checks it."


def _linked_member(gym, *providers: str) -> dict:
    """A member (unique email, of ghent-centre: the API tests' club) linked to each of these integrations."""
    joins = " ".join(f"JOIN integration_links l{i} ON l{i}.member_id = m.id AND l{i}.provider = '{p}' AND l{i}.active"
                     for i, p in enumerate(providers))
    with gym.connect() as conn:
        return dict(conn.execute(text(
            f"SELECT m.id, m.member_number, m.email, m.street, m.last_name FROM members m {joins} "
            "JOIN clubs c ON c.id = m.club_id WHERE c.code = 'ghent-centre' AND m.email IS NOT NULL "
            "AND (SELECT COUNT(*) FROM members o WHERE o.email = m.email) = 1 ORDER BY m.id LIMIT 1")).mappings().one())


def _restricted_at(engine, member_id: int) -> object:
    with engine.connect() as conn:
        return conn.execute(text("SELECT restricted_at FROM members WHERE id = :i"), {"i": member_id}).scalar()


def _replay(system, backup: str) -> str:
    env = {"DATABASE_URL": system.settings.database_url, "SYSTEM_DATABASE_URL": backup, "SECRET_KEY": SECRET,
           "CONFIG_DIR": str(system.settings.config_dir), "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-m", "bootstrap.cli", "ledger", "replay"], env=env, cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout


def _mails(system, subject: str) -> list[email.message.Message]:
    mails = [email.message_from_bytes(p.read_bytes()) for p in Path(system.settings.outbox_dir).glob("*.eml")]
    return [mail for mail in mails if " ".join(str(mail["Subject"]).split()) == subject]


def test_a_restriction_is_applied_at_once_told_replayed_and_lifted_with_notice_to_the_club(
        system, gym, recipients, platform_backup) -> None:  # noqa: F811 - the fixture imported above
    member = _linked_member(gym, "virtuagym", "clubplanner")
    backup = platform_backup(system.settings.system_url)  # a restore from before the restriction
    system.slack.command(SUPPORT, f"restrict {member['member_number']} {GROUND}")
    restricted = wait_for(lambda: (r := system.services.requests.of_subject(
        system.services.requests.pseudonym("member", str(member["id"])))) and r[-1].status == m.DONE and r[-1],
        timeout=60, what="the restriction done")
    assert restricted.kind == "restrict" and restricted.decided_by == SUPPORT  # nobody's to approve
    assert _restricted_at(gym, member["id"]) is not None
    for provider in ("virtuagym", "clubplanner"):
        (told,) = [r["body"] for r in recipients[provider].successes() if r["body"]["reference"] == f"R-{restricted.id}"]
        assert told["type"] == "restriction" and told["legal_basis"] == "Art. 18 and Art. 19 GDPR"
        assert member["email"] not in json.dumps(told) and told["external_id"]  # their own id, nothing else of them
    assert restricted.result["restricted"] is True and restricted.result["recipients"] == ["clubplanner", "virtuagym"]

    system.slack.command(SUPPORT, f"restrict {member['member_number']} {GROUND}")  # again: nothing to do, said
    wait_for(lambda: any("already restricted" in e["text"] for e in ephemerals(system.standin, SUPPORT)), timeout=20,
             what="the refusal")
    certificate = system.services.certificates.issue(restricted.id)["statement"]
    assert certificate["outcome"]["instruction"] == {"ground": GROUND}
    assert certificate["outcome"]["article"] == "Art. 18(1) and Art. 19 GDPR"
    with system.services.db.session() as s:  # the ground is on the card and the certificate, not in the chain
        chain = " ".join(d for (d,) in s.execute(text("SELECT details FROM audit_events")))
        assert "contests the accuracy" not in chain and verify_chain(s, system.services.ring.keys).ok

    # a restore from before it: the ledger restricts again
    assert _restricted_at(restored := make_engine(backup, immediate=False), member["id"]) is None
    out = _replay(system, backup)
    assert f"re-applied R-{restricted.id}: restricted" in out, out
    assert _restricted_at(restored, member["id"]) is not None
    assert f"R-{restricted.id}: restricted" not in _replay(system, backup)  # once in effect: left as it is
    restored.dispose()

    # lifting: the DPO approves; the recipients and the club are told
    system.slack.command(SUPPORT, f"restrict lift {member['member_number']} the club checked the address with the member")
    card = system.card(request_id=restricted.id + 1)
    assert "Reason (the club tells the person first" in json.dumps(card)
    system.slack.click(DPO, "request.approve", str(restricted.id + 1), card["channel"], card["ts"])
    lifted = system.wait_status(restricted.id + 1, (m.DONE,), timeout=60)
    assert lifted.kind == "lift" and _restricted_at(gym, member["id"]) is None
    assert [r["body"]["type"] for r in recipients["virtuagym"].successes()
            if r["body"]["reference"] == f"R-{lifted.id}"] == ["restriction_lifted"]
    (mail,) = _mails(system, f"Restriction of processing lifted - R-{lifted.id}")
    body = mail.get_payload(decode=True).decode()
    assert mail["To"] == "dpo@ghent-centre.example" and f"set by R-{restricted.id}" in body and "Art. 18(3)" in body
    assert member["email"] not in body and member["last_name"] not in body
    system.slack.command(SUPPORT, f"restrict lift {member['member_number']} the club checked the address again")
    wait_for(lambda: any("not restricted" in e["text"] for e in ephemerals(system.standin, SUPPORT)), timeout=20,
             what="nothing to lift")


def test_a_rectification_through_the_api_is_approved_applied_told_and_replayed_until_the_erasure(
        system, gym, recipients, platform_backup) -> None:  # noqa: F811 - the fixture imported above
    from bootstrap.runtime import api_app
    member = _linked_member(gym, "clubplanner")
    new_email, new_street = f"corrected.{member['id']}@example.org", "Kerkstraat 5"
    backup = platform_backup(system.settings.system_url)
    api = Api(api_app(system.services, per_minute=1000))
    try:
        token = _token(system, "ghent-centre")
        status, bad, _ = api.call("POST", "/v1/requests", token, {"kind": "rectification", "member": member["member_number"],
                                                                  "changes": {"national_id": "85.07.30-033.61"}})
        assert status == 422  # not a column the data map lets be corrected: the schema says so
        status, bad, _ = api.call("POST", "/v1/requests", token, {"kind": "rectification", "member": member["member_number"],
                                                                  "changes": {"email": "not an address"}})
        assert status == 422
        status, opened, _ = api.call("POST", "/v1/requests", token, {
            "kind": "rectification", "member": member["member_number"],
            "changes": {"email": new_email, "street": new_street}})
        assert status == 201 and opened["kind"] == "rectify" and opened["status"] == m.AWAITING_APPROVAL, opened
    finally:
        api.stop()
    request_id = opened["id"]
    card = system.card(request_id=request_id)
    assert "Fields to correct: email, street" in json.dumps(card)
    assert new_email not in system.standin.all_text() and new_street not in system.standin.all_text()
    system.slack.click(DPO, "request.approve", str(request_id), card["channel"], card["ts"])
    done = system.wait_status(request_id, (m.DONE,), timeout=60)
    with gym.connect() as conn:
        now = conn.execute(text("SELECT email, street FROM members WHERE id = :i"), {"i": member["id"]}).one()
    assert tuple(now) == (new_email, new_street) and done.result["changed"] == ["email", "street"]
    (told,) = [r["body"] for r in recipients["clubplanner"].successes() if r["body"]["reference"] == f"R-{request_id}"]
    assert told["type"] == "rectification" and told["corrected"] == {"email": new_email}  # street: the club's only
    assert not [r for r in recipients["virtuagym"].received if r["body"]["reference"] == f"R-{request_id}"]
    with system.services.db.engine.connect() as conn:  # the bot's own tables (the platform's may share the file)
        state = json.dumps([[str(v) for v in row] for t in m.Base.metadata.sorted_tables
                            for row in conn.execute(t.select())]).lower()
    assert new_email.lower() not in state and new_street.lower() not in state  # sealed in the ledger, nowhere else
    assert system.services.requests.get(request_id).instruction is None
    certificate = system.services.certificates.issue(request_id)
    assert certificate["statement"]["outcome"]["instruction"] == {"fields": ["email", "street"]}
    assert new_email not in json.dumps(certificate)

    # a restore from before it: the ledger writes the corrections again
    out = _replay(system, backup)
    assert f"re-applied R-{request_id}: rectified: email, street" in out, out
    restored = make_engine(backup, immediate=False)
    with restored.connect() as conn:
        assert conn.execute(text("SELECT email FROM members WHERE id = :i"), {"i": member["id"]}).scalar() == new_email

    # erased since: the ledger forgets the corrected values, and a replay writes nothing of them back. (Filed at
    # once: the rectification's recipients message, which two deliveries wanted, may still be owed; the erasure
    # renders it again with the subject's other messages rather than fail on it.)
    system.slack.command(SUPPORT, f"erase {member['member_number']}")
    erase_card = system.card(request_id=request_id + 1)
    system.slack.click(DPO, "request.approve", str(request_id + 1), erase_card["channel"], erase_card["ts"])
    erased = system.wait_status(request_id + 1, (m.DONE, m.NOTIFYING), timeout=120)
    assert next(p for p in erased.result["stores"] if p["store"] == "corrections")["forgotten"] == 1
    with system.services.db.session() as s:
        assert s.execute(text("SELECT corrected FROM erasure_ledger WHERE request_id = :r"), {"r": request_id}).scalar() is None
    with restored.begin() as conn:  # the backup still holds the old member: replay erases it, writes no correction
        conn.execute(text("UPDATE members SET email = :e WHERE id = :i"), {"e": member["email"], "i": member["id"]})
    out = _replay(system, backup)
    assert f"R-{request_id}: rectified" not in out and f"re-applied R-{request_id + 1} (member)" in out, out
    with restored.connect() as conn:
        assert conn.execute(text("SELECT email FROM members WHERE id = :i"), {"i": member["id"]}).scalar() is None
    restored.dispose()


def test_slack_refuses_a_field_the_data_map_does_not_let_be_corrected_and_names_no_value(system, gym) -> None:
    member = _linked_member(gym, "clubplanner")
    system.slack.command(SUPPORT, f"rectify {member['member_number']} national_id=85.07.30-033.61")
    said = wait_for(lambda: [e["text"] for e in ephemerals(system.standin, SUPPORT) if "cannot be corrected" in e["text"]],
                    timeout=20, what="the refusal")[0]
    assert "national_id" in said and "85.07.30" not in said and "street" in said
    system.slack.command(SUPPORT, f"rectify {member['member_number']} birth_date=31/02/1990")
    said = wait_for(lambda: [e["text"] for e in ephemerals(system.standin, SUPPORT) if "is a date" in e["text"]],
                    timeout=20, what="the refusal")[0]
    assert "31/02" not in said
    with system.services.db.session() as s:
        assert s.query(m.SubjectRequest).count() == 0  # nothing opened


def test_a_restriction_through_the_api_is_applied_at_once_shown_to_the_dpo_and_refused_twice(system, gym) -> None:
    from bootstrap.runtime import api_app
    member = _linked_member(gym, "clubplanner")
    api = Api(api_app(system.services, per_minute=1000))
    try:
        token = _token(system, "ghent-centre")
        status, problem, _ = api.call("POST", "/v1/requests", token, {"kind": "restriction", "member": member["member_number"],
                                                                      "ground": "    short    "})
        assert status == 422 and problem["status"] == 422  # ten characters besides spaces, as the schema says
        body = {"kind": "restriction", "member": member["member_number"], "ground": GROUND}
        status, opened, _ = api.call("POST", "/v1/requests", token, body)
        assert status == 201 and opened["kind"] == "restrict", opened
        done = system.wait_status(opened["id"], (m.DONE,), timeout=60)
        assert done.requester_id == "club:ghent-centre" and _restricted_at(gym, member["id"]) is not None
        card = system.card(request_id=opened["id"])  # the DPO sees it (nothing to decide: no buttons)
        assert not [b for b in card["blocks"] if b["type"] == "actions"]
        status, problem, _ = api.call("POST", "/v1/requests", token, body)
        assert status == 409 and "already restricted" in problem["detail"]
        status, problem, _ = api.call("POST", "/v1/requests", token, {
            "kind": "access", "member": member["member_number"], "ground": GROUND})
        assert status == 422  # a ground does not go with an access request: the schema has none there
    finally:
        api.stop()
