"""Block Kit rendering. Values that come from the database go into plain_text objects,
which Slack never parses: a stored `<!channel>` or `*bold*` shows literally, never pings."""
from __future__ import annotations

from gdpr import models as m
from gdpr.requests import KINDS
from gdpr.subjects import Candidate

STATUS_LABEL = {
    m.RECEIVED: ":hourglass: awaiting DPO approval", m.AWAITING_APPROVAL: ":hourglass: awaiting DPO approval", m.APPROVED: ":white_check_mark: approved",
    m.REJECTED: ":no_entry: rejected", m.QUEUED: ":inbox_tray: approved, queued", m.RUNNING: ":gear: export running",
    m.DONE: ":package: done", m.FAILED: ":x: failed",
}


def escape(text: str) -> str:
    """Escape the three characters Slack's mrkdwn treats as control characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def plain(text: str) -> dict:
    return {"type": "plain_text", "text": text[:2000] or " ", "emoji": False}


def mrkdwn(text: str) -> dict:
    return {"type": "mrkdwn", "text": text}


def subject_fields(values: dict[str, str], label: str = "Member") -> dict:
    fields = [plain(f"{label}: {values['number']}"), plain(f"Club: {values['club']}"),
              plain(f"Name: {values['name']}"), plain(f"Email: {values['email']}"), plain(f"Phone: {values['phone']}")]
    return {"type": "section", "fields": fields}


def request_blocks(req: m.SubjectRequest, subject: dict[str, str], *, with_buttons: bool) -> list[dict]:
    blocks = [
        {"type": "header", "text": plain(f"{req.kind.capitalize()} request R-{req.id}")},
        {"type": "section", "text": mrkdwn(f"*{KINDS.get(req.kind, req.kind)}*\nRequested by <@{req.requester_id}> "
                                           f"· received {req.received_at:%d %b %Y} · due *{req.due_on:%d %b %Y}*")},
        subject_fields(subject, "Lead" if req.subject_type == "lead" else "Member"),
        {"type": "context", "elements": [mrkdwn(f"Status: {STATUS_LABEL.get(req.status, req.status)}"
                                                + _decision(req) + _outcome(req))]},
    ]
    if with_buttons and req.status in m.DECIDABLE:
        blocks.append({"type": "actions", "block_id": f"decide-{req.id}", "elements": [
            {"type": "button", "action_id": "request.approve", "style": "primary", "text": plain("Approve"),
             "value": str(req.id)},
            {"type": "button", "action_id": "request.reject", "style": "danger", "text": plain("Reject"),
             "value": str(req.id)},
        ]})
    return blocks


def _decision(req: m.SubjectRequest) -> str:
    if not req.decided_by:
        return ""
    verb = "rejected" if req.status == m.REJECTED else "approved"
    return f" · {verb} by <@{req.decided_by}>"


def _outcome(req: m.SubjectRequest) -> str:
    if req.status == m.REJECTED and req.reject_reason:
        return f" · reason: {escape(req.reject_reason[:300])}"
    if req.status == m.DONE and req.result:
        return f" · {req.result.get('rows', 0)} rows from {req.result.get('tables', 0)} tables, file in thread"
    if req.status == m.FAILED:
        return f" · {escape(req.error or 'failed')}"
    return ""


def candidates_blocks(title: str, candidates: list[Candidate], *, unmasked: bool) -> list[dict]:
    blocks = [{"type": "section", "text": mrkdwn(title)}]
    for c in candidates[:10]:
        values = c.plain() if unmasked else c.masked()
        blocks.append(subject_fields(values, "Lead" if c.kind == "lead" else "Member"))
    if len(candidates) > 10:
        blocks.append({"type": "context", "elements": [mrkdwn(f"…and {len(candidates) - 10} more.")]})
    if not unmasked:
        blocks.append({"type": "context", "elements": [mrkdwn("Personal data is masked (you do not hold `pii.view`).")]})
    return blocks


def reject_modal(request_id: int) -> dict:
    return {
        "type": "modal", "callback_id": "request.reject_reason", "private_metadata": str(request_id),
        "title": plain("Reject request"), "submit": plain("Reject"), "close": plain("Cancel"),
        "blocks": [{"type": "input", "block_id": "reason", "label": plain(f"Why is R-{request_id} rejected?"),
                    "element": {"type": "plain_text_input", "action_id": "value", "multiline": True,
                                "max_length": 1000}}],
    }
