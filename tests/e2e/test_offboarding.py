"""`/gdpr club offboard`: a dry run, the club's data returned first, everything erased, a signed statement."""
from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import Engine, text

from devslack.driver import wait_for
from gdpr import models as m
from gdpr.crypto import read_aes_zip, verify_document
from tests.helpers import DPO, SUPPORT, block_texts, bulk_card, ephemerals, wait_ephemeral

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


def test_offboarding_returns_the_data_then_erases_the_club_and_signs_a_statement(system, gym) -> None:
    members = _count(gym, "SELECT COUNT(*) FROM members WHERE club_id = (SELECT id FROM clubs WHERE code = :c)", c=CLUB)
    leads = _count(gym, "SELECT COUNT(*) FROM crm_leads WHERE club_id = (SELECT id FROM clubs WHERE code = :c)", c=CLUB)
    others_with_email = _count(gym, "SELECT COUNT(*) FROM members WHERE email IS NOT NULL AND club_id <> "
                                    "(SELECT id FROM clubs WHERE code = :c)", c=CLUB)
    identifiers = club_identifiers(gym, CLUB) - club_identifiers(gym, CLUB, others=True)
    assert members > 10 and leads > 3 and len(identifiers) > 3 * members

    # Support may not; an unknown club gets a clear answer; nothing is opened.
    system.slack.command(SUPPORT, f"club offboard {CLUB}")
    assert "not allowed" in wait_ephemeral(system.standin, SUPPORT)["text"]
    system.slack.command(ADMIN, "club offboard nowhere")
    assert "There is no club `nowhere`" in wait_ephemeral(system.standin, ADMIN)["text"]

    system.slack.command(ADMIN, f"club offboard {CLUB}")
    card = bulk_card(system)
    shown = block_texts(card)
    assert f"Offboarding of club {CLUB}" in shown and f"{members + leads:,} subjects" in shown
    assert f"{members:,} members" in shown and f"{leads:,} leads" in shown
    assert "contracts (members)" in shown and "kept (civil-law limitation period" in shown  # the holds, before
    assert not any(i in json.dumps(card).lower() for i in identifiers)
    run_id = int(card["blocks"][-1]["elements"][0]["value"])
    assert f"P-{run_id}" in wait_ephemeral(system.standin, ADMIN, 2)["text"]
    system.slack.command(ADMIN, f"club offboard {CLUB}")  # typed twice: one run
    assert "already open" in wait_ephemeral(system.standin, ADMIN, 3)["text"]
    assert system.services.runs.get(run_id).status == m.AWAITING_APPROVAL
    assert _count(gym, "SELECT COUNT(*) FROM members WHERE club_id = (SELECT id FROM clubs WHERE code = :c) "
                       "AND email IS NOT NULL", c=CLUB) > 0  # the dry run erased nothing

    system.services.club_tokens.issue(club=CLUB, by=DPO, allowed=None)  # the club's API access, until it ends
    assert [t.club_code for t in system.services.club_tokens.listed()] == [CLUB]
    system.slack.click(DPO, "bulk.approve", str(run_id), card["channel"], card["ts"])
    run = wait_for(lambda: (r := system.services.runs.get(run_id)).status in (m.DONE, m.FAILED) and r,
                   timeout=120, what="the offboarding")
    assert run.status == m.DONE, run.error
    assert run.done == run.total == members + leads and run.residue == 0
    assert run.counts["members"]["update"] == members

    # The data went back first: one archive in the card's thread, its passphrase to the requester alone.
    thread = system.standin.thread(card["channel"], card["ts"])
    files = [f for msg in thread for f in msg.get("files", [])]
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

    # The statement is signed, verifies, and says what happened (and a changed byte breaks it).
    statement = json.loads(open(files[1]["path"]).read())
    assert verify_document(statement)
    body = statement["statement"]
    assert body["controller"] == CLUB and body["residue"] == 0 and body["subjects"]["processed"] == members + leads
    assert body["approved_by"] == DPO and body["requested_by"] == ADMIN
    assert body["data_returned"]["sha256"] and body["data_returned"]["rows"]["member/members"] == members
    assert {h["table"] for h in body["kept_under_legal_hold"]} >= {"contracts"}
    body["residue"] = 1
    assert not verify_document(statement)
    assert [t for t in system.services.club_tokens.listed() if t.club_code == CLUB] == []  # its API access ended

    # Nothing of the club's people is left outside the rows a legal hold keeps; the other clubs are untouched.
    held = {"contracts": "ends_on >= CURRENT_DATE - 7 * 365 OR ends_on IS NULL",
            "payments": "paid_at >= CURRENT_DATE - 7 * 365", "consents": "true"}
    assert values_found(gym, identifiers, skip=held) == set()
    assert _count(gym, "SELECT COUNT(*) FROM members WHERE email IS NOT NULL AND club_id <> "
                       "(SELECT id FROM clubs WHERE code = :c)", c=CLUB) == others_with_email
    final = wait_for(lambda: "Status: :white_check_mark: done" in (t := block_texts(bulk_card(system, run_id))) and t,
                     timeout=15, what="the card's closing summary")
    assert f"{members + leads:,} / {members + leads:,}" in final
    assert not ephemerals(system.standin, DPO)  # the DPO's click needed no error

    # The archive leaves the thread after EXPORT_TTL_DAYS, like every export; once.
    purges, ttl = system.services.purges, system.services.exports.ttl
    now = dt.datetime.now(dt.timezone.utc)
    assert purges.withdraw_returned(now=now, ttl=ttl) == 0  # not yet
    assert purges.withdraw_returned(now=now + ttl + dt.timedelta(hours=1), ttl=ttl) == 1
    deleted = [c.args.get("file") for c in system.standin.calls_to("files.delete")]
    assert deleted == [system.services.runs.get(run_id).artifacts["returned"]["file_id"]]
    assert "data for return was deleted from this thread" in system.standin.all_text()
    assert purges.withdraw_returned(now=now + 2 * ttl, ttl=ttl) == 0


def test_the_requester_cannot_approve_their_own_offboarding(system) -> None:
    system.slack.command(DPO, f"club offboard {CLUB}")
    card = bulk_card(system)
    run_id = int(card["blocks"][-1]["elements"][0]["value"])
    system.slack.click(DPO, "bulk.approve", str(run_id), card["channel"], card["ts"])
    assert "someone else must decide on it (four-eyes rule)" in wait_ephemeral(system.standin, DPO, 2)["text"]
    assert system.services.runs.get(run_id).status == m.AWAITING_APPROVAL
