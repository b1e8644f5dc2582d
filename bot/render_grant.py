"""Block Kit for temporary access: the DPO's card, the thread messages, the `/gdpr grants` list.
The reason staff typed goes into plain_text (Slack never parses it); subjects are always masked here."""
from __future__ import annotations

import datetime as dt

from bot.pages import nav, window
from bot.render import decide_buttons, mrkdwn, plain, reason_modal, subject_fields
from gdpr.app.grants import GrantView, hours
from gdpr.app.reads import PER_PAGE, Page
from gdpr.core import models as m
from gdpr.requests.service import aware

LABEL = {m.RECEIVED: ":hourglass: awaiting DPO approval", m.AWAITING_APPROVAL: ":hourglass: awaiting DPO approval",
         m.APPROVED: ":unlock: live", m.REJECTED: ":no_entry: rejected", m.EXPIRED: ":lock: ended (expired)",
         m.REVOKED: ":lock: ended (revoked)"}


def title(grant: m.AccessGrant) -> str:
    return f"Temporary access G-{grant.id}"


def until(when: dt.datetime | None) -> str:
    return f"{aware(when):%d %b %H:%M} UTC" if when else "—"


def status_line(grant: m.AccessGrant) -> str:
    label = LABEL.get(grant.status, grant.status)
    if grant.status == m.APPROVED:
        return f"{label} until {until(grant.expires_at)} (approved by <@{grant.decided_by}>)"
    if grant.status == m.REJECTED and grant.decided_by:
        return f"{label} by <@{grant.decided_by}>"
    if grant.status == m.REVOKED:
        return f"{label} by <@{grant.ended_by}> at {until(grant.ended_at)}"
    if grant.status == m.EXPIRED:
        return f"{label} at {until(grant.expires_at)}"
    return label


def grant_blocks(grant: m.AccessGrant, subject: dict[str, str]) -> list[dict]:
    label = "Lead" if grant.subject_type == "lead" else "Member"
    blocks = [
        {"type": "header", "text": plain(title(grant))},
        {"type": "section", "text": mrkdwn(
            f"<@{grant.requester_id}> asks to see one {label.lower()}'s personal data unmasked for "
            f"*{hours(dt.timedelta(minutes=grant.minutes))}*. Every view is logged and written to the "
            f"{label.lower()}'s change history; access ends by itself.")},
        subject_fields(subject, label),
        {"type": "section", "text": plain(f"Investigation: {grant.reason}")},
        {"type": "context", "elements": [mrkdwn(f"Status: {status_line(grant)}"),
                                         *([plain(f"Reason: {r}")] if (r := grant.reject_reason or grant.end_reason)
                                           else [])]},
    ]
    if grant.status in m.GRANT_DECIDABLE:
        blocks.append(decide_buttons("grant", grant.id, block_id=f"grant-{grant.id}"))
    return blocks


def reject_modal(grant_id: int) -> dict:
    return reason_modal(callback_id="grant.reject_reason", private_metadata=str(grant_id),
                        title="Reject access", submit="Reject", question=f"Why is G-{grant_id} rejected?")


def grants_blocks(page: Page[GrantView], *, everyone: bool) -> list[dict]:
    if not page.total:
        return [{"type": "section", "text": mrkdwn("No temporary access is live or waiting for the DPO.")}]
    head = "Live and pending temporary access" + ("" if everyone else " (yours)")
    blocks: list[dict] = [{"type": "section", "text": mrkdwn(f"*{head}* — {page.total}")}]
    for v in page.items:
        state = f"live until {until(v.expires_at)}" if v.status == m.APPROVED else "awaiting the DPO"
        blocks.append({"type": "section", "text": mrkdwn(
            f"*G-{v.grant_id}* <@{v.requester_id}> · {state} · {hours(dt.timedelta(minutes=v.minutes))}"),
            "fields": [plain(f"Subject: {v.subject.get('number', '—')}"), plain(f"Investigation: {v.reason[:1900]}")]})
    return [*blocks, window(page, "grants"), *nav("grants", "", page, PER_PAGE)]
