"""Block Kit for bulk runs: the dry-run card, the live progress bar, the closing summary, the report."""
from __future__ import annotations

import datetime as dt

from bot.render import decide_buttons, escape, mrkdwn, plain, reason_modal
from gdpr.bulk.engine import FILE_ACTIONS
from gdpr.bulk.retention import BulkSpec
from gdpr.core import models as m

BAR = 20
LABEL = {
    m.AWAITING_APPROVAL: ":hourglass: awaiting DPO approval", m.APPROVED: ":white_check_mark: approved",
    m.QUEUED: ":inbox_tray: approved, queued", m.RUNNING: ":gear: running", m.DONE: ":white_check_mark: done",
    m.FAILED: ":x: failed", m.REJECTED: ":no_entry: rejected",
}
WHAT = {"offboard": ("anonymised by the data map's erasure rules, after the club's data was exported for return; "
                     "a signed completion statement follows"),
        "erase": "anonymised by the data map's erasure rules", "delete": "deleted", "anonymise": "anonymised",
        "exports": "deleted", "outbox": "deleted", "release": "released from their ended legal hold: given the table's erasure rule"}


def title(run: m.BulkRun) -> str:
    if run.source == "offboard":
        return f"Offboarding of club {BulkSpec.from_json(run.spec).club_code} P-{run.id}"
    name = "CRM purge" if run.source == "crm_purge" else f"Retention policy {run.policy}"
    return f"{name} P-{run.id}"


def progress_bar(done: int, total: int) -> str:
    share = 1.0 if total == 0 else min(done / total, 1.0)
    filled = int(share * BAR)  # floored, like the percentage: 100% only when everything is done
    return f"`{'█' * filled}{'░' * (BAR - filled)}` {int(share * 100)}%"


def progress_text(run: m.BulkRun, rate: float | None) -> str:
    text = f"{progress_bar(run.done, run.total)} · {run.done:,} / {run.total:,}"
    if rate:
        left = max(run.total - run.done, 0) / rate
        text += f" · {rate:,.0f}/s · about {_duration(left)} left"
    return text


def bulk_blocks(run: m.BulkRun, *, samples: list[dict] | None = None, rate: float | None = None,
                basis: str | None = None, with_buttons: bool = True, notices: dict[str, int] | None = None) -> list[dict]:
    spec, preview = BulkSpec.from_json(run.spec), run.preview or {}
    blocks = [{"type": "header", "text": plain(title(run))},
              {"type": "section", "text": mrkdwn(_matches(run, spec, preview))}]
    facts = _facts(preview, basis)
    if facts:
        blocks.append({"type": "section", "fields": [plain(f) for f in facts]})
    if samples:
        lines = [f"{s['name']} · {s['email']} · {s['phone']} · {s['club']}" for s in samples]
        blocks.append({"type": "section", "text": plain("Samples (masked): " + "; ".join(lines))})
    effects = preview.get("effects") or []
    if effects:
        blocks.append({"type": "section", "text": plain("What happens: " + " · ".join(_effect(e) for e in effects))})
    if run.needs_approval and run.status == m.AWAITING_APPROVAL:
        blocks.append({"type": "context", "elements": [plain(f"The DPO decides because {run.needs_approval}.")]})
    if run.status in (m.RUNNING, m.DONE, m.FAILED) and run.total:
        blocks.append({"type": "section", "text": mrkdwn(progress_text(run, rate if run.status == m.RUNNING else None))})
    if run.status == m.DONE and run.counts:
        blocks.append({"type": "section", "text": plain(_summary(run))})
    if notices:
        blocks.append({"type": "section", "text": plain(_notices(notices))})
    blocks.append({"type": "context", "elements": [mrkdwn(_status(run))]})
    if with_buttons and run.status == m.AWAITING_APPROVAL:
        blocks.append(decide_buttons("bulk", run.id, block_id=f"bulk-{run.id}"))
    return blocks


def _matches(run: m.BulkRun, spec: BulkSpec, preview: dict) -> str:
    what = "CRM leads" if spec.subject == "lead" else ("members" if spec.subject == "member" else
                                                        FILE_ACTIONS.get(spec.action, "rows"))
    if spec.parts:
        each = " and ".join(f"{n:,} {kind}s" for kind, n in (preview.get("parts") or {}).items())
        return (f"*{run.total:,} subjects* ({each}) of club `{escape(spec.club_code or '')}`: everything they leave "
                f"in the system.\nThey will be {WHAT[spec.action]}. Measured as of {run.as_of:%d %b %Y %H:%M} UTC.")
    where = f" of `{escape(spec.table)}`" if spec.table and spec.action != "erase" else ""
    share = preview.get("share")
    share_text = f" — {share:.1%} of the table" if share else ""
    return (f"*{run.total:,} {what}*{where} match: {escape(spec.describe())}{share_text}\n"
            f"They will be {WHAT[spec.action]}. Measured as of {run.as_of:%d %b %Y %H:%M} UTC.")


def _facts(preview: dict, basis: str | None) -> list[str]:
    facts = []
    if preview.get("clubs"):
        facts.append("Per club: " + ", ".join(f"{c} {n:,}" for c, n in preview["clubs"].items()))
    if preview.get("oldest"):
        facts.append(f"Oldest / newest: {preview['oldest']} / {preview['newest']}")
    if basis:
        facts.append(f"Legal basis: {basis}")
    return facts


def _effect(e: dict) -> str:
    if "rows" not in e:
        return f"{e['table']}: {e['action']}"
    whose = f" ({e['subject']}s)" if e.get("subject") else ""
    text = f"{e['table']}{whose}: {e['rows']:,} {_verb(e['action'])}"
    if e.get("held"):
        text += f", {e['held']:,} kept ({e['hold_reason']}"
        text += f", until {e['hold_until']})" if e.get("hold_until") else ")"
    return text


def _verb(action: str) -> str:
    return {"update": "anonymised (row kept)", "delete": "deleted", "unlink": "unlinked"}.get(action, action)


def _summary(run: m.BulkRun) -> str:
    parts = []
    for tname, counts in sorted((run.counts or {}).items()):
        parts.append(f"{tname}: " + ", ".join(f"{v:,} {k}" for k, v in counts.items() if k != "erased"))
    residue = "" if run.residue is None else f". Residue: {run.residue} row(s) of the purged set still hold personal data"
    return "Done: " + " · ".join(parts) + residue + "."


def _notices(by_status: dict[str, int]) -> str:
    """The run's Art. 19 notices: one per erased subject and integration it was linked to."""
    order = (m.NOTICE_SENT, m.NOTICE_PENDING, m.NOTICE_SENDING, m.NOTICE_RETRYING, m.NOTICE_WAITING, m.NOTICE_FAILED)
    parts = [f"{by_status[k]:,} {k}" for k in order if by_status.get(k)]
    text = f"Recipients told (Art. 19), one notice per subject and integration: {' · '.join(parts)}"
    if by_status.get(m.NOTICE_FAILED):
        text += ". Failed notices are listed in the audit log; the DPO must tell those recipients another way"
    return text + "."


def _status(run: m.BulkRun) -> str:
    text = f"Status: {LABEL.get(run.status, run.status)}"
    if run.requester_id != "scheduler":
        text += f" · requested by <@{run.requester_id}>"
    if run.decided_by:
        verb = "rejected" if run.status == m.REJECTED else "approved"
        text += f" · {verb} by <@{run.decided_by}>"
        if run.reject_reason:
            text += f": {escape(run.reject_reason)}"
    elif run.status not in (m.AWAITING_APPROVAL, m.REJECTED) and run.requester_id == "scheduler":
        text += " · run by policy (no approval needed)"
    if run.status == m.FAILED and run.error:
        text += f" · {escape(run.error)}"
    return text


def bulk_reject_modal(run_id: int) -> dict:
    return reason_modal(callback_id="bulk.reject_reason", private_metadata=str(run_id), title="Reject purge",
                        submit="Reject", question=f"Why is P-{run_id} rejected?")


def report_blocks(lines: list, purges: list[tuple[int, int]]) -> list[dict]:  # list[PolicyLine]
    blocks = [{"type": "header", "text": plain("Retention report")}]
    for p in lines:
        tables = ", ".join(f"{t} {n:,}" for t, n in sorted(p.tables.items()))
        when = f"{p.next_run:%d %b %Y %H:%M} UTC" if p.next_run else "never"
        text = (f"{p.policy} ({'DPO approves' if p.approval == 'required' else 'automatic'}): last 30 days "
                f"{p.runs} run(s), {p.rows:,} rows{f' ({tables})' if tables else ''}. Due now: {p.due:,}. "
                f"Next run: {when}.")
        if p.waiting:
            text += " Waiting for the DPO: " + ", ".join(f"P-{i}" for i in p.waiting) + "."
        blocks.append({"type": "section", "text": plain(text)})
    if purges:
        blocks.append({"type": "context", "elements": [plain("CRM purges: " + ", ".join(
            f"P-{i} {n:,} leads" for i, n in purges))]})
    return blocks


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return str(dt.timedelta(seconds=round(seconds)))
