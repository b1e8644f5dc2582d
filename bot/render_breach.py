"""Block Kit for breaches: the report modal, the alert with its countdown and per-club status, reminders."""
from __future__ import annotations

import datetime as dt

from bot.render import mrkdwn, plain
from gdpr.breaches.config import KINDS, SUBJECT_CATEGORIES
from gdpr.breaches.service import REF
from gdpr.core import models as m
from gdpr.core.datamap import CATEGORIES

NOTICE_LABEL = {"pending": ":hourglass: queued", "sending": ":arrow_right: sending", "retrying": ":repeat: waiting in the outbox (mail not accepted), retrying",
                "sent": ":white_check_mark: notified", "no_contact": ":warning: no GDPR contact: tell this club by other means"}


def emoji_text(text: str) -> dict:
    """Plain text whose :emoji: codes Slack renders; still never parsed as mrkdwn or mentions."""
    return {"type": "plain_text", "text": text[:2000] or " ", "emoji": True}


def _option(value: str, label: str) -> dict:
    return {"text": plain(label[:75]), "value": value}


def _input(block: str, label: str, element: dict, *, optional: bool = False) -> dict:
    return {"type": "input", "block_id": block, "label": plain(label), "element": {**element, "action_id": "value"},
            "optional": optional}


def _text(multiline: bool = True, initial: str | None = None) -> dict:
    el = {"type": "plain_text_input", "multiline": multiline, "max_length": 3000}
    if initial:
        el["initial_value"] = initial
    return el


def report_modal(clubs: list, contact: str, *, callback_id: str = "breach.report", metadata: str = "",
                 title: str = "Report a breach", facts: m.Breach | None = None) -> dict:
    """The Art. 33(3) facts, required fields validated on submit (response_action: errors)."""
    now = int(dt.datetime.now(dt.UTC).timestamp())
    blocks = [
        _input("what", "What happened", _text(initial=facts.description if facts else None)),
        _input("detected", "Detected at", {"type": "datetimepicker", "initial_date_time": now}),
        _input("aware", "We became aware at", {"type": "datetimepicker", "initial_date_time": now}),
        _input("kinds", "Kind of breach", {"type": "checkboxes", "options": [_option(k, v) for k, v in KINDS.items()]}),
        _input("data", "Categories of personal data", {"type": "multi_static_select", "options":
                                                         [_option(c, c.replace("_", " ")) for c in sorted(CATEGORIES)]}),
        _input("subjects", "Categories of people", {"type": "checkboxes", "options":
                                                     [_option(k, v) for k, v in SUBJECT_CATEGORIES.items()]}),
        _input("people", "Approximate number of people", {"type": "number_input", "is_decimal_allowed": False}),
        _input("records", "Approximate number of records", {"type": "number_input", "is_decimal_allowed": False}),
        _input("clubs", "Affected clubs", {"type": "multi_static_select", "options":
                                           [_option(c.key, f"{c.code} — {c.name}") for c in clubs]}),
        _input("consequences", "Likely consequences", _text(initial=facts.consequences if facts else None)),
        _input("measures", "Measures taken or proposed", _text(initial=facts.measures if facts else None)),
        _input("contact", "Contact point", _text(False, facts.contact if facts else contact)),
    ]
    if facts is not None:  # an update keeps the dates, kinds and clubs of the report
        blocks = [b for b in blocks if b["block_id"] in ("what", "people", "records", "consequences", "measures",
                                                         "contact")]
    return {"type": "modal", "callback_id": callback_id, "private_metadata": metadata, "title": plain(title),
            "submit": plain("Submit"), "close": plain("Cancel"), "blocks": blocks}


def reason_blocks(question: str, *, block: str = "reason") -> dict:
    return _input(block, question, _text())


def modal(callback_id: str, metadata: str, title: str, blocks: list[dict]) -> dict:
    return {"type": "modal", "callback_id": callback_id, "private_metadata": metadata, "title": plain(title[:24]),
            "submit": plain("Submit"), "close": plain("Cancel"), "blocks": blocks}


def members_choice(clubs: list, tables: list[str]) -> list[dict]:
    """Art. 34 on the controllers' instruction: which clubs instructed it, and which members are concerned
    (member numbers, or a query); the count is previewed before anything is sent."""
    return [
        _input("members", "Tell the members concerned (Art. 34)?", {"type": "radio_buttons", "options": [
            _option("notify", "Yes, on the clubs' instruction: the members named below"),
            _option("exempt", "No: the clubs found Art. 34(3) applies (say why below)"),
            _option("uninstructed", "No: no club instructed us to tell its members (say what was asked)")]}),
        _input("instructed", "Clubs that instructed us to tell their members", {"type": "checkboxes", "options": [
            _option(c.key, f"{c.code} — {c.name}") for c in clubs]}, optional=True),
        _input("numbers", "Members concerned: member numbers (one per line or comma-separated)", _text(), optional=True),
        _input("table", "…or: members with records in", {"type": "static_select", "options": [
            _option(t, t.replace("_", " ")) for t in tables]}, optional=True),
        _input("since", "…dated from", {"type": "datepicker"}, optional=True),
        _input("until", "…to", {"type": "datepicker"}, optional=True),
    ]


def members_preview(breach: m.Breach, count: int, clubs: list) -> list[dict]:
    """The count the DPO approves before any member is mailed."""
    names = ", ".join(c.code for c in clubs if c.key in (breach.members_instructed or []))
    text = (f"Art. 34 preview for {REF}{breach.id}: {count:,} member(s) with an email match the naming, in the "
            f"clubs that instructed it ({names}). Nothing is sent until you press Send.")
    blocks = [{"type": "section", "text": plain(text)}]
    if count:
        blocks.append({"type": "actions", "block_id": f"members-{breach.id}", "elements": [
            {"type": "button", "action_id": "breach.members_send", "style": "primary",
             "text": plain(f"Send to {count:,} member(s)"), "value": str(breach.id)}]})
    return blocks


def countdown(deadline: dt.datetime, now: dt.datetime) -> str:
    left = deadline - now
    hours = left.total_seconds() / 3600
    when = f"{deadline:%d %b %H:%M} UTC"
    if hours < 0:
        return f":red_circle: 72-hour deadline passed at {when} ({-hours:.0f} h ago)"
    icon = ":large_green_circle:" if hours > 24 else ":large_orange_circle:" if hours > 12 else ":red_circle:"
    return f"{icon} 72-hour clock: {hours:.0f} h left (deadline {when})"


def alert_blocks(breach: m.Breach, notices: list[m.BreachNotice], clubs: list, deadline: dt.datetime,
                 now: dt.datetime) -> list[dict]:
    ref = f"{REF}{breach.id}"
    names = {c.key: c for c in clubs}
    status = "closed" if breach.status == m.BREACH_CLOSED else "open"
    blocks: list[dict] = [{"type": "header", "text": plain(f"Personal data breach {ref} ({status})")},
              {"type": "section", "text": plain(breach.description[:2500])},
              {"type": "section", "fields": [
                  plain("Kind: " + ", ".join(breach.kinds)),
                  plain(f"About {breach.approx_people:,} people, {breach.approx_records:,} records"),
                  plain("Data: " + ", ".join(breach.data_categories)),
                  plain(f"Aware: {breach.aware_at:%d %b %H:%M} UTC (detected {breach.detected_at:%d %b %H:%M})")]}]
    if breach.status != m.BREACH_CLOSED:
        blocks.append({"type": "section", "text": mrkdwn(countdown(deadline, now))})
    latest = {}
    for n in notices:
        latest[n.club_id] = n
    lines = []
    for key in breach.clubs:
        club, notice = names.get(key), latest.get(key)
        label = club.code if club else key
        if notice is None:
            state = ":warning: no GDPR contact: tell this club by other means" if club and not club.contact_email \
                else ":hourglass: not yet notified"
        else:
            state = NOTICE_LABEL.get(notice.status, notice.status)
            if notice.status == "sent":
                state += f" {notice.sent_at:%d %b %H:%M} UTC (phase {notice.phase})"
        lines.append(f"{label}: {state}")
    blocks.append({"type": "section", "text": emoji_text("Clubs: " + " · ".join(lines))})
    facts = [f"Risk to people: {breach.risk.replace('_', ' ')}"]
    if breach.members_decision == "exempt":
        facts.append("Members not told (Art. 34(3), the clubs' exemption)")
    elif breach.members_decision == "uninstructed":
        facts.append("Members not told (no club instructed it)")
    elif breach.members_decision == "notify":
        facts.append(f"Members told: {breach.members_done:,} / {breach.members_total:,}")
    blocks.append({"type": "context", "elements": [plain(" · ".join(facts)),
                                                   mrkdwn(f"reported by <@{breach.reported_by}>")]})
    if breach.status != m.BREACH_CLOSED:
        value = str(breach.id)
        blocks.append({"type": "actions", "block_id": f"breach-{breach.id}", "elements": [
            {"type": "button", "action_id": "breach.notify", "style": "primary", "text": plain("Notify clubs"),
             "value": value},
            {"type": "button", "action_id": "breach.assess", "text": plain("Risk: high"), "value": f"{value}:high"},
            {"type": "button", "action_id": "breach.assess", "text": plain("Risk: not high"),
             "value": f"{value}:not_high"}]})
    return blocks


def reminder_blocks(breach: m.Breach, reminder: m.BreachReminder, deadline: dt.datetime, now: dt.datetime,
                    escalate_to: str | None, unnotified: list[str]) -> list[dict]:
    who = f"<!subteam^{escalate_to}> " if escalate_to else ""
    text = (f":alarm_clock: {who}{REF}{breach.id}: {reminder.mark_hours} hours since we became aware. "
            f"{countdown(deadline, now)}.")
    if unnotified:
        text += f" Not yet notified: {', '.join(unnotified)}."
    return [{"type": "section", "text": mrkdwn(text)},
            {"type": "actions", "elements": [{"type": "button", "action_id": "breach.snooze", "value": str(reminder.id),
                                              "text": plain("Snooze")}]}]


def breach_line(breach: m.Breach, deadline: dt.datetime, now: dt.datetime) -> str:
    state = "closed" if breach.status == m.BREACH_CLOSED else countdown(deadline, now)
    return f"{REF}{breach.id} · {', '.join(breach.kinds)} · {len(breach.clubs)} club(s) · {state}"
