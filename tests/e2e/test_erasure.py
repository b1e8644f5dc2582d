"""Right to be forgotten, end to end, on both backends: preview, approval, one-transaction erasure,
residue check, Art. 19 notices to local recipient servers, ledger replay."""
from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import bindparam, inspect, text

from devslack.driver import wait_for
from gdpr.core import models as m
from gdpr.core.audit import verify_chain
from tests.conftest import ROOT, SECRET
from tests.helpers import DPO, SUPPORT, block_texts, file_and_approve, wait_ephemeral
from tests.recipients import RecipientServer, config_with_recipients, serve


@pytest.fixture
def recipients():
    yield from serve({"virtuagym": RecipientServer(), "milon": RecipientServer(fail_first=2),
                      "clubplanner": RecipientServer(), "technogym": RecipientServer()})


@pytest.fixture
def system_config(tmp_path: Path, recipients) -> Path:
    return config_with_recipients(ROOT / "config", tmp_path / "config", recipients)


def rich_member(engine) -> dict:
    """A member with every kind of related data: a converted lead with a follow-up note quoting the
    phone, recent (held) and old invoices, notes quoting the phone, integrations, health data, an
    emergency contact."""
    with engine.begin() as conn:
        mid, lead_id = conn.execute(text("SELECT converted_member_id, id FROM crm_leads "
                                         "WHERE converted_member_id IS NOT NULL ORDER BY id LIMIT 1")).one()
        mem = dict(conn.execute(text("SELECT * FROM members WHERE id = :i"), {"i": mid}).mappings().one())
        base = 5_000_000
        now = dt.datetime(2026, 10, 1, 12, 0)
        conn.execute(text("INSERT INTO staff_notes (id, member_id, author_staff_id, created_at, body) VALUES "
                          "(:id, :m, 1, :t, :b)"), {"id": base, "m": mid, "t": now, "b": f"Call back on {mem['phone']}"})
        conn.execute(text("INSERT INTO crm_notes (id, lead_id, author_staff_id, created_at, body) VALUES "
                          "(:id, :l, 1, :t, :b)"), {"id": base, "l": lead_id, "t": now,
                                                    "b": f"Trial booked, confirm on {mem['phone']}"})
        for i, provider in enumerate(("virtuagym", "milon")):
            conn.execute(text("DELETE FROM integration_links WHERE member_id = :m AND provider = :p"),
                         {"m": mid, "p": provider})
            conn.execute(text("INSERT INTO integration_links (id, member_id, provider, external_id, linked_at, active) "
                              "VALUES (:id, :m, :p, :e, :t, true)"),
                         {"id": base + i, "m": mid, "p": provider, "e": f"{provider[:2].upper()}-{mid}-x", "t": now})
        conn.execute(text("INSERT INTO body_measurements (id, member_id, measured_at, weight_kg) VALUES (:id, :m, :t, 80)"),
                     {"id": base, "m": mid, "t": now})
        conn.execute(text("INSERT INTO emergency_contacts (id, member_id, contact_name, contact_phone, relation) "
                          "VALUES (:id, :m, 'Partner Person', '+32 499 00 00 01', 'partner')"), {"id": base, "m": mid})
        conn.execute(text("INSERT INTO invoices (id, member_id, club_id, invoice_number, issued_on, buyer_name, "
                          "buyer_address, total) VALUES (:id, :m, 1, 'INV-OLD', :d, :n, 'Old street 1', 10)"),
                     {"id": base, "m": mid, "d": dt.date(2012, 1, 5), "n": f"{mem['first_name']} {mem['last_name']}"})
        conn.execute(text("INSERT INTO invoices (id, member_id, club_id, invoice_number, issued_on, buyer_name, "
                          "buyer_address, total) VALUES (:id, :m, 1, 'INV-NEW', :d, :n, 'New street 2', 20)"),
                     {"id": base + 1, "m": mid, "d": dt.date(2026, 3, 1), "n": f"{mem['first_name']} {mem['last_name']}"})
        iban = conn.execute(text("SELECT iban FROM bank_accounts WHERE member_id = :m"), {"m": mid}).scalar()
        if iban is None:
            iban = "BE68539007547034"
            conn.execute(text("INSERT INTO bank_accounts (id, member_id, iban, owner_name) VALUES (:id, :m, :i, 'x')"),
                         {"id": base, "m": mid, "i": iban})
        card = conn.execute(text("SELECT credential_number FROM access_credentials WHERE member_id = :m"),
                            {"m": mid}).scalars().first()
    return {**mem, "lead_id": lead_id, "iban": iban, "card": card,
            "full_name": f"{mem['first_name']} {mem['last_name']}"}


def held_snapshot(engine, member_id: int, ids: list | None = None) -> list:
    """What tax law needs of the member's invoices still under hold: number, date, total (after the erasure
    the rows are cut from the member: found by the ids they had)."""
    where = "id IN :ids" if ids is not None else "member_id = :m AND issued_on > :c"
    query = text(f"SELECT id, invoice_number, issued_on, total FROM invoices WHERE {where} ORDER BY id")
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(query.bindparams(bindparam("ids", expanding=True)) if ids is not None
                                               else query, {"m": member_id, "c": dt.date(2019, 11, 1), "ids": ids})]


def dump(engine) -> str:
    """Every row of every table as text, held rows included: what a hold keeps is no identifier."""
    out = []
    with engine.connect() as conn:
        for t in inspect(engine).get_table_names():
            for row in conn.execute(text(f"SELECT * FROM {t}")).mappings():
                out.append(json.dumps({k: str(v) for k, v in row.items()}))
    return "\n".join(out).lower()


def _file_erasure(system, identity: str) -> tuple[int, dict]:
    system.slack.command(SUPPORT, f"erase {identity}")
    card = system.card(kind="erase")
    request_id = int(card["blocks"][-1]["elements"][0]["value"])
    return request_id, card


def test_erase_member_everywhere_tells_recipients_and_proves_it(system, gym, recipients) -> None:
    member = rich_member(gym)
    held_before = held_snapshot(gym, member["id"])
    request_id, card = _file_erasure(system, member["member_number"])

    preview = block_texts(card)
    assert "Preview of the erasure" in preview and "`visits`" in preview and "kept under legal hold" in preview
    assert "tax and accounting law" in preview and "virtuagym" in preview and "milon" in preview
    assert member["email"] not in json.dumps(card)
    asked = block_texts(next(msg for msg in system.standin.channel(system.where(f"R-{request_id}", "request")[0])
                             if msg.get("ts") == system.where(f"R-{request_id}", "request")[1]))
    assert "row(s) in" in asked and "`visits`" not in asked and "kept under legal hold" not in asked  # totals only

    system.slack.click(DPO, "request.approve", str(request_id), card["channel"], card["ts"])
    done = system.wait_status(request_id, (m.DONE, m.FAILED), timeout=120)
    assert done.status == m.DONE, (done.error, done.result)
    assert done.result["residue"] == [] and done.result["rows"] > 0, done.result

    everything = dump(gym)
    for identifier in (member["email"], member["phone"], member["national_id"], member["iban"], member["full_name"],
                       member["card"], f"vi-{member['id']}-x", f"mi-{member['id']}-x"):
        assert identifier and identifier.lower() not in everything, identifier
    assert held_snapshot(gym, member["id"], [r[0] for r in held_before]) == held_before  # legal-hold rows intact
    with gym.connect() as conn:
        old = conn.execute(text("SELECT buyer_name, buyer_address FROM invoices WHERE id = 5000000")).one()
        lead = conn.execute(text("SELECT email, first_name FROM crm_leads WHERE id = :i"), {"i": member["lead_id"]}).one()
        visits = conn.execute(text("SELECT COUNT(*) FROM visits WHERE member_id = :m"), {"m": member["id"]}).scalar()
        lead_notes = conn.execute(text("SELECT COUNT(*) FROM crm_notes WHERE lead_id = :l"), {"l": member["lead_id"]}).scalar()
    assert tuple(old) == ("Anonymised member", None) and tuple(lead) == (None, None) and visits == 0 and lead_notes == 0

    for provider in ("virtuagym", "milon"):
        got = recipients[provider].successes()
        assert len(got) == 1 and got[0]["body"]["external_id"] == f"{provider[:2].upper()}-{member['id']}-x"
        assert got[0]["key"] == f"R-{request_id}:{provider}"
    assert len(recipients["milon"].received) == 3  # two 503s, then delivered
    assert recipients["clubplanner"].received == [] and recipients["technogym"].received == []

    with system.services.db.session() as s:
        assert verify_chain(s, [SECRET.encode()]).ok
        notices = s.execute(text("SELECT recipient, status, external_ref FROM erasure_notices")).all()
        audit = " ".join(r[0] for r in s.execute(text("SELECT details FROM audit_events")))
    assert sorted(notices) == [("milon", "sent", None), ("virtuagym", "sent", None)]
    for identifier in (member["email"], member["phone"], member["full_name"], f"vi-{member['id']}-x"):
        assert identifier.lower() not in audit.lower()
    thread = system.standin.thread(*system.where(f"R-{done.id}", "approval"))
    assert any("Residue check: none of the former identifiers" in (t.get("text") or "") for t in thread)


def test_erasing_an_erased_member_finishes_at_once(system, gym) -> None:
    member = rich_member(gym)
    request_id, card = _file_erasure(system, member["member_number"])
    first = system.services.erasure.erase(kind="member", key=str(member["id"]))  # erased meanwhile
    assert first.rows > 0 and system.services.erasure.erase(kind="member", key=str(member["id"])).already_erased
    system.slack.click(DPO, "request.approve", str(request_id), card["channel"], card["ts"])
    done = system.wait_status(request_id, (m.DONE, m.FAILED, m.NOTIFYING), timeout=60)
    assert done.result["already_erased"] is True and done.result["rows"] == 0 and done.result["residue"] == []
    # The thread message follows the status change: wait for it rather than read the thread at once.
    assert wait_for(lambda: any("already erased" in (t.get("text") or "")
                                for t in system.standin.thread(*system.where(f"R-{done.id}", "request"))),
                    timeout=20, what="the 'already erased' message")


def test_two_erasures_of_one_member_and_a_converted_lead(system, gym) -> None:
    member = rich_member(gym)
    system.slack.command(SUPPORT, f"erase {member['member_number']}")
    system.card()
    system.slack.command(DPO, f"erase {member['email']}")
    assert "already exists" in wait_ephemeral(system.standin, DPO)["text"]


def test_ledger_replay_erases_again_after_a_restore(system, gym, platform_backup) -> None:
    member = rich_member(gym)
    backup = platform_backup(system.settings.system_url)  # taken before the erasure
    request_id, card = _file_erasure(system, member["member_number"])
    system.slack.click(DPO, "request.approve", str(request_id), card["channel"], card["ts"])
    system.wait_status(request_id, (m.DONE, m.NOTIFYING, m.FAILED), timeout=120)
    env = {"DATABASE_URL": system.settings.database_url, "SYSTEM_DATABASE_URL": backup, "SECRET_KEY": SECRET,
           "CONFIG_DIR": str(ROOT / "config"), "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-m", "bootstrap.cli", "ledger", "replay"], env=env, cwd=ROOT,
                         capture_output=True, text=True)
    assert out.returncode == 0 and f"re-applied R-{request_id} (member)" in out.stdout, out.stdout + out.stderr
    from gdpr.core.db import make_engine
    restored = make_engine(backup, immediate=False)
    try:
        text_dump = dump(restored)
        assert member["email"].lower() not in text_dump and member["full_name"].lower() not in text_dump
    finally:
        restored.dispose()
    again = subprocess.run([sys.executable, "-m", "bootstrap.cli", "ledger", "replay"], env=env, cwd=ROOT,
                           capture_output=True, text=True)
    assert "0 re-applied, 1 already in effect" in again.stdout


def test_stored_exports_of_the_subject_are_deleted(system, gym) -> None:
    member = rich_member(gym)
    access_id = file_and_approve(system, "access", member["member_number"])
    answered = system.wait_status(access_id)
    export = system.settings.export_dir / answered.export_name
    assert export.exists() and export.stat().st_mode & 0o777 == 0o600
    assert answered.file_id in {f["id"] for f in system.standin.uploaded_files()}
    request_id = file_and_approve(system, "erase", member["member_number"])
    system.wait_status(request_id, (m.DONE, m.FAILED, m.NOTIFYING), timeout=120)
    assert not export.exists()
    assert answered.file_id not in {f["id"] for f in system.standin.uploaded_files()}  # gone from Slack too
    thread = system.standin.thread(*system.where(f"R-{answered.id}", "request"))
    assert any("was deleted from this thread and from the server: the subject was erased" in (t.get("text") or "")
               for t in thread)
    assert system.services.requests.get(access_id).export_deleted_at is not None
    with system.services.db.session() as s:
        details = s.execute(text("SELECT details FROM audit_events WHERE action = 'erasure.residue'")).scalar_one()
        deleted = s.execute(text("SELECT details FROM audit_events WHERE action = 'export.deleted'")).scalar_one()
    assert json.loads(details)["exports_deleted"] == 1
    assert {"reason": "the subject was erased", "server_copy": True, "slack_file": True}.items() <= json.loads(deleted).items()


def test_exports_past_their_ttl_leave_slack_and_the_server_even_after_slack_refused(system, gym) -> None:
    member = rich_member(gym)
    access_id = file_and_approve(system, "access", member["member_number"])
    answered = system.wait_status(access_id)
    export = system.settings.export_dir / answered.export_name
    with system.services.db.session() as s:  # answered eight days ago (EXPORT_TTL_DAYS is 7)
        s.execute(text("UPDATE subject_requests SET finished_at = :t WHERE id = :i"),
                  {"t": answered.finished_at - dt.timedelta(days=8), "i": access_id})
    system.standin.refuse("files.delete", "ratelimited")
    assert system.services.bulk.purge_exports() == 0  # Slack refused: nothing reported as deleted
    assert system.services.requests.get(access_id).export_deleted_at is None
    assert answered.file_id in {f["id"] for f in system.standin.uploaded_files()}
    assert system.services.bulk.purge_exports() == 1  # the next pass finishes it
    assert not export.exists() and answered.file_id not in {f["id"] for f in system.standin.uploaded_files()}
    thread = [t.get("text") or "" for t in system.standin.thread(*system.where(f"R-{answered.id}", "request"))]
    assert sum("its time to live has passed" in t for t in thread) == 1
    assert system.services.bulk.purge_exports() == 0
