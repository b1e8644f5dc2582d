"""`/gdpr club offboard`: the club's choice (return and delete, return only, delete only), its open requests
closed with a notice, a dry run, the club's data returned first, every row of its people deleted (its holds
are its own once the data is back), a statement signed once every recipient was told."""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from devslack.driver import wait_for
from gdpr.clubs.offboarding import SIGNING_PURPOSE
from gdpr.core import models as m
from gdpr.core.crypto import read_aes_zip, verify_document
from tests.conftest import ROOT
from tests.helpers import DPO, SUPPORT, block_texts, bulk_card, ephemerals, file_and_approve, wait_ephemeral
from tests.recipients import RecipientServer, config_with_recipients, serve


@pytest.fixture
def recipients():
    yield from serve({"virtuagym": RecipientServer(fail_first=1), "milon": RecipientServer(),
                      "clubplanner": RecipientServer(), "technogym": RecipientServer()})


@pytest.fixture
def system_config(tmp_path, recipients):
    return config_with_recipients(ROOT / "config", tmp_path / "config", recipients)

ADMIN = "U0ADMIN1"
CLUB = "leuven"
MEMBER_IDS = ("email", "phone", "member_number", "national_id")


def club_identifiers(gym: Engine, club: str, *, others: bool = False) -> set[str]:
    """The identifiers of a club's members and leads (or of everyone else's), lower-cased, test-side only."""
    op = "<>" if others else "="
    club_of = f"(SELECT id FROM clubs WHERE code {op} :club)"
    queries = [f"SELECT {c} FROM members WHERE club_id IN {club_of}" for c in MEMBER_IDS]
    queries += [f"SELECT {c} FROM crm_leads WHERE club_id IN {club_of}" for c in ("email", "phone")]
    queries += [f"SELECT {c} FROM bank_accounts WHERE member_id IN (SELECT id FROM members WHERE club_id IN {club_of})"
                for c in ("iban", "sepa_mandate_ref")]
    queries += [f"SELECT credential_number FROM access_credentials WHERE member_id IN "
                f"(SELECT id FROM members WHERE club_id IN {club_of})"]
    with gym.connect() as conn:
        return {str(v).lower() for q in queries for (v,) in conn.execute(text(q), {"club": club}) if v and len(str(v)) >= 5}


def values_found(gym: Engine, values: set[str], *, skip: dict[str, str] | None = None) -> set[str]:
    """Which of `values` still appear as a whole text value anywhere in the database (`skip`: table -> a SQL
    condition on its rows that are allowed to keep them, the rows under a legal hold)."""
    from sqlalchemy import String, Text, inspect
    found: set[str] = set()
    insp = inspect(gym)
    with gym.connect() as conn:
        for tname in insp.get_table_names():
            where = f" AND NOT ({skip[tname]})" if skip and tname in skip else ""
            for col in insp.get_columns(tname):
                if isinstance(col["type"], (String, Text)):
                    rows = conn.execute(text(f"SELECT DISTINCT lower({col['name']}) FROM {tname} "
                                             f"WHERE {col['name']} IS NOT NULL{where}"))
                    found |= {v for (v,) in rows} & values
    return found


def _count(gym: Engine, sql: str, **params: object) -> int:
    with gym.connect() as conn:
        return conn.execute(text(sql), params).scalar_one()


CLUB_ROWS = ("members", "crm_leads", "contracts", "invoices", "pos_sales", "visits", "class_bookings")


def club_rows(gym: Engine, club: str) -> dict[str, int]:
    """Rows that still name the club, per table of its people."""
    return {t: _count(gym, f"SELECT COUNT(*) FROM {t} WHERE club_id = (SELECT id FROM clubs WHERE code = :c)", c=club)
            for t in CLUB_ROWS}


def alone_leads(gym: Engine, club: str) -> int:
    """The club's leads who did not become one of its members (those are one person with the member)."""
    return _count(gym, "SELECT COUNT(*) FROM crm_leads l WHERE l.club_id = (SELECT id FROM clubs WHERE code = :c) AND "
                       "NOT EXISTS (SELECT 1 FROM members m WHERE m.id = l.converted_member_id AND m.club_id = l.club_id)",
                  c=club)


def _offboard(system, user: str, how: str = "") -> tuple[int, dict]:
    system.slack.command(user, f"club offboard {CLUB} {how}".strip())
    card = bulk_card(system)
    return int(card["blocks"][-1]["elements"][0]["value"]), card


def _approved(system, run_id: int, card: dict) -> m.BulkRun:
    system.slack.click(DPO, "bulk.approve", str(run_id), card["channel"], card["ts"])
    run = wait_for(lambda: (r := system.services.runs.get(run_id)).status in (m.DONE, m.FAILED) and r,
                   timeout=120, what="the offboarding")
    assert run.status == m.DONE, run.error
    return run


def _thread_files(system, card: dict, count: int) -> list[dict]:
    return wait_for(lambda: len(f := [f for msg in system.standin.thread(card["channel"], card["ts"])
                                      for f in msg.get("files", [])]) >= count and f, timeout=60,
                    what=f"{count} file(s) in the card's thread")


def test_offboarding_returns_the_data_then_deletes_the_club_and_signs_a_statement(system, gym, recipients) -> None:
    members = _count(gym, "SELECT COUNT(*) FROM members WHERE club_id = (SELECT id FROM clubs WHERE code = :c)", c=CLUB)
    leads = alone_leads(gym, CLUB)
    others_with_email = _count(gym, "SELECT COUNT(*) FROM members WHERE email IS NOT NULL AND club_id <> "
                                    "(SELECT id FROM clubs WHERE code = :c)", c=CLUB)
    identifiers = club_identifiers(gym, CLUB) - club_identifiers(gym, CLUB, others=True)
    assert members > 10 and leads > 3 and len(identifiers) > 3 * members
    with gym.connect() as conn:
        number, answered = conn.execute(text("SELECT member_number FROM members WHERE club_id = (SELECT id FROM clubs "
                                             "WHERE code = :c) AND email IS NOT NULL ORDER BY id LIMIT 2"),
                                        {"c": CLUB}).scalars().all()
    exported = system.wait_status(file_and_approve(system, "access", answered))  # answered before the club left
    assert exported.status == m.DONE and answered in system.standin.stored_text()

    # Support may not; an unknown club or choice gets a clear answer; nothing is opened.
    system.slack.command(SUPPORT, f"club offboard {CLUB}")
    assert "not allowed" in wait_ephemeral(system.standin, SUPPORT)["text"]
    system.slack.command(ADMIN, "club offboard nowhere")
    assert "There is no club `nowhere`" in wait_ephemeral(system.standin, ADMIN)["text"]
    reply = system.slack.command(ADMIN, f"club offboard {CLUB} keep-everything")  # answered in the ack
    assert "return-and-delete | return-only | delete-only" in reply.json["text"]

    system.slack.command(SUPPORT, f"access {number}")  # an open request of one of its members
    access = int(system.card(request_id=exported.id + 1)["blocks"][-1]["elements"][0]["value"])

    run_id, card = _offboard(system, ADMIN)
    shown = block_texts(card)
    assert f"Offboarding of club {CLUB}" in shown and f"{members + leads:,} subjects" in shown  # each person once
    assert f"{members:,} members" in shown and f"{leads:,} leads" in shown
    assert "kept (" not in shown  # the club's holds lift: it has its data back
    assert not any(i in json.dumps(card).lower() for i in identifiers)
    assert f"P-{run_id}" in wait_ephemeral(system.standin, ADMIN, 2)["text"]
    system.slack.command(ADMIN, f"club offboard {CLUB} delete-only")  # typed twice: one run
    assert "already open" in wait_ephemeral(system.standin, ADMIN, 3)["text"]
    assert system.services.runs.get(run_id).status == m.AWAITING_APPROVAL
    assert club_rows(gym, CLUB)["members"] == members  # the dry run deleted nothing

    system.services.club_tokens.issue(club=CLUB, by=DPO, allowed=None)  # the club's API access, until it ends
    assert [t.club_code for t in system.services.club_tokens.listed()] == [CLUB]
    run = _approved(system, run_id, card)
    assert run.done == run.total == members + leads and run.residue == 0
    assert run.counts["members"]["delete"] == members

    # Its open request was closed, with a notice, and cannot be approved afterwards.
    closed = system.services.requests.get(access)
    assert closed.status == m.CLOSED and "offboarding" in closed.error
    assert any("is closed" in (t.get("text") or "") for t in system.standin.thread(*system.where(f"R-{access}", "request")))

    # The data went back first: one archive in the card's thread, its passphrase to the requester alone.
    files = _thread_files(system, card, 2)
    assert [f["name"] for f in files] == [f"club-return-P{run_id}.zip", f"offboarding-statement-P{run_id}.json"]
    dms = [c["text"] for c in system.standin.channel(f"D{ADMIN}") if "Passphrase" in (c.get("text") or "")]
    assert len(dms) == 1 and not any("Passphrase" in (c.get("text") or "") for c in system.standin.channel(card["channel"]))
    archive = read_aes_zip(files[0]["path"], dms[0].split("`")[3])
    manifest = json.loads(archive["manifest.json"])
    assert manifest["club"] == CLUB and manifest["rows"]["member/members"] == members
    returned = json.loads(archive["member/data.json"])
    assert len(returned["tables"]["members"]) == members
    assert {str(r["club_id"]) for r in returned["tables"]["members"]} == {str(run.spec["club_id"])}
    assert len(json.loads(archive["lead/data.json"])["tables"]["crm_leads"]) == leads

    # The statement is signed once every recipient was told, verifies, and says what happened, once each.
    statement = json.loads(Path(files[1]["path"]).read_text())
    assert verify_document(statement, system.services.ring.public_keys(SIGNING_PURPOSE))
    body = statement["statement"]
    assert body["controller"] == CLUB and body["residue"] == 0 and body["subjects"]["processed"] == members + leads
    assert body["approved_by"] == DPO and body["requested_by"] == ADMIN
    assert body["choice"] == {"what": "return-and-delete", "chosen_by": f"club {CLUB}, recorded by {ADMIN}",
                              "recorded_by": ADMIN}
    assert body["data_returned"]["sha256"] and body["data_returned"]["rows"]["member/members"] == members
    assert body["kept_under_legal_hold"] == []  # no law binds the processor itself to keep any of it
    assert set(body["recipients_told"]) == {"sent"} and recipients["virtuagym"].received  # all told, none pending
    body["residue"] = 1
    assert not verify_document(statement, system.services.ring.public_keys(SIGNING_PURPOSE))
    assert [t for t in system.services.club_tokens.listed() if t.club_code == CLUB] == []  # its API access ended

    # Nothing of the club's people is left at the processor (its export and its cards in Slack included);
    # the other clubs are untouched.
    assert values_found(gym, identifiers) == set()
    assert system.services.requests.get(exported.id).export_deleted_at is not None
    assert not (system.settings.export_dir / exported.export_name).exists()
    assert wait_for(lambda: answered not in system.standin.stored_text() and number not in
                    system.standin.stored_text(), timeout=20, what="the club's cards rendered without numbers")
    assert club_rows(gym, CLUB) == {t: 0 for t in CLUB_ROWS}
    assert _count(gym, "SELECT COUNT(*) FROM members WHERE email IS NOT NULL AND club_id <> "
                       "(SELECT id FROM clubs WHERE code = :c)", c=CLUB) == others_with_email
    final = wait_for(lambda: "Status: :white_check_mark: done" in (t := block_texts(bulk_card(system, run_id))) and t,
                     timeout=15, what="the card's closing summary")
    assert f"{members + leads:,} / {members + leads:,}" in final
    assert not ephemerals(system.standin, DPO)  # the DPO's click needed no error

    # The archive leaves the thread after EXPORT_TTL_DAYS, like every export; once.
    purges, ttl = system.services.purges, system.services.exports.ttl
    now = dt.datetime.now(dt.UTC)
    assert purges.withdraw_returned(now=now, ttl=ttl) == 0  # not yet
    assert purges.withdraw_returned(now=now + ttl + dt.timedelta(hours=1), ttl=ttl) == 1
    deleted = [c.args.get("file") for c in system.standin.calls_to("files.delete")]
    assert deleted == [exported.file_id, system.services.runs.get(run_id).artifacts["returned"]["file_id"]]
    assert "data for return was deleted from this thread" in system.standin.all_text()
    assert purges.withdraw_returned(now=now + 2 * ttl, ttl=ttl) == 0


def test_return_only_keeps_the_data_and_says_so(system, gym) -> None:
    members = club_rows(gym, CLUB)["members"]
    run_id, card = _offboard(system, ADMIN, "return-only")
    run = _approved(system, run_id, card)
    files = _thread_files(system, card, 2)
    assert [f["name"] for f in files] == [f"club-return-P{run_id}.zip", f"offboarding-statement-P{run_id}.json"]
    body = json.loads(Path(files[1]["path"]).read_text())["statement"]
    assert body["choice"]["what"] == "return-only" and "did not delete" in body["declaration"]
    assert run.done == 0 and club_rows(gym, CLUB)["members"] == members  # nothing deleted, by the club's choice


def test_delete_only_returns_nothing_and_leaves_nothing(system, gym) -> None:
    run_id, card = _offboard(system, ADMIN, "delete-only")
    run = _approved(system, run_id, card)
    files = _thread_files(system, card, 1)
    assert [f["name"] for f in files] == [f"offboarding-statement-P{run_id}.json"]  # no archive: none was wanted
    body = json.loads(Path(files[0]["path"]).read_text())["statement"]
    assert body["choice"]["what"] == "delete-only" and body["data_returned"] is None and body["residue"] == 0
    assert run.residue == 0 and club_rows(gym, CLUB) == {t: 0 for t in CLUB_ROWS}


def test_the_requester_cannot_approve_their_own_offboarding(system) -> None:
    system.slack.command(DPO, f"club offboard {CLUB}")
    card = bulk_card(system)
    run_id = int(card["blocks"][-1]["elements"][0]["value"])
    system.slack.click(DPO, "bulk.approve", str(run_id), card["channel"], card["ts"])
    # the command's own answer and the click's refusal are posted by different follow-ups: in either order
    wait_for(lambda: any("someone else must decide on it (four-eyes rule)" in e["text"]
                         for e in ephemerals(system.standin, DPO)), timeout=20, what="the four-eyes refusal")
    assert system.services.runs.get(run_id).status == m.AWAITING_APPROVAL
