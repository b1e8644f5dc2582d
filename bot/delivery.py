"""The Slack presenter of subject requests (gdpr.core.ports.RequestPresenter): post the cards, keep them
current, DM the passphrase, upload the file, report in the thread."""
from __future__ import annotations

import datetime as dt
import functools
import logging

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.cards import Cards
from bot.render import escape, mrkdwn, notices_blocks, plain, request_blocks
from bot.slack_io import dm_channel, post
from gdpr.app.requests import RequestViews
from gdpr.core import models as m
from gdpr.erasure.engine import ErasureReport
from gdpr.erasure.residue import Hit
from gdpr.requests.export import ExportFile
from gdpr.requests.service import AT_ONCE

log = logging.getLogger(__name__)


REQUEST, APPROVAL, NOTICES = "request", "approval", "notices"  # a request's messages, by role


def _chunks(text: str, size: int) -> list[str]:
    """Whole lines, at most `size` characters each (a plain_text block holds 3,000)."""
    out, current = [], ""
    for line in text.splitlines(keepends=True):
        if current and len(current) + len(line) > size:
            out.append(current)
            current = ""
        current += line
    return [*out, current] if current else out


def ref(req: m.SubjectRequest) -> str:
    return f"R-{req.id}"


class SlackDelivery:
    """gdpr.core.ports.RequestPresenter on Slack: renders what `views` reads; `approvals` is the DPO's channel,
    `deciders` the user groups named when a request is close to its due date."""

    def __init__(self, slack: WebClient, cards: Cards, views: RequestViews, *, approvals: str,
                 deciders: list[str]) -> None:
        self.slack, self.cards, self.views = slack, cards, views
        self.approvals, self.deciders = approvals, deciders

    def where(self, req: m.SubjectRequest, role: str) -> tuple[str, str] | None:
        """(channel, ts) of one of the request's messages, if it was posted."""
        return self.cards.where(ref(req), role)

    def subject_view(self, req: m.SubjectRequest) -> dict[str, str]:
        return self.views.subject(req.subject_type, req.subject_key)  # channels always see masked data

    def request_opened(self, req: m.SubjectRequest, subject: dict[str, str], reply_to: str | None) -> None:
        """The requester's message (where they asked, or a DM if the bot is not there) and the DPO's card."""
        slack, text = self.slack, f"{req.kind.capitalize()} request R-{req.id}: " + (
            "under way" if req.kind in AT_ONCE else "awaiting DPO approval")
        if not req.requester_id.startswith("club:"):  # a club asking through the API follows it there
            self.cards.remember(ref(req), REQUEST, post(
                slack, channel=reply_to or dm_channel(slack, req.requester_id), fallback_user=req.requester_id,
                text=text, blocks=request_blocks(req, subject, with_buttons=False)))
        if req.kind in AT_ONCE and not req.requester_id.startswith("club:"):
            return  # no approval stands between a person and their withdrawal or restriction: the requester's message
        # is its thread; one a club opened through the API is shown to the DPO (no buttons: nothing to decide)
        self.cards.remember(ref(req), APPROVAL, post(
            slack, channel=self.approvals, fallback_user=None, text=text,
            blocks=request_blocks(req, subject, with_buttons=True)))

    def request_changed(self, req: m.SubjectRequest) -> None:
        """Both cards, rendered from the request as it is now (the caller's copy may already be behind)."""
        for role, buttons in ((REQUEST, False), (APPROVAL, True)):
            self.cards.update_latest(ref(req), role, functools.partial(self._card, req, buttons))

    def _card(self, req: m.SubjectRequest, buttons: bool) -> dict:
        try:
            req = self.views.request(req.id)
        except Exception as exc:  # the state DB is down: the caller's copy is the best there is
            log.warning("R-%s rendered from the caller's copy: %s", req.id, type(exc).__name__)
        text = f"{req.kind.capitalize()} request R-{req.id}: {req.status.replace('_', ' ')}"
        return {"text": text, "blocks": request_blocks(req, self.subject_view(req), with_buttons=buttons)}

    # -- the month's clock (Art. 12(3)/(4)) --------------------------------------------------------------
    def request_reminder(self, req: m.SubjectRequest, days_before: int, now: dt.datetime) -> bool:
        """In the DPO card's thread; from three days before the due date also in the channel, naming the
        DPO's user groups. False when there is no card to reply to yet (the reminder stays due). An
        overdue one says how late it is now, whichever reminder is due."""
        where = self.where(req, APPROVAL)
        if where is None:
            log.warning("R-%s has no card to remind on yet", req.id)
            return False
        days_before = min(days_before, (req.due_on - now.date()).days)
        due = f"{req.due_on:%d %b %Y}"
        if days_before > 0:
            text = f":alarm_clock: R-{req.id} is due in {days_before} day(s), on {due} (Art. 12(3))."
        elif days_before == 0:
            text = f":rotating_light: R-{req.id} is due *today* ({due})."
        else:
            text = f":rotating_light: R-{req.id} is *overdue* by {-days_before} day(s) (it was due on {due})."
        if days_before <= 3:
            groups = " ".join(f"<!subteam^{g}>" for g in self.deciders)
            text += f" {groups} answer it, extend it (`/gdpr extend R-{req.id} <reasons>`, within the month) " \
                    f"or refuse it (`/gdpr refuse R-{req.id} <ground>`)."
        self.slack.chat_postMessage(channel=where[0], thread_ts=where[1], text=text,
                                             reply_broadcast=days_before <= 3)
        return True

    def request_extended(self, req: m.SubjectRequest) -> None:
        """Where the requester asked: they relay to the club, who must tell the person within the month."""
        where = self.where(req, REQUEST)
        if where is None:
            return
        self.slack.chat_postMessage(
            channel=where[0], thread_ts=where[1],
            text=f":calendar: R-{req.id} is extended to {req.due_on:%d %b %Y} (was {req.original_due_on:%d %b %Y}). "
                 "Tell the club to inform the person before the first month ends, with the reasons below.",
            blocks=[{"type": "section", "text": mrkdwn(f":calendar: *R-{req.id} extended to {req.due_on:%d %b %Y}* "
                                                       f"(was {req.original_due_on:%d %b %Y}). Tell the club to "
                                                       "inform the person before the first month ends, with these "
                                                       "reasons (Art. 12(3)):")},
                    {"type": "section", "text": plain(req.extension_reason or "")}])

    def request_refused(self, req: m.SubjectRequest, notice: str) -> None:
        where = self.where(req, REQUEST)
        channel, ts = where or (dm_channel(self.slack, req.requester_id), None)
        self.slack.chat_postMessage(
            channel=channel, thread_ts=ts, text=f":no_entry_sign: R-{req.id} is refused. The notice for the club:",
            blocks=[{"type": "section", "text": mrkdwn(f":no_entry_sign: *R-{req.id} is refused* (Art. 12(5)). "
                                                       "Send the club this notice; it carries the person's remedies "
                                                       "(Art. 12(4)):")},
                    *[{"type": "section", "text": plain(part)} for part in _chunks(notice, 2900)]])

    def send_passphrase(self, req: m.SubjectRequest, export: ExportFile, passphrase: str) -> None:
        self.slack.chat_postMessage(
            channel=dm_channel(self.slack, req.requester_id),
            text=(f":key: Passphrase for `{export.name}` (access request R-{req.id}):\n`{passphrase}`\n"
                  "Send it to the club by a different channel than the file. The bot does not store it; this "
                  "direct message is its only copy (Slack keeps it under your workspace's retention)."))

    def passphrase_delivered(self, req: m.SubjectRequest) -> bool:
        """Whether this request's passphrase DM is in the requester's DMs (an attempt that died after
        sending it, before recording it)."""
        if not req.export_name:
            return False
        slack = self.slack
        history = slack.conversations_history(channel=dm_channel(slack, req.requester_id), limit=200)
        return any(f"`{req.export_name}`" in (msg.get("text") or "") and "Passphrase for" in (msg.get("text") or "")
                   for msg in history.get("messages", []))

    def publish_file(self, req: m.SubjectRequest, export: ExportFile) -> str:
        channel, ts = self.where(req, REQUEST) or (dm_channel(self.slack, req.requester_id), None)
        resp = self.slack.files_upload_v2(
            channel=channel, thread_ts=ts, file=str(export.path), filename=export.name,
            title=f"Access export R-{req.id} (AES-256 zip)",
            initial_comment=(f"Export for R-{req.id}: {export.rows} rows from "
                             f"{len([n for n in export.counts.values() if n])} tables. "
                             f"The passphrase went to <@{req.requester_id}> by direct message."))
        return resp["file"]["id"] if resp.get("file") else resp["files"][0]["id"]

    def find_published(self, req: m.SubjectRequest) -> str | None:
        """The file id of this request's archive if it is already in the thread (a retry after a crash)."""
        where = self.where(req, REQUEST)
        if not where or not req.export_name:
            return None
        resp = self.slack.conversations_replies(channel=where[0], ts=where[1], limit=200)
        for msg in resp.get("messages", []):
            for f in msg.get("files", []) or []:
                if f.get("name") == req.export_name:
                    return f["id"]
        return None

    def withdraw_file(self, req: m.SubjectRequest, reason: str) -> bool:
        """Delete the archive from Slack (files.delete) and say so in its thread; False if Slack refused
        (the request stays due and the next pass tries again)."""
        try:
            self.slack.files_delete(file=req.file_id or "")
        except SlackApiError as exc:
            if exc.response.get("error") not in ("file_not_found", "file_deleted"):
                log.warning("files.delete R-%s failed: %s", req.id, exc.response.get("error"))
                return False
        self._thread(req, f":wastebasket: The export file of R-{req.id} was deleted from this thread and from the "
                          f"server: {reason}.")
        return True

    def erasure_reported(self, req: m.SubjectRequest, report: ErasureReport, hits: list[Hit]) -> None:
        held = sum(c.get("held", 0) for c in report.counts.values())
        if report.already_erased:
            text = f":broom: R-{req.id}: this subject was already erased; nothing left to erase."
        else:
            text = (f":broom: Erasure of R-{req.id} committed in one transaction: {report.rows} rows erased in "
                    f"{len([c for c in report.counts.values() if c.get('erased')])} tables; {held} rows kept "
                    "under legal hold.")
            if report.recovered:
                text += (" (The worker that ran it stopped right after it committed; these are the counts it "
                         "recorded just before, and the proof below was run again.)")
        if hits:
            where = ", ".join(f"`{escape(h.table)}.{escape(h.column)}` ({h.rows} row(s))" for h in hits)
            text += f"\n:x: *Residue check failed*: former identifiers still found in {where}. DPO: please review."
        else:
            text += "\n:white_check_mark: Residue check: none of the former identifiers is left outside legal-hold rows."
        if report.namesakes:
            text += (f"\n:information_source: {report.namesakes} row(s) of other people carry the same full name "
                     "or a value they share (a family email); those are their own data and were left alone.")
        self._thread(req, text)

    def request_note(self, req: m.SubjectRequest, text: str) -> None:
        self._thread(req, text)

    def notices_changed(self, req: m.SubjectRequest) -> None:
        notices = self.views.notices(req.id)
        if not notices:
            return
        text = f"Recipients of R-{req.id}"
        if self.where(req, NOTICES):
            # Deliveries run in parallel, so an older snapshot can land after a newer one: after
            # writing, read again and write once more if the state moved on meanwhile.
            for _ in range(5):
                snapshot = [(n.id, n.status, n.attempts) for n in notices]
                if not self.cards.update(ref(req), NOTICES, text=text, blocks=notices_blocks(req, notices)):
                    return
                notices = self.views.notices(req.id)
                if [(n.id, n.status, n.attempts) for n in notices] == snapshot:
                    return
            return
        card = self.where(req, APPROVAL) or self.where(req, REQUEST)  # a withdrawal has no approval card
        if card is None:
            return
        self.cards.post_once(ref(req), NOTICES, lambda: self.slack.chat_postMessage(
            channel=card[0], thread_ts=card[1], text=text, blocks=notices_blocks(req, notices)))

    def _thread(self, req: m.SubjectRequest, text: str) -> None:
        for role in (REQUEST, APPROVAL):
            where = self.where(req, role)
            if where:
                self.slack.chat_postMessage(channel=where[0], thread_ts=where[1], text=text)

    def job_failed(self, req: m.SubjectRequest, reference: str) -> None:
        self.request_changed(req)
        where = self.where(req, REQUEST)
        if where:
            self.slack.chat_postMessage(channel=where[0], thread_ts=where[1],
                                          text=f":x: R-{req.id} failed after {req.attempts} attempts ({reference}). "
                                               "The DPO has been told; nothing was sent to the club.")
