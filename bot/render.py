"""Block Kit rendering. Values that come from the database go into plain_text objects,
which Slack never parses: a stored `<!channel>` or `*bold*` shows literally, never pings."""
from __future__ import annotations

from gdpr.app.lookup import SubjectView
from gdpr.core import models as m
from gdpr.requests.service import AT_ONCE, KINDS

STATUS_LABEL = {
    m.RECEIVED: ":hourglass: awaiting DPO approval", m.AWAITING_APPROVAL: ":hourglass: awaiting DPO approval", m.APPROVED: ":white_check_mark: approved",
    m.REJECTED: ":no_entry: rejected", m.QUEUED: ":inbox_tray: approved, queued", m.RUNNING: ":gear: running",
    m.DONE: ":package: done", m.FAILED: ":x: failed", m.NOTIFYING: ":outbox_tray: erased; telling recipients",
    m.REFUSED: ":no_entry_sign: refused (Art. 12(5)); notice for the club in the thread",
    m.CLOSED: ":lock: closed: the club left (Art. 28(3)(g)); it answers this request itself",
}
KIND_STATUS = {  # where a kind's words differ from the defaults above
    "erase": {m.RUNNING: ":gear: erasure running"},
    "access": {m.RUNNING: ":gear: export running"},
    "object": {m.RUNNING: ":gear: upheld; erasing the data on legitimate interests",
               m.NOTIFYING: ":outbox_tray: upheld and applied; telling recipients",
               m.DONE: ":white_check_mark: upheld and applied",
               m.REJECTED: ":no_entry: not upheld: the club's compelling legitimate grounds (Art. 21(1))"},
    "withdraw": {m.RUNNING: ":gear: withdrawal being recorded",
                 m.NOTIFYING: ":outbox_tray: withdrawn; telling recipients", m.DONE: ":white_check_mark: withdrawn"},
    "restrict": {m.RUNNING: ":gear: restriction being recorded",
                 m.NOTIFYING: ":outbox_tray: restricted; telling recipients", m.DONE: ":lock: restricted (stored only)"},
    "lift": {m.RUNNING: ":gear: restriction being lifted", m.NOTIFYING: ":outbox_tray: lifted; telling recipients",
             m.DONE: ":unlock: restriction lifted; the club was told"},
    "rectify": {m.RUNNING: ":gear: corrections being written", m.NOTIFYING: ":outbox_tray: corrected; telling recipients",
                m.DONE: ":white_check_mark: corrected"},
}
NOTICE_LABEL = {
    m.NOTICE_WAITING: ":hourglass: waiting for the erasure", m.NOTICE_PENDING: ":hourglass: queued",
    m.NOTICE_SENDING: ":arrow_right: sending", m.NOTICE_RETRYING: ":repeat: retrying", m.NOTICE_SENT: ":white_check_mark: sent",
    m.NOTICE_FAILED: ":x: failed", m.NOTICE_IMPOSSIBLE: ":heavy_minus_sign: closed by the DPO",
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
    """The DPO's card (with the buttons and the erasure's full preview) or the requester's message, where
    the preview is only its totals: which tables hold rows of a person (health measurements, open debt)
    is itself personal data, for the DPO who decides."""
    blocks = [
        {"type": "header", "text": plain(f"{req.kind.capitalize()} request R-{req.id}")},
        {"type": "section", "text": mrkdwn(f"*{KINDS.get(req.kind, req.kind)}*\nRequested by {requester(req.requester_id)} "
                                           f"· received {req.club_received_on or req.received_at:%d %b %Y} · due *{req.due_on:%d %b %Y}*"
                                           + (" (extended)" if req.extended_at else ""))},
        subject_fields(subject, "Lead" if req.subject_type == "lead" else "Member"),
        *(preview_blocks(req) if with_buttons else preview_totals(req)),
        {"type": "context", "elements": [mrkdwn(f"Status: {status_label(req)}" + _decision(req) + _outcome(req)),
                                         *_reason(req)]},
    ]
    if with_buttons and req.status in m.DECIDABLE:
        blocks.append(decide_buttons("request", req.id, block_id=f"decide-{req.id}"))
    return blocks


def requester(user_id: str) -> str:
    """A Slack user as a mention; a club that asked through its API by name."""
    if user_id.startswith("club:"):
        return f"club `{escape(user_id[5:])}` *through the clubs' API*"
    return f"<@{user_id}>"


def decide_buttons(kind: str, item_id: int, *, block_id: str) -> dict:
    """Approve / Reject for the DPO (action ids `<kind>.approve` / `<kind>.reject`, the item's id as value)."""
    return {"type": "actions", "block_id": block_id, "elements": [
        {"type": "button", "action_id": f"{kind}.approve", "style": "primary", "text": plain("Approve"),
         "value": str(item_id)},
        {"type": "button", "action_id": f"{kind}.reject", "style": "danger", "text": plain("Reject"),
         "value": str(item_id)}]}


def preview_totals(req: m.SubjectRequest) -> list[dict]:
    p = req.preview
    if req.kind not in ("erase", "object") or not p or p.get("already_erased"):
        return preview_blocks(req)
    rows = sum(v["rows"] for v in p["tables"].values())
    return [{"type": "section", "text": mrkdwn(
        f"*Preview:* {rows} row(s) in {len(p['tables'])} table(s) will be erased or anonymised. The DPO sees "
        "the details (tables, legal holds, recipients) on the approval card.")}]


def preview_blocks(req: m.SubjectRequest) -> list[dict]:
    """What the erasure will do, computed for this subject when the request was filed; what a restriction, its
    lifting or a rectification asks (the ground, the reason, the fields: never the corrected values)."""
    p = req.preview
    if req.kind in ("restrict", "lift", "rectify") and p:
        said = {"restrict": ("Ground", p.get("ground")), "lift": ("Reason (the club tells the person first, "
                                                                  "Art. 18(3))", p.get("reason")),
                "rectify": ("Fields to correct", ", ".join(p.get("fields") or []))}[req.kind]
        return [{"type": "section", "text": plain(f"{said[0]}: {said[1]}"[:2000])}]
    if req.kind not in ("erase", "object") or not p:
        return []
    if p.get("already_erased"):
        return [{"type": "section", "text": mrkdwn("*Preview:* this subject is already erased; approving only "
                                                   "records it.")}]
    verbs = {"delete": "deleted", "update": "anonymised", "unlink": "unlinked",
             "keep": "kept as they are (nothing personal in them changes)"}
    lines = [f"• `{t}`: {v['rows']} row(s) {verbs.get(v['action'], v['action'])}"
             + (f", {v['held']} kept under legal hold" if v.get("held") else "") for t, v in p["tables"].items()]
    holds = [f"• `{h['table']}` until {h['until']}: {escape(h['reason'])}" for h in p.get("holds", [])]
    title = "If the club upholds it (Art. 17(1)(c))" if req.kind == "object" else "Preview of the erasure"
    text = f"*{title}*\n" + "\n".join(lines)
    if holds:
        text += "\n*Legal holds*\n" + "\n".join(holds)
    text += "\n*Recipients to tell (Art. 19):* " + (", ".join(p["recipients"]) or "none")
    blocks = [{"type": "section", "text": mrkdwn(text[:2900])}]
    if p.get("warnings"):
        blocks.append({"type": "section", "text": mrkdwn(":warning: *Weigh before approving:* "
                                                         + "; ".join(escape(w) for w in p["warnings"]))})
    return blocks


def notices_blocks(req: m.SubjectRequest, notices: list[m.Notice]) -> list[dict]:
    lines = []
    for n in notices:
        line = f"• *{escape(n.recipient)}*: {NOTICE_LABEL.get(n.status, n.status)}"
        if n.last_error and n.status in (m.NOTICE_RETRYING, m.NOTICE_FAILED):
            line += f" ({escape(n.last_error)}, attempt {n.attempts})"
        if n.status == m.NOTICE_IMPOSSIBLE and n.reason:
            line += f": {escape(n.reason[:200])}"
        lines.append(line)
    blocks = [{"type": "section", "text": mrkdwn(f"*Recipients of R-{req.id} (Art. 19)*\n" + "\n".join(lines))}]
    buttons = []
    for n in notices:
        if n.status == m.NOTICE_FAILED:
            buttons.append({"type": "button", "action_id": "notice.retry", "text": plain(f"Retry {n.recipient}"),
                            "value": str(n.id), "style": "primary"})
        if n.status in (m.NOTICE_FAILED, m.NOTICE_RETRYING):
            buttons.append({"type": "button", "action_id": "notice.impossible", "value": str(n.id),
                            "text": plain(f"Cannot tell {n.recipient}")})
    if buttons:
        blocks.append({"type": "actions", "block_id": f"notices-{req.id}", "elements": buttons[:25]})
    return blocks


def reason_modal(*, callback_id: str, private_metadata: str, title: str, submit: str, question: str) -> dict:
    """A modal that asks for one required reason (block `reason`, action `value`)."""
    return {
        "type": "modal", "callback_id": callback_id, "private_metadata": private_metadata,
        "title": plain(title), "submit": plain(submit), "close": plain("Cancel"),
        "blocks": [{"type": "input", "block_id": "reason", "label": plain(question),
                    "element": {"type": "plain_text_input", "action_id": "value", "multiline": True,
                                "max_length": 1000}}],
    }


def impossible_modal(notice_id: int, recipient: str) -> dict:
    return reason_modal(callback_id="notice.impossible_reason", private_metadata=str(notice_id),
                        title="Close a recipient", submit="Record", question=f"Why can {recipient} not be told?")


def _decision(req: m.SubjectRequest) -> str:
    if not req.decided_by or req.kind in AT_ONCE:  # a withdrawal, a restriction: nobody's to approve
        return ""
    verb = {m.REJECTED: "rejected", m.REFUSED: "refused"}.get(req.status, "approved")
    return f" · {verb} by <@{req.decided_by}>"


def status_label(req: m.SubjectRequest) -> str:
    """What the request is doing, in words true for its kind (an erasure is not an export)."""
    own = KIND_STATUS.get(req.kind, {}).get(req.status)
    return own or STATUS_LABEL.get(req.status, req.status)


def _reason(req: m.SubjectRequest) -> list[dict]:
    """The DPO's reason as typed: plain text, never parsed as mrkdwn (`*x*` stays `*x*`)."""
    if req.status in (m.REJECTED, m.REFUSED) and req.reject_reason:
        return [plain(f"{'Ground' if req.status == m.REFUSED else 'Reason'}: {req.reject_reason[:300]}")]
    if req.extended_at and req.extension_reason:
        return [plain(f"Extended (was due {req.original_due_on:%d %b %Y}): {req.extension_reason[:300]}")]
    return []


def _outcome(req: m.SubjectRequest) -> str:
    if req.kind == "withdraw":
        asked = ", ".join((req.preview or {}).get("agreements", []))
        if req.status in (m.DONE, m.NOTIFYING) and req.result:
            return (f" · withdrawn: {', '.join(req.result.get('withdrawn') or []) or 'nothing was in force'}; "
                    f"{req.result.get('links_disabled', 0)} integration link(s) disabled (asked: {asked})")
        return f" · agreements: {asked}"
    if req.kind == "object" and req.status in (m.DONE, m.NOTIFYING) and req.result:
        return f" · {req.result.get('rows', 0)} rows erased in {', '.join(req.result.get('tables') or []) or 'no table'}"
    if req.kind in ("restrict", "lift") and req.status in (m.DONE, m.NOTIFYING) and req.result:
        return " · " + ("restricted since " + str(req.result.get("since"))[:16].replace("T", " ")
                        if req.result.get("restricted") else "not restricted")
    if req.kind == "rectify" and req.status in (m.DONE, m.NOTIFYING) and req.result:
        changed = req.result.get("changed") or []
        return f" · corrected: {', '.join(changed) or 'nothing (already as instructed)'}"
    if req.kind == "erase" and req.status in (m.DONE, m.NOTIFYING) and req.result:
        return (f" · {req.result.get('rows', 0)} rows erased in {req.result.get('tables', 0)} tables, "
                f"{req.result.get('held', 0)} kept under legal hold")
    if req.status == m.DONE and req.result:
        where = "for the club through its API" if (req.file_id or "").startswith("link:") else "file in thread"
        return f" · {req.result.get('rows', 0)} rows from {req.result.get('tables', 0)} tables, {where}"
    if req.status == m.FAILED:
        return f" · {escape(req.error or 'failed')}"
    return ""


def candidates_blocks(title: str, candidates: list[SubjectView]) -> list[dict]:
    """Subjects as the use case decided this viewer sees them (masked unless permitted)."""
    blocks = [{"type": "section", "text": mrkdwn(title)}]
    for c in candidates[:10]:
        blocks.append(subject_fields(c.fields, "Lead" if c.subject_type == "lead" else "Member"))
        if c.unmasked_by and c.unmasked_by.startswith("G-"):
            blocks.append({"type": "context", "elements": [mrkdwn(
                f"Shown unmasked under your temporary access {c.unmasked_by}; this view is logged.")]})
    if len(candidates) > 10:
        blocks.append({"type": "context", "elements": [mrkdwn(f"…and {len(candidates) - 10} more.")]})
    if any(not c.unmasked_by for c in candidates[:10]):
        blocks.append({"type": "context", "elements": [mrkdwn(
            "Personal data is masked (you hold neither `pii.view` nor a live access grant for it).")]})
    return blocks


def reject_modal(request_id: int) -> dict:
    return reason_modal(callback_id="request.reject_reason", private_metadata=str(request_id),
                        title="Reject request", submit="Reject", question=f"Why is R-{request_id} rejected?")
