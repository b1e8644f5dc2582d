"""The foundation story, end to end, on the embedded default and on PostgreSQL + Redis + a worker process:
signed Slack requests through the WSGI stack -> DPO approval -> export job -> AES zip in the thread, passphrase by DM."""
from __future__ import annotations

import json
import shutil
import subprocess

from sqlalchemy import text

from gdpr.core import models as m
from gdpr.core.audit import verify_chain
from gdpr.core.crypto import read_aes_zip
from tests.helpers import DPO, SUPPORT, block_texts, file_and_approve, unique_member


def _passphrase(standin, user: str) -> str:
    dm = [c for c in standin.channel(f"D{user}") if "Passphrase" in (c.get("text") or "")]
    assert len(dm) == 1
    return dm[0]["text"].split("`")[3]


def test_access_request_end_to_end(system, gym) -> None:
    member = unique_member(gym, with_notes=True)

    ack = system.slack.command(SUPPORT, f"access <mailto:{member['email']}|{member['email']}>")
    assert ack.status == 200 and "Working on" in ack.json["text"]
    card = system.card()
    request_id = int(card["blocks"][-1]["elements"][0]["value"])
    req = system.wait_status(request_id, (m.AWAITING_APPROVAL,), timeout=10)
    assert req.status == m.AWAITING_APPROVAL and req.due_on.isoformat() > req.received_at.date().isoformat()
    assert member["email"] not in json.dumps(card) and member["last_name"] not in block_texts(card)

    assert system.slack.click(DPO, "request.approve", str(request_id), card["channel"],
                              card["ts"]).status == 200
    done = system.wait_status(request_id)
    assert done.status == m.DONE, done.error

    # the file landed once, in the request's thread, and opens with the passphrase from the DM
    thread = system.standin.thread(*system.where(f"R-{done.id}", "request"))
    files = [f for msg in thread for f in msg.get("files", [])]
    assert len(files) == 1 and files[0]["name"] == done.export_name
    contents = read_aes_zip(files[0]["path"], _passphrase(system.standin, SUPPORT))
    data = json.loads(contents["data.json"])
    assert [r["email"] for r in data["tables"]["members"]] == [member["email"]]
    with gym.connect() as conn:
        visits = conn.execute(text("SELECT COUNT(*) FROM visits WHERE member_id = :i"), {"i": member["id"]}).scalar()
    assert len(data["tables"]["visits"]) == visits
    assert contents["csv/visits.csv"].decode().count("\n") == visits + 1
    summary = contents["summary.html"].decode()
    for must in ("Art. 15(1)(a)", "(c)", "(g)", "(h)", "supervisory authority", "Art. 17"):
        assert must in summary

    # the request's messages were kept current with chat.update on the stored channel/ts
    updates = [c for c in system.standin.calls_to("chat.update") if c.args["ts"] == system.where(f"R-{done.id}", "request")[1]]
    assert "done" in updates[-1].args["text"]
    with system.services.db.session() as s:
        assert verify_chain(s, system.services.ring.keys).ok


def test_passphrase_reaches_only_the_requester(system, gym) -> None:
    member = unique_member(gym)
    done = system.wait_status(file_and_approve(system, "access", member["member_number"]))
    passphrase = _passphrase(system.standin, SUPPORT)

    everything_else = [c for c in system.standin.calls if c.args.get("channel") != f"D{SUPPORT}"]
    assert passphrase not in json.dumps([c.args for c in everything_else])
    with system.services.db.engine.connect() as conn:  # not in the state DB, audit log included
        for tbl in ("subject_requests", "audit_events", "decisions"):
            assert passphrase not in json.dumps([list(map(str, r)) for r in conn.execute(text(f"SELECT * FROM {tbl}"))])
        audit = json.dumps([list(map(str, r)) for r in conn.execute(text("SELECT * FROM audit_events"))])
    for pii in (member["email"], member["last_name"], member["phone"]):
        assert pii and pii not in audit
    assert member["email"] not in done.export_name and str(member["id"]) not in done.export_name.split("-")[1:2]
    logs = "".join(p.read_text(errors="replace") for p in system.tmp.glob("*.log"))
    assert passphrase not in logs and member["email"] not in logs


def test_export_opens_in_7zip(system, gym) -> None:
    member = unique_member(gym)
    system.slack.command(SUPPORT, f"access {member['email']}")
    card = system.card()
    request_id = card["blocks"][-1]["elements"][0]["value"]
    system.slack.click(DPO, "request.approve", request_id, card["channel"], card["ts"])
    done = system.wait_status(int(request_id))
    path = system.settings.export_dir / done.export_name
    seven = shutil.which("7zz") or shutil.which("7z")
    assert seven, "7-Zip is needed to prove exports open outside Python: `apt-get install 7zip` (.ci/run does)"
    listing = subprocess.run([seven, "l", "-slt", str(path)], capture_output=True, text=True, check=True).stdout
    assert "Method = AES-256" in listing and "ZipCrypto" not in listing
    wrong = subprocess.run([seven, "t", "-pwrong-pass", str(path)], capture_output=True, text=True)
    assert wrong.returncode != 0
    right = subprocess.run([seven, "t", f"-p{_passphrase(system.standin, SUPPORT)}", str(path)],
                           capture_output=True, text=True)
    assert right.returncode == 0, right.stdout + right.stderr


def test_a_card_update_never_steps_back_to_an_older_state(system, gym) -> None:
    """Issue 23, defect 8: two updates of a card racing under a rate limit could leave it showing `queued`
    after `running`. An update is rendered from the request as it is when it is sent: a caller's older copy
    (one delayed by Slack's rate limit) cannot undo a newer state."""
    from sqlalchemy import update
    member = unique_member(gym)
    system.slack.command(SUPPORT, f"access {member['member_number']}")
    card = system.card(kind="access")
    request_id = int(card["blocks"][-1]["elements"][0]["value"])
    stale = system.services.requests.get(request_id)  # a copy taken now (awaiting approval)
    with system.services.db.session() as s:  # meanwhile the request moved on
        s.execute(update(m.SubjectRequest).where(m.SubjectRequest.id == request_id).values(status=m.RUNNING))
    newer = system.services.requests.get(request_id)
    presenter = system.services.presenters.requests
    presenter.request_changed(newer)
    presenter.request_changed(stale)  # the update that waited out Slack's rate limit arrives last
    channel, ts = system.where(f"R-{request_id}", "approval")
    shown = next(msg for msg in system.standin.channel(channel) if msg["ts"] == ts)
    assert shown["text"].endswith(": running"), shown["text"]


def test_other_people_s_data_stays_out_of_the_copy_and_the_summary_says_so(system, gym) -> None:
    """Art. 15(4), through Slack on both backends: the emergency contact's name and number are withheld, a staff
    note naming another member is redacted, the member's own note is whole; the summary says what and why."""
    member, other = unique_member(gym), unique_member(gym, skip=1)
    with gym.begin() as conn:
        conn.execute(text("DELETE FROM emergency_contacts WHERE member_id = :i"), {"i": member["id"]})
        conn.execute(text("DELETE FROM staff_notes WHERE member_id = :i"), {"i": member["id"]})
        conn.execute(text("INSERT INTO emergency_contacts (id, member_id, contact_name, contact_phone, relation) "
                          "VALUES (900001, :i, 'Griet Vandamme', '+32 477 61 52 43', 'parent')"), {"i": member["id"]})
        conn.execute(text("INSERT INTO staff_notes (id, member_id, author_staff_id, created_at, body) VALUES "
                          "(900001, :i, 1, '2026-01-02 10:00:00', :a), (900002, :i, 1, '2026-01-03 10:00:00', :b)"),
                     {"i": member["id"], "a": f"Trained with {other['first_name']} {other['last_name']} today.",
                      "b": "Asked to freeze the membership for two months (travel)."})
    request_id = file_and_approve(system, "access", member["member_number"])
    done = system.wait_status(request_id)
    assert done.status == m.DONE, done.error
    thread = system.standin.thread(*system.where(f"R-{done.id}", "request"))
    (file,) = [f for msg in thread for f in msg.get("files", [])]
    files = read_aes_zip(file["path"], _passphrase(system.standin, SUPPORT))
    everything = "\n".join(v.decode() for v in files.values())
    for gone in ("Griet", "Vandamme", "477 61 52 43", f"{other['first_name']} {other['last_name']}"):
        assert gone not in everything, gone
    data = json.loads(files["data.json"])
    assert [n["body"] for n in data["tables"]["staff_notes"]] == [
        "Trained with [redacted] today.", "Asked to freeze the membership for two months (travel)."]
    assert data["tables"]["members"][0]["email"] == member["email"]  # the member's own data is all there
    summary = files["summary.html"].decode()
    assert "emergency contacts: contact name, contact phone withheld in 1 row(s)" in summary
    assert "1 passage(s) naming or reaching another person replaced with [redacted], in 1 row(s)" in summary
