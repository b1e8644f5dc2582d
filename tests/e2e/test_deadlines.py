"""Art. 12(3)/(4) end to end, on both backends, the way Slack drives it: the month runs from the club's
receipt; the scheduler's pass reminds the DPO before it ends (once per mark, escalating, from the rows:
a restart loses nothing); an extension is possible once and only within the first month; a refusal
closes the request with a notice for the club that carries the remedies."""
from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import select

from bootstrap.runtime import housekeeping_pass
from devslack.driver import wait_for
from gdpr.core import models as m
from gdpr.requests.deadlines import AT, MARKS
from gdpr.requests.duedates import add_one_month
from tests.helpers import DPO, SUPPORT, ephemerals, unique_member

UTC = dt.UTC


def _open(system, gym, *, days_ago: int, kind: str = "access") -> tuple[int, dict]:
    member = unique_member(gym)
    received = dt.date.today() - dt.timedelta(days=days_ago)
    system.slack.command(SUPPORT, f"{kind} {member['member_number']} --received {received.isoformat()}")
    card = system.card(kind=kind)
    request_id = int(card["blocks"][-1]["elements"][0]["value"])
    req = system.wait_status(request_id, (m.AWAITING_APPROVAL,), timeout=20)
    assert req.club_received_on == received and req.due_on == add_one_month(received)
    return request_id, member


def _most_urgent(due: dt.date, now: dt.datetime) -> int:
    return min(d for d in MARKS if dt.datetime.combine(due - dt.timedelta(days=d), AT) <= now)


def _thread(system, request_id: int, role: str) -> list[dict]:
    return system.standin.thread(*system.where(f"R-{request_id}", role))


def _said(system, user: str, needle: str) -> str:
    return wait_for(lambda: next((e["text"] for e in ephemerals(system.standin, user) if needle in e["text"]), None),
                    timeout=20, what=f"'{needle}' told to {user}")


def test_a_request_received_25_days_ago_gets_its_reminder_once_then_escalates(system, gym) -> None:
    request_id, _ = _open(system, gym, days_ago=25)
    now = dt.datetime.now(UTC)
    housekeeping_pass(system.services, owner="clock", now=now)
    reminders = [msg for msg in _thread(system, request_id, "approval") if "is due in" in (msg.get("text") or "")]
    mark = _most_urgent(system.services.requests.get(request_id).due_on, now)  # 7 days; 3 when received in February
    left = (system.services.requests.get(request_id).due_on - now.date()).days  # what it says is the truth, not the mark
    assert len(reminders) == 1 and f"is due in {left} day(s)" in reminders[0]["text"]
    assert reminders[0]["reply_broadcast"] is (left <= 3)  # under a week out: in the thread only
    housekeeping_pass(system.services, owner="clock", now=now + dt.timedelta(minutes=5))  # as after a restart
    assert len([msg for msg in _thread(system, request_id, "approval") if "is due in" in (msg.get("text") or "")]) == 1

    due = system.services.requests.get(request_id).due_on
    housekeeping_pass(system.services, owner="clock", now=dt.datetime.combine(due - dt.timedelta(days=2), dt.time(9), UTC))
    urgent = [msg for msg in _thread(system, request_id, "approval") if "due in 2 day(s)" in (msg.get("text") or "")]
    assert len(urgent) == 1 and urgent[0]["reply_broadcast"] is True and "<!subteam^S0DPOTEAM>" in urgent[0]["text"]
    housekeeping_pass(system.services, owner="clock", now=dt.datetime.combine(due + dt.timedelta(days=9), dt.time(9), UTC))
    late = [msg["text"] for msg in _thread(system, request_id, "approval") if "overdue" in (msg.get("text") or "")]
    assert late == [f":rotating_light: R-{request_id} is *overdue* by 9 day(s) (it was due on {due:%d %b %Y}). "
                    f"<!subteam^S0DPOTEAM> answer it, extend it (`/gdpr extend R-{request_id} <reasons>`, within the "
                    f"month) or refuse it (`/gdpr refuse R-{request_id} <ground>`)."]  # the most urgent only
    with system.services.db.session() as s:
        fired = s.execute(select(m.RequestReminder.days_before).where(
            m.RequestReminder.request_id == request_id, m.RequestReminder.status == "fired")).scalars().all()
    assert sorted(fired) == sorted({-7, 3, mark})


def test_extend_within_the_month_once_and_never_after_it(system, gym) -> None:
    late_id, _ = _open(system, gym, days_ago=40)
    system.slack.command(DPO, f"extend R-{late_id} the club needs records from its old system")
    assert "within the first month" in _said(system, DPO, "within the first month")
    assert system.services.requests.get(late_id).extended_at is None

    request_id, _ = _open(system, gym, days_ago=10, kind="erase")
    system.slack.command(SUPPORT, f"extend R-{request_id} because we are busy this month")
    assert _said(system, SUPPORT, "Only the DPO")
    was = system.services.requests.get(request_id).due_on
    system.slack.command(DPO, f"extend R-{request_id} --months 2 the member holds contracts at three clubs")
    extended = wait_for(lambda: (r := system.services.requests.get(request_id)).extended_at and r, timeout=20,
                        what="extended")
    assert extended.due_on == add_one_month(add_one_month(was)) and extended.original_due_on == was
    told = wait_for(lambda: [msg for msg in _thread(system, request_id, "request") if "extended to" in (msg.get("text") or "")],
                    timeout=20, what="extension told")
    assert "three clubs" in json.dumps(told[0]["blocks"])
    system.slack.command(DPO, f"extend R-{request_id} --months 1 and a little more please")
    assert _said(system, DPO, "already extended")
    with system.services.db.session() as s:  # the reminders moved with the date
        pending = s.execute(select(m.RequestReminder.round).where(
            m.RequestReminder.request_id == request_id, m.RequestReminder.status == "pending")).scalars().all()
    assert set(pending) == {2}


def test_a_request_received_long_ago_is_not_opened_overdue(system, gym) -> None:
    """Issue 22 (smaller): `--received 1900-01-01` opened a request overdue at once, pinging the DPO group."""
    member = unique_member(gym)
    system.slack.command(SUPPORT, f"access {member['member_number']} --received 1900-01-01")
    assert _said(system, SUPPORT, "more than 90 days ago")
    with system.services.db.session() as s:
        assert s.query(m.SubjectRequest).count() == 0


def test_a_request_that_does_not_exist_is_said_before_what_the_reasons_lack(system) -> None:
    """Issue 23, defect 8: `extend R-999 x` asked for longer reasons before saying there is no R-999."""
    system.slack.command(DPO, "extend R-999 x")
    assert _said(system, DPO, "There is no request R-999")
    system.slack.command(DPO, "refuse R-998 x")
    assert _said(system, DPO, "There is no request R-998")
    assert not any("characters" in e["text"] for e in ephemerals(system.standin, DPO))


def test_a_refusal_closes_the_request_with_a_notice_carrying_the_remedies(system, gym) -> None:
    request_id, member = _open(system, gym, days_ago=3)
    system.slack.command(DPO, f"refuse R-{request_id} the fourth identical request this month, answered on 2 Nov")
    refused = system.wait_status(request_id, (m.REFUSED,), timeout=20)
    assert refused.open_key is None and refused.reject_reason.startswith("the fourth identical")
    notice = wait_for(lambda: [msg for msg in _thread(system, request_id, "request") if "is refused" in (msg.get("text") or "")],
                      timeout=20, what="refusal notice")[0]
    text = json.dumps(notice["blocks"])
    for must in ("Art. 12(4)", "Art. 77", "Art. 79", "judicial remedy", "Gegevensbeschermingsautoriteit",
                 "the fourth identical request"):
        assert must in text, must
    assert member["email"] not in text and member["last_name"] not in text
    system.slack.command(SUPPORT, f"access {member['member_number']}")  # closed: it can be asked again
    again = system.card(request_id=request_id + 1)
    assert system.wait_status(request_id + 1, (m.AWAITING_APPROVAL,), timeout=20).subject_ref == refused.subject_ref
    assert again["ts"] != system.where(f"R-{request_id}", "approval")[1]


def test_a_refusal_after_an_extension_names_the_first_month_and_the_club_sees_both(system, gym) -> None:
    from sqlalchemy import text
    request_id, member = _open(system, gym, days_ago=3)
    first = system.services.requests.get(request_id).due_on
    system.slack.command(DPO, f"extend R-{request_id} --months 1 the member holds contracts at three clubs")
    wait_for(lambda: system.services.requests.get(request_id).extended_at, timeout=20, what="extended")
    system.slack.command(DPO, f"refuse R-{request_id} the fourth identical request this month")
    refused = system.wait_status(request_id, (m.REFUSED,), timeout=20)
    notice = system.services.request_deadlines.refusal_notice(refused)
    assert f"({first:%d %B %Y})" in notice and f"{refused.due_on:%d %B %Y}" not in notice  # Art. 12(4): one month
    with gym.connect() as conn:
        club = conn.execute(text("SELECT c.code FROM clubs c JOIN members m ON m.club_id = c.id WHERE m.id = :i"),
                            {"i": member["id"]}).scalar()
    seen = system.services.club_api.status(club=club, request_id=request_id)
    assert seen.original_due_on == first and "three clubs" in (seen.extension_reasons or "")
    assert seen.refusal_ground.startswith("the fourth identical") and seen.refusal_notice == notice
