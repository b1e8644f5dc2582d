"""Breaches end to end, on both backends, with a real SMTP server on loopback: the modal, the register and
the alert with its countdown, Notify clubs (double click), members told in batches, the encrypted register,
close-out; reminders across a restart on a controllable clock; SMTP down; refusals."""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from sqlalchemy import delete as sa_delete
from sqlalchemy import select, text

from bootstrap.runtime import housekeeping_pass
from devslack.driver import wait_for
from gdpr.breaches.targets import MemberTarget
from gdpr.core import models as m
from gdpr.core.crypto import read_aes_zip
from tests.conftest import ROOT, mailing_system, make_system
from tests.helpers import DPO, STRANGER, SUPPORT, block_texts, ephemerals, wait_ephemeral
from tests.smtp import SmtpServer

BREACHES = "C0BREACHES"
CLUBS = {"antwerp-north": "1", "ghent-centre": "2", "bruges": "5"}  # bruges has no GDPR contact
LEUVEN = "4"


@pytest.fixture
def breach_config(tmp_path: Path) -> Path:
    """Member notices in batches of 20, so a few batches go by."""
    import shutil
    dest = tmp_path / "config"
    shutil.copytree(ROOT / "config", dest)
    path = dest / "breaches.yaml"
    path.write_text(path.read_text().replace("member_batch_size: 200", "member_batch_size: 20"))
    return dest


@pytest.fixture(params=["embedded", "postgres+redis"])
def desk(request: pytest.FixtureRequest, standin, tmp_path: Path, smtp: SmtpServer, breach_config: Path):
    yield from mailing_system(request, standin, tmp_path, smtp, breach_config)


def facts(*, aware_at: dt.datetime | None = None, clubs: list[str] | None = None, **override: object) -> dict:
    now = dt.datetime.now(dt.UTC)
    aware = aware_at or now - dt.timedelta(hours=1)
    opts = lambda values: {"type": "checkboxes", "selected_options": [{"value": v} for v in values]}  # noqa: E731
    values = {
        "what": "A staff laptop with an unencrypted member export was stolen from a car.",
        "detected": {"type": "datetimepicker", "selected_date_time": int((aware - dt.timedelta(hours=2)).timestamp())},
        "aware": {"type": "datetimepicker", "selected_date_time": int(aware.timestamp())},
        "kinds": opts(["confidentiality"]), "data": opts(["identity", "contact", "financial"]),
        "subjects": opts(["members"]), "people": {"type": "number_input", "value": "420"},
        "records": {"type": "number_input", "value": "1300"},
        "clubs": opts(list(CLUBS.values()) if clubs is None else clubs),
        "consequences": "Phishing using members' names and emails; misuse of bank account numbers.",
        "measures": "Laptop wiped remotely, passwords reset, police report filed, exports now encrypted.",
        "contact": "Data Protection Officer, dpo@gymplatform.example, +32 2 555 01 00",
    }
    values.update(override)
    return values


def report(system, user: str = SUPPORT, **kw: object) -> int:
    system.slack.command(user, "breach")
    modal = wait_for(lambda: system.standin.calls_to("views.open"), timeout=10, what="the breach modal")[-1]
    view = modal.args["view"]
    assert (json.loads(view) if isinstance(view, str) else view)["callback_id"] == "breach.report"
    before = len(system.services.breaches.all())
    system.slack.submit_view(user, "breach.report", "", facts(**kw))
    return wait_for(lambda: len(b := system.services.breaches.all()) > before
                    and system.services.shown.where(f"B-{b[-1].id}", "alert") and b[-1].id,
                    timeout=20, what="the breach alert")


def alert(system, breach_id: int) -> str:
    _, ts = system.where(f"B-{breach_id}", "alert")
    return block_texts(next(msg for msg in system.standin.channel(BREACHES) if msg["ts"] == ts))


def click(system, user: str, action: str, value: str, breach_id: int) -> None:
    system.slack.click(user, action, value, *system.where(f"B-{breach_id}", "alert"))


def test_report_notify_tell_members_export_and_close(desk, smtp: SmtpServer) -> None:
    # Required fields are checked inside the modal.
    desk.slack.command(SUPPORT, "breach")
    wait_for(lambda: desk.standin.calls_to("views.open"), timeout=10, what="the modal")
    bad = desk.slack.submit_view(SUPPORT, "breach.report", "", facts(what="", people={"type": "number_input", "value": "x"},
                                                                      clubs=[]))
    assert bad.json["response_action"] == "errors" and {"what", "people", "clubs"} <= set(bad.json["errors"])
    assert desk.services.breaches.all() == []

    breach_id = report(desk)
    shown = alert(desk, breach_id)
    assert f"Personal data breach B-{breach_id}" in shown and "72-hour clock: 71 h left" in shown
    assert "bruges: :warning: no GDPR contact" in shown  # flagged before anything is sent
    desk.slack.command(DPO, "breach list")
    assert f"B-{breach_id} · confidentiality · 3 club(s)" in block_texts(wait_ephemeral(desk.standin, DPO))

    click(desk, DPO, "breach.notify", str(breach_id), breach_id)
    click(desk, DPO, "breach.notify", str(breach_id), breach_id)  # a double click
    wait_for(lambda: [n.status for n in desk.services.breaches.notices(breach_id)].count("sent") == 2, timeout=60,
             what="both club notices sent")
    assert len(desk.services.breaches.notices(breach_id)) == 3  # one per club, bruges recorded as no contact
    assert len(smtp.received) == 2
    for address in ("privacy@antwerp-north.example", "dpo@ghent-centre.example"):
        (msg,) = smtp.to(address)
        body = msg.get_payload(decode=True).decode()
        for part in ("(a) NATURE OF THE BREACH", "approximately 420 people", "approximately 1300 records",
                     "(b) CONTACT POINT", "dpo@gymplatform.example", "(c) LIKELY CONSEQUENCES", "Phishing",
                     "(d) MEASURES TAKEN OR PROPOSED", "Laptop wiped"):
            assert part in body
        assert f"B-{breach_id}" in msg["Subject"] and msg["Date"]  # RFC 5322 wants a Date
        assert "Gym Platform NV" in body  # the processor's one name, as in exports
    shown = wait_for(lambda: "antwerp-north: :white_check_mark: notified" in (t := alert(desk, breach_id)) and t,
                     timeout=20, what="the alert to show the clubs notified")
    assert "bruges: :warning: no GDPR contact" in shown
    message = next(x for x in desk.standin.channel(BREACHES) if x["ts"] == desk.where(f"B-{breach_id}", "alert")[1])
    clubs_line = next(b["text"] for b in message["blocks"] if b.get("text", {}).get("text", "").startswith("Clubs:"))
    assert clubs_line["type"] == "plain_text" and clubs_line["emoji"] is True  # :warning: renders, nothing else does
    context = [e for b in message["blocks"] if b["type"] == "context" for e in b["elements"]]
    assert {"type": "mrkdwn", "text": f"reported by <@{SUPPORT}>"} in context  # a mention, not a raw id

    # High risk: members are told only on the clubs' instruction, only those the DPO names, after a preview.
    with desk.services.system.engine.connect() as conn:
        named = conn.execute(text("SELECT member_number FROM members WHERE club_id IN (1, 2) AND email IS NOT NULL "
                                  "ORDER BY id LIMIT 5")).scalars().all()
        bruges = conn.execute(text("SELECT member_number FROM members WHERE club_id = 5 AND email IS NOT NULL "
                                   "ORDER BY id LIMIT 1")).scalar_one()  # bruges gave no instruction
        everyone = conn.execute(text("SELECT COUNT(*) FROM members WHERE club_id IN (1, 2, 5)")).scalar_one()
    click(desk, DPO, "breach.assess", f"{breach_id}:high", breach_id)
    notify = {"type": "radio_buttons", "selected_option": {"value": "notify"}}
    reasoning = "Bank account numbers and emails together: a high risk of fraud for members."
    instructed = {"type": "checkboxes", "selected_options": [{"value": CLUBS["antwerp-north"]}, {"value": CLUBS["ghent-centre"]}]}
    refused = desk.slack.submit_view(DPO, "breach.assess", f"{breach_id}:high", {
        "members": notify, "reasoning": reasoning, "numbers": "\n".join(named)})
    assert "instructed" in refused.json["errors"]  # no club instruction, no member notices
    refused = desk.slack.submit_view(DPO, "breach.assess", f"{breach_id}:high", {
        "members": notify, "reasoning": reasoning, "instructed": instructed})
    assert "numbers" in refused.json["errors"]  # nobody named: never 'everyone' by default
    refused = desk.slack.submit_view(DPO, "breach.assess", f"{breach_id}:high", {
        "members": notify, "reasoning": reasoning, "instructed": instructed, "numbers": f"{named[0]}, jan@example.com"})
    assert "not a member number" in refused.json["errors"]["numbers"] and "jan@" not in json.dumps(refused.json)
    ok = desk.slack.submit_view(DPO, "breach.assess", f"{breach_id}:high", {
        "members": notify, "reasoning": reasoning, "instructed": instructed, "numbers": "\n".join(named + [bruges])})
    assert ok.status == 200 and not ok.body
    breach = desk.services.breaches.get(breach_id)
    preview = wait_for(lambda: [r for r in desk.standin.thread(*desk.where(f"B-{breach.id}", "alert"))
                                if "Art. 34 preview" in (r.get("text") or "")], timeout=20, what="the preview")[0]
    assert "5 member(s)" in block_texts(preview) and "antwerp-north, ghent-centre" in block_texts(preview)
    assert len(smtp.received) == 2 and desk.services.breaches.get(breach_id).members_status == "previewed"
    desk.slack.click(DPO, "breach.members_send", str(breach_id), preview["channel"], preview["ts"])
    desk.slack.click(DPO, "breach.members_send", str(breach_id), preview["channel"], preview["ts"])  # a double click
    breach = wait_for(lambda: (b := desk.services.breaches.get(breach_id)).members_status == "done" and b,
                      timeout=120, what="the member notices")
    assert breach.members_done == breach.members_total == 5 and everyone > 40
    assert len(smtp.received) == 2 + 5 and breach.members_instructed == [CLUBS["antwerp-north"], CLUBS["ghent-centre"]]
    progress = wait_for(lambda: [r for r in desk.standin.thread(*desk.where(f"B-{breach.id}", "alert"))
                                 if "Member notices" in (r.get("text") or "") and "done" in r["text"]],
                        timeout=20, what="the progress message at 100%")
    assert "100%" in progress[0]["text"] and "5 / 5" in progress[0]["text"]
    member_mail = next(msg for rcpts, msg in smtp.received if rcpts[0].endswith(("gmail.com", "telenet.be",
                                                                                   "proximus.be", "outlook.com")))
    assert "What you can do to protect yourself" in member_mail.get_payload(decode=True).decode()

    # The whole register, encrypted, the passphrase by DM only.
    desk.slack.command(DPO, "breach register")
    upload = wait_for(lambda: desk.standin.uploaded_files(), timeout=30, what="the register upload")[0]
    dm = wait_for(lambda: [msg for c, msgs in desk.standin.messages.items() if c.startswith("D")
                           for msg in msgs if "breach register" in (msg.get("text") or "")], timeout=10, what="the DM")
    passphrase = dm[0]["text"].split("`")[-2]
    assert passphrase not in desk.standin.all_text().replace(dm[0]["text"], "")
    register = json.loads(read_aes_zip(Path(upload["path"]), passphrase)["register.json"])
    (entry,) = register["breaches"]
    assert entry["ref"] == f"B-{breach_id}" and entry["risk"] == "high" and entry["members_decision"] == "notify"
    assert {"reported", "alerted", "notify", "notice_sent", "risk", "members", "members_told"} <= {
        s["step"] for s in entry["timeline"]}

    # Close-out needs the remedial actions and the reasoning; the summary goes to the channel.
    desk.slack.command(DPO, f"breach close B-{breach_id}")
    desk.slack.submit_view(DPO, "breach.close", str(breach_id), {
        "remedial": "Full-disk encryption enforced on all staff laptops.",
        "reasoning": "Clubs and members told because the risk of fraud was high."})
    closed = wait_for(lambda: (b := desk.services.breaches.get(breach_id)).status == m.BREACH_CLOSED and b, timeout=20,
                      what="the close-out")
    assert closed.remedial_actions.startswith("Full-disk")
    summary = wait_for(lambda: [r for r in desk.standin.thread(*desk.where(f"B-{closed.id}", "alert"))
                                if "closed by" in (r.get("text") or "")], timeout=20, what="the closing summary")
    assert "Clubs notified: 2 of 3" in summary[0]["text"]
    sections = [b["text"] for b in summary[0]["blocks"]]
    assert all(t["type"] == "mrkdwn" for t in sections) and f"<@{DPO}>" in sections[0]["text"]  # the mention drawn
    desk.slack.command(DPO, "breach list")  # the register's lines draw their clock's emoji
    listed = wait_for(lambda: next((e for e in ephemerals(desk.standin, DPO) if "Breach register" in
                                    (e.get("text") or "")), None), timeout=20, what="the register")
    lines = [b["text"] for b in listed["blocks"] if b["type"] == "section" and f"B-{breach_id}" in b["text"]["text"]]
    assert lines and all(t["type"] == "mrkdwn" or t.get("emoji") for t in lines)


def test_reminders_fire_at_their_marks_across_a_restart(sqlite_url, standin, tmp_path: Path, smtp) -> None:
    aware = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(minutes=30)
    first = make_system("embedded", sqlite_url, standin, tmp_path, None, smtp_url=smtp.url)
    try:
        breach_id = report(first, aware_at=aware)
        reminders = lambda: [r for r in first.standin.channel(BREACHES) if "hours since we became aware" in  # noqa: E731
                             block_texts(r)]
        housekeeping_pass(first.services, owner="sched-1", now=aware + dt.timedelta(hours=23, minutes=50))
        assert reminders() == []
        housekeeping_pass(first.services, owner="sched-1", now=aware + dt.timedelta(hours=24, minutes=1))
        assert len(reminders()) == 1 and "24 hours since" in block_texts(reminders()[0])
        assert "<!subteam^S0DPOTEAM>" in block_texts(reminders()[0])
    finally:
        first.stop()
    # The bot is restarted at hour 47; the 48-hour reminder still fires.
    second = make_system("embedded", sqlite_url, standin, tmp_path, None, smtp_url=smtp.url)
    try:
        housekeeping_pass(second.services, owner="sched-2", now=aware + dt.timedelta(hours=47))
        assert len(reminders()) == 1
        assert "72-hour clock: 25 h left" in alert(second, breach_id)  # the countdown moves with the clock
        housekeeping_pass(second.services, owner="sched-2", now=aware + dt.timedelta(hours=48, minutes=1))
        assert len(reminders()) == 2 and "48 hours since" in block_texts(reminders()[1])
        assert "24 h left" in block_texts(reminders()[1])
        # Snoozed, it comes back after snooze_minutes; it never silently lapses.
        snooze = reminders()[1]["blocks"][-1]["elements"][0]["value"]
        second.slack.click(DPO, "breach.snooze", snooze, BREACHES, reminders()[1]["ts"])
        wait_for(lambda: [e for e in second.services.breaches.events(breach_id) if e.kind == "snoozed"], timeout=10,
                 what="the snooze")
        with second.services.db.session() as s:
            due = s.get(m.BreachReminder, int(snooze)).due_at
        housekeeping_pass(second.services, owner="sched-2", now=_aware(due) - dt.timedelta(minutes=1))
        assert len(reminders()) == 2
        housekeeping_pass(second.services, owner="sched-2", now=_aware(due) + dt.timedelta(minutes=1))
        assert len(reminders()) == 3 and "48 hours since" in block_texts(reminders()[2])
    finally:
        second.stop()


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def test_smtp_down_keeps_notices_in_the_outbox_until_it_is_back(pg_url, redis_url, standin, tmp_path: Path) -> None:
    smtp = SmtpServer()  # not started: nothing listens on its port yet
    system = make_system("postgres+redis", pg_url, standin, tmp_path, redis_url, smtp_url=smtp.url,
                         breach_notice_backoff_seconds=0.5)
    try:
        system.start_worker()
        breach_id = report(system, clubs=[CLUBS["antwerp-north"], CLUBS["ghent-centre"]])
        click(system, DPO, "breach.notify", str(breach_id), breach_id)
        wait_for(lambda: {n.status for n in system.services.breaches.notices(breach_id)} == {"retrying"}, timeout=30,
                 what="the notices to wait in the outbox")
        assert "waiting in the outbox" in wait_for(lambda: "outbox" in (t := alert(system, breach_id)) and t, timeout=20)
        stuck = system.services.breaches.notices(breach_id)[0].id  # as a worker killed mid-send leaves it
        with system.services.db.session() as s:
            s.execute(text("UPDATE breach_notices SET status = 'sending', next_attempt_at = :t WHERE id = :i"),
                      {"t": dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1), "i": stuck})
        smtp.start()
        try:
            wait_for(lambda: system.services.reconcile() is not None and
                     {n.status for n in system.services.breaches.notices(breach_id)} == {"sent"}, timeout=60,
                     what="the outbox to drain")
            assert len(smtp.received) == 2  # each club once, nothing dropped
        finally:
            smtp.stop()
    finally:
        system.stop()


def test_without_smtp_the_embedded_default_writes_eml_files(sqlite_url, standin, tmp_path: Path) -> None:
    import shutil
    config = tmp_path / "config"
    shutil.copytree(ROOT / "config", config)
    path = config / "breaches.yaml"
    path.write_text(path.read_text().replace("dedicated_channel: false", "dedicated_channel: true"))
    system = make_system("embedded", sqlite_url, standin, tmp_path, None, config_dir=config)
    try:
        breach_id = report(system, clubs=[CLUBS["ghent-centre"]])
        room = f"C0BREACHB{breach_id}"  # a channel of its own, with the reporter and the DPO group in it
        wait_for(lambda: standin.channel(room), timeout=10, what="the breach's own channel")
        assert standin.members[room] == {SUPPORT, DPO} and "Response channel" in standin.channel(room)[0]["text"]
        click(system, DPO, "breach.notify", str(breach_id), breach_id)
        files = wait_for(lambda: list((tmp_path / "outbox").glob("*.eml")), timeout=30, what="an .eml file")
        assert len(files) == 1 and "(d) MEASURES TAKEN OR PROPOSED" in files[0].read_text()
    finally:
        system.stop()


def test_refusals_are_answered_and_audited(desk) -> None:
    desk.slack.command(STRANGER, "breach")
    assert "not allowed" in wait_ephemeral(desk.standin, STRANGER)["text"]
    assert desk.standin.calls_to("views.open") == []
    breach_id = report(desk)
    click(desk, SUPPORT, "breach.notify", str(breach_id), breach_id)  # support may report, not manage
    assert "Only the DPO" in wait_for(lambda: [e for e in ephemerals(desk.standin, SUPPORT) if "DPO" in e["text"]],
                                      timeout=10, what="the refusal")[0]["text"]
    assert desk.services.breaches.notices(breach_id) == []
    with desk.services.db.session() as s:
        denied = [json.loads(d)["permission"] for (d,) in s.execute(text(
            "SELECT details FROM audit_events WHERE action = 'access.denied'"))]
    assert denied == ["breach.report", "breach.manage"]


def test_a_late_notice_carries_its_reasons_and_an_update_sends_a_follow_up(sqlite_url, standin, tmp_path: Path,
                                                                             smtp: SmtpServer) -> None:
    system = make_system("embedded", sqlite_url, standin, tmp_path, None, smtp_url=smtp.url)
    try:
        aware = dt.datetime.now(dt.UTC) - dt.timedelta(hours=30)  # past late_after_hours (24)
        breach_id = report(system, aware_at=aware, clubs=[CLUBS["ghent-centre"]])
        opened = len(system.standin.calls_to("views.open"))
        click(system, DPO, "breach.notify", str(breach_id), breach_id)
        late = wait_for(lambda: system.standin.calls_to("views.open")[opened:], timeout=10, what="the late modal")[0]
        view = late.args["view"]
        assert (json.loads(view) if isinstance(view, str) else view)["callback_id"] == "breach.late"
        assert system.services.breaches.notices(breach_id) == []  # nothing is sent without the reasons
        system.slack.submit_view(DPO, "breach.late", str(breach_id),
                                 {"reason": "The theft was reported to us by the club's staff only on Monday."})
        (first,) = wait_for(lambda: smtp.to("dpo@ghent-centre.example"), timeout=30, what="the late notice")
        assert "REASONS FOR THE DELAY" in first.get_payload(decode=True).decode()

        system.slack.command(DPO, f"breach update B-{breach_id}")
        system.slack.submit_view(DPO, "breach.update", str(breach_id), {
            "what": "Two laptops were stolen, not one; both held member exports.",
            "people": {"type": "number_input", "value": "900"}, "records": {"type": "number_input", "value": "2600"},
            "consequences": "Phishing and fraud attempts against the members concerned.",
            "measures": "Both laptops wiped remotely; exports now encrypted at rest.",
            "contact": "Data Protection Officer, dpo@gymplatform.example"})
        mails = wait_for(lambda: len(m_ := smtp.to("dpo@ghent-centre.example")) == 2 and m_, timeout=30,
                         what="the follow-up notice")
        body = mails[1].get_payload(decode=True).decode()
        assert mails[1]["Subject"].startswith("Follow-up") and "FOLLOW-UP (2)" in body
        assert "Two laptops" in body and "approximately 900 people" in body
        assert [n.phase for n in system.services.breaches.notices(breach_id)] == [1, 2]

        # Not a high risk to people here: the reasoning is on record, no member is mailed.
        click(system, DPO, "breach.assess", f"{breach_id}:high", breach_id)
        system.slack.submit_view(DPO, "breach.assess", f"{breach_id}:high", {
            "members": {"type": "radio_buttons", "selected_option": {"value": "exempt"}},
            "reasoning": "Art. 34(3)(a): the exports on both laptops were encrypted and the keys are safe."})
        exempt = wait_for(lambda: (b := system.services.breaches.get(breach_id)).members_decision and b, timeout=20,
                          what="the members decision")
        assert exempt.members_decision == "exempt" and exempt.members_reasoning.startswith("Art. 34(3)(a)")
        assert "Members not told (Art. 34(3), the clubs' exemption)" in wait_for(lambda: "Art. 34(3)" in (t := alert(system, breach_id)) and t,
                                                           timeout=20)
        assert len(smtp.received) == 2  # the two club notices only

        system.slack.command(DPO, f"breach show B-{breach_id}")
        shown = block_texts(wait_ephemeral(system.standin, DPO))
        assert "timeline steps 1–" in shown and "update: Facts updated" in shown and "About 900 people" in shown
        system.slack.command(DPO, "breach show B-999")
        assert "no breach B-999" in wait_ephemeral(system.standin, DPO, 2)["text"]
        system.slack.command(DPO, "breach show twelve")
        assert "not a breach number" in wait_ephemeral(system.standin, DPO, 3)["text"]
    finally:
        system.stop()


def test_a_member_notice_job_that_never_ran_is_sent_again_by_the_reconciler(sqlite_url, standin, tmp_path: Path,
                                                                           smtp: SmtpServer, breach_config: Path) -> None:
    system = make_system("embedded", sqlite_url, standin, tmp_path, None, smtp_url=smtp.url, config_dir=breach_config)
    try:
        breach_id = report(system, clubs=[LEUVEN])
        dpo = system.services.policy.actor(DPO, frozenset({"S0DPOTEAM"}))
        with system.services.system.engine.connect() as conn:
            numbers = conn.execute(text("SELECT member_number FROM members WHERE club_id = 4 AND email IS NOT NULL "
                                        "ORDER BY id LIMIT 3")).scalars().all()
        system.services.breaches.decide_members(breach_id=breach_id, actor=dpo, notify=True,
                                                reasoning="High risk; the job's enqueue is lost (Redis down).",
                                                target=system.services.breach_mail.resolve(
                                                    MemberTarget(numbers=tuple(numbers))), instructed=[LEUVEN])
        system.services.breaches.send_members(breach_id=breach_id, actor=dpo, count=3)
        assert system.services.breaches.get(breach_id).members_status == "queued" and smtp.received == []
        with system.services.db.session() as s:  # quiet for longer than REQUEUE_AFTER_SECONDS
            s.execute(text("UPDATE breaches SET members_updated_at = :t"),
                      {"t": dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)})
        system.services.reconcile()
        done = wait_for(lambda: (b := system.services.breaches.get(breach_id)).members_status == "done" and b,
                        timeout=60, what="the member notices")
        assert done.members_done == done.members_total == len(smtp.received) == 3
    finally:
        system.stop()


def test_no_instruction_from_a_club_is_recorded_apart_from_the_exemption(sqlite_url, standin, tmp_path: Path) -> None:
    system = make_system("embedded", sqlite_url, standin, tmp_path, None)
    try:
        dpo = system.services.policy.actor(DPO, frozenset({"S0DPOTEAM"}))
        first, second = report(system, clubs=[LEUVEN]), report(system, clubs=[LEUVEN])
        system.services.breach_desk.assess(actor=dpo, breach_id=first, risk="high", members="uninstructed",
                                           reasoning="Leuven was asked on 3 Dec and has not instructed us.")
        system.services.breach_desk.assess(actor=dpo, breach_id=second, risk="high", members="exempt",
                                           reasoning="The data was encrypted: Art. 34(3)(a), Leuven's decision.")
        told = {b: [e.text for e in system.services.breaches.events(b) if e.kind == "members"] for b in (first, second)}
        assert system.services.breaches.get(first).members_decision == "uninstructed"
        assert "no affected club instructed" in told[first][0] and "34(3)" not in told[first][0]
        assert system.services.breaches.get(second).members_decision == "exempt" and "34(3)" in told[second][0]
        assert "no club instructed it" in alert(system, first) and "exemption" in alert(system, second)
    finally:
        system.stop()


def test_a_reminder_whose_alert_is_not_posted_yet_stays_due_until_it_is_shown(desk) -> None:
    """Issue 23, defect 2: the scheduler ran while the alert was still being posted; the reminder was marked
    fired and the timeline said "escalated", but nothing was posted. Now it waits for the alert."""
    aware = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(minutes=30)
    breach_id = report(desk, aware_at=aware)
    alert_at = desk.services.shown.where(f"B-{breach_id}", "alert")
    assert alert_at is not None
    with desk.services.db.session() as s:  # the alert is not posted yet, as while chat.postMessage runs
        s.execute(sa_delete(m.ShownMessage).where(m.ShownMessage.ref == f"B-{breach_id}", m.ShownMessage.role == "alert"))
    reminders = lambda: [r for r in desk.standin.channel(BREACHES) if "hours since we became aware" in  # noqa: E731
                         block_texts(r)]
    housekeeping_pass(desk.services, owner="sched", now=aware + dt.timedelta(hours=24, minutes=1))
    with desk.services.db.session() as s:
        statuses = [r.status for r in s.execute(select(m.BreachReminder).where(
            m.BreachReminder.breach_id == breach_id, m.BreachReminder.mark_hours == 24)).scalars()]
    assert statuses == ["pending"] and reminders() == []  # not fired: nothing was shown
    assert not [e for e in desk.services.breaches.events(breach_id) if e.kind == "reminder"]  # nor "escalated"
    desk.services.shown.remember(f"B-{breach_id}", "alert", alert_at)  # the alert's post completed
    housekeeping_pass(desk.services, owner="sched", now=aware + dt.timedelta(hours=24, minutes=2))
    assert len(reminders()) == 1 and "24 hours since" in block_texts(reminders()[0])


def test_the_breach_file_for_the_authority_is_signed_encrypted_and_complete(desk, smtp: SmtpServer) -> None:
    """`/gdpr breach file B-n` (issue 26): the register entry, the timeline, every club notice with the
    Message-ID it went out with, the members told (how many, when), the clubs' instructions and each decision
    with its reasons, signed (breach-file key) in an AES-256 zip whose passphrase reaches the DPO only; a
    changed byte fails the check; only the DPO may ask; no member's identifier is in it."""
    from gdpr.requests.certificates import verify

    breach_id = report(desk)
    click(desk, DPO, "breach.notify", str(breach_id), breach_id)
    wait_for(lambda: len(smtp.received) == 2, timeout=60, what="the club notices")
    with desk.services.system.engine.connect() as conn:
        named = conn.execute(text("SELECT member_number FROM members WHERE club_id IN (1, 2) AND email IS NOT NULL "
                                  "ORDER BY id LIMIT 3")).scalars().all()
        identifiers = [v for row in conn.execute(text(
            "SELECT member_number, email, last_name FROM members WHERE member_number IN ('"
            + "', '".join(named) + "')")) for v in row]
    click(desk, DPO, "breach.assess", f"{breach_id}:high", breach_id)
    instructed = {"type": "checkboxes", "selected_options": [{"value": CLUBS["antwerp-north"]},
                                                             {"value": CLUBS["ghent-centre"]}]}
    desk.slack.submit_view(DPO, "breach.assess", f"{breach_id}:high", {
        "members": {"type": "radio_buttons", "selected_option": {"value": "notify"}},
        "reasoning": "Bank account numbers and emails together: a high risk of fraud for members.",
        "instructed": instructed, "numbers": "\n".join(named)})
    preview = wait_for(lambda: [r for r in desk.standin.thread(*desk.where(f"B-{breach_id}", "alert"))
                                if "Art. 34 preview" in (r.get("text") or "")], timeout=20, what="the preview")[0]
    desk.slack.click(DPO, "breach.members_send", str(breach_id), preview["channel"], preview["ts"])
    wait_for(lambda: desk.services.breaches.get(breach_id).members_status == "done", timeout=120, what="members told")
    desk.slack.command(DPO, f"breach close B-{breach_id}")
    desk.slack.submit_view(DPO, "breach.close", str(breach_id), {
        "remedial": "Full-disk encryption enforced on all staff laptops.",
        "reasoning": "Clubs and members told because the risk of fraud was high."})
    wait_for(lambda: desk.services.breaches.get(breach_id).status == m.BREACH_CLOSED, timeout=20, what="closed")

    desk.slack.command(SUPPORT, f"breach file B-{breach_id}")  # support staff: not theirs to hand to the authority
    assert "Only the DPO" in wait_ephemeral(desk.standin, SUPPORT)["text"]
    assert not desk.standin.uploaded_files()
    desk.slack.command(DPO, f"breach file B-{breach_id}")
    upload = wait_for(lambda: desk.standin.uploaded_files(), timeout=30, what="the breach file")[0]
    dm = wait_for(lambda: [msg for c, msgs in desk.standin.messages.items() if c.startswith("D")
                           for msg in msgs if f"breach file B-{breach_id}" in (msg.get("text") or "")],
                  timeout=10, what="the DM")
    passphrase = dm[0]["text"].split("`")[-2]
    assert passphrase not in desk.standin.all_text().replace(dm[0]["text"], "")
    assert f"B-{breach_id}" in upload["name"] and not any(i in upload["name"] for i in identifiers)
    (raw,) = read_aes_zip(Path(upload["path"]), passphrase).values()

    keys = desk.services.ring.public_keys("breach-file")
    ok, said = verify(raw, keys)
    assert ok and said.startswith(f"valid: B-{breach_id} (breach file, Art. 33(5) GDPR)"), said
    assert not verify(raw, desk.services.ring.public_keys("request-certificate"))[0]  # another purpose's key
    for at in range(0, len(raw) - 1, max(1, len(raw) // 60)):  # any byte changed: refused
        changed = raw[:at] + bytes([raw[at] ^ 0x01]) + raw[at + 1:]
        assert not verify(changed, keys)[0], at

    from tests.e2e.test_certificates import _verify_cli
    path = desk.tmp / f"B-{breach_id}.json"
    path.write_bytes(raw)
    cli = _verify_cli(path, keys[0])
    assert cli.returncode == 0 and cli.stdout.startswith(f"valid: B-{breach_id} (breach file"), cli.stdout + cli.stderr

    doc = json.loads(raw)["statement"]
    text_of = raw.decode()
    assert not [i for i in identifiers if str(i) in text_of]  # never who the members are
    assert doc["register_entry"]["ref"] == f"B-{breach_id}" and doc["register_entry"]["risk"] == "high"
    assert doc["register_entry"]["description"].startswith("A staff laptop")
    steps = [s["step"] for s in doc["timeline"]]
    assert {"reported", "notify", "notice_sent", "risk", "members", "members_send", "members_told", "closed"} <= set(steps)
    sent = {n["club"]: n for n in doc["notices_to_clubs"] if n["status"] == "sent"}
    assert set(sent) == {"antwerp-north", "ghent-centre"}
    assert [n["club"] for n in doc["notices_to_clubs"] if n["status"] != "sent"] == ["bruges"]  # no GDPR contact
    for code, address in (("antwerp-north", "privacy@antwerp-north.example"), ("ghent-centre", "dpo@ghent-centre.example")):
        (mail,) = smtp.to(address)
        received = "".join(mail["Message-ID"].split())  # a long Message-ID arrives folded onto a second line
        assert sent[code]["message_id"] == received and sent[code]["sent_at"]  # the mail that carried it
    told = doc["members_told"]
    assert told["decision"] == "notify" and told["sent"] == told["total"] == 3
    assert told["first_sent_at"] <= told["last_sent_at"] and told["approved_at"]
    assert [c["club"] for c in doc["clubs_instructions"]["members_notified_on_the_instruction_of"]] == [
        "antwerp-north", "ghent-centre"]
    decisions = {d["decision"]: d for d in doc["decisions"]}
    assert decisions["members"]["value"] == "notify" and "high risk of fraud" in decisions["members"]["reasons"]
    assert decisions["close"]["value"].startswith("Full-disk") and "risk of fraud" in decisions["close"]["reasons"]
    assert decisions["risk"]["value"] == "high"
