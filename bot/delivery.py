"""The Slack presenter of subject requests (gdpr.ports.RequestPresenter): post the cards, keep them
current, DM the passphrase, upload the file, report in the thread."""
from __future__ import annotations

import logging

from slack_sdk.errors import SlackApiError

from bot.render import escape, notices_blocks, request_blocks
from bot.slack_io import dm_channel, post
from gdpr import models as m
from gdpr.export import ExportFile

log = logging.getLogger(__name__)


class SlackDelivery:
    def __init__(self, services) -> None:  # noqa: ANN001 - bootstrap.compose.Services
        self.s = services

    def subject_view(self, req: m.SubjectRequest) -> dict[str, str]:
        found = self.s.directory.load(req.subject_type, req.subject_key)
        if found is None:
            return {"number": "—", "club": "—", "name": "(no longer in the system)", "email": "—", "phone": "—"}
        return found.masked()  # channels always see masked data

    def request_opened(self, req: m.SubjectRequest, subject: dict[str, str]) -> None:
        """The requester's message (their channel, or a DM if the bot is not in it) and the DPO's card."""
        text = f"{req.kind.capitalize()} request R-{req.id}: awaiting DPO approval"
        where, ts = post(self.s.slack, channel=req.channel_id, fallback_user=req.requester_id, text=text,
                         blocks=request_blocks(req, subject, with_buttons=False))
        card_channel, card_ts = post(self.s.slack, channel=self.s.policy.channel("approvals"), fallback_user=None,
                                     text=text, blocks=request_blocks(req, subject, with_buttons=True))
        self.s.requests.attach(request_id=req.id, channel_id=where, message_ts=ts,
                               approval_channel_id=card_channel, approval_ts=card_ts)

    def request_changed(self, req: m.SubjectRequest) -> None:
        subject = self.subject_view(req)
        text = f"{req.kind.capitalize()} request R-{req.id}: {req.status.replace('_', ' ')}"
        for channel, ts, buttons in ((req.channel_id, req.message_ts, False),
                                     (req.approval_channel_id, req.approval_ts, True)):
            if channel and ts:
                try:
                    self.s.slack.chat_update(channel=channel, ts=ts, text=text,
                                             blocks=request_blocks(req, subject, with_buttons=buttons))
                except SlackApiError as exc:  # a stale card must not fail the job
                    log.warning("chat.update R-%s failed: %s", req.id, exc.response.get("error"))

    def send_passphrase(self, req: m.SubjectRequest, export: ExportFile, passphrase: str) -> None:
        self.s.slack.chat_postMessage(
            channel=dm_channel(self.s.slack, req.requester_id),
            text=(f":key: Passphrase for `{export.name}` (access request R-{req.id}):\n`{passphrase}`\n"
                  "Send it to the club by a different channel than the file. The bot does not store it; this "
                  "direct message is its only copy (Slack keeps it under your workspace's retention)."))

    def publish_file(self, req: m.SubjectRequest, export: ExportFile) -> str:
        resp = self.s.slack.files_upload_v2(
            channel=req.channel_id, thread_ts=req.message_ts, file=str(export.path), filename=export.name,
            title=f"Access export R-{req.id} (AES-256 zip)",
            initial_comment=(f"Export for R-{req.id}: {export.rows} rows from "
                             f"{len([n for n in export.counts.values() if n])} tables. "
                             f"The passphrase went to <@{req.requester_id}> by direct message."))
        return resp["file"]["id"] if resp.get("file") else resp["files"][0]["id"]

    def find_published(self, req: m.SubjectRequest) -> str | None:
        """The file id of this request's archive if it is already in the thread (a retry after a crash)."""
        if not req.message_ts or not req.export_name:
            return None
        resp = self.s.slack.conversations_replies(channel=req.channel_id, ts=req.message_ts, limit=200)
        for msg in resp.get("messages", []):
            for f in msg.get("files", []) or []:
                if f.get("name") == req.export_name:
                    return f["id"]
        return None

    def withdraw_file(self, req: m.SubjectRequest, reason: str) -> bool:
        """Delete the archive from Slack (files.delete) and say so in its thread; False if Slack refused
        (the request stays due and the next pass tries again)."""
        try:
            self.s.slack.files_delete(file=req.file_id)
        except SlackApiError as exc:
            if exc.response.get("error") not in ("file_not_found", "file_deleted"):
                log.warning("files.delete R-%s failed: %s", req.id, exc.response.get("error"))
                return False
        self._thread(req, f":wastebasket: The export file of R-{req.id} was deleted from this thread and from the "
                          f"server: {reason}.")
        return True

    def erasure_reported(self, req: m.SubjectRequest, report, hits) -> None:  # noqa: ANN001
        held = sum(c.get("held", 0) for c in report.counts.values())
        if report.already_erased:
            text = f":broom: R-{req.id}: this subject was already erased; nothing left to erase."
        else:
            text = (f":broom: Erasure of R-{req.id} committed in one transaction: {report.rows} rows erased in "
                    f"{len([c for c in report.counts.values() if c.get('erased')])} tables; {held} rows kept "
                    "under legal hold.")
        if hits:
            where = ", ".join(f"`{escape(h.table)}.{escape(h.column)}` ({h.rows} row(s))" for h in hits)
            text += f"\n:x: *Residue check failed*: former identifiers still found in {where}. DPO: please review."
        else:
            text += "\n:white_check_mark: Residue check: none of the former identifiers is left outside legal-hold rows."
        if report.namesakes:
            text += (f"\n:information_source: {report.namesakes} row(s) of other people carry the same full name "
                     "or a value they share (a family email); those are their own data and were left alone.")
        self._thread(req, text)

    def notices_changed(self, req: m.SubjectRequest) -> None:
        notices = self.s.notices.for_request(req.id)
        if not notices:
            return
        text = f"Recipients of R-{req.id}"
        if req.notice_ts:
            # Deliveries run in parallel, so an older snapshot can land after a newer one: after
            # writing, read again and write once more if the state moved on meanwhile.
            for _ in range(5):
                shown = [(n.id, n.status, n.attempts) for n in notices]
                try:
                    self.s.slack.chat_update(channel=req.approval_channel_id, ts=req.notice_ts, text=text,
                                             blocks=notices_blocks(req, notices))
                except SlackApiError as exc:
                    log.warning("chat.update notices R-%s failed: %s", req.id, exc.response.get("error"))
                    return
                notices = self.s.notices.for_request(req.id)
                if [(n.id, n.status, n.attempts) for n in notices] == shown:
                    return
            return
        blocks = notices_blocks(req, notices)
        resp = self.s.slack.chat_postMessage(channel=req.approval_channel_id, thread_ts=req.approval_ts,
                                             text=text, blocks=blocks)
        self.s.requests.attach(request_id=req.id, notice_ts=resp["ts"])
        req.notice_ts = resp["ts"]

    def _thread(self, req: m.SubjectRequest, text: str) -> None:
        for channel, ts in ((req.channel_id, req.message_ts), (req.approval_channel_id, req.approval_ts)):
            if channel and ts:
                self.s.slack.chat_postMessage(channel=channel, thread_ts=ts, text=text)

    def job_failed(self, req: m.SubjectRequest, reference: str) -> None:
        self.request_changed(req)
        if req.message_ts:
            self.s.slack.chat_postMessage(channel=req.channel_id, thread_ts=req.message_ts,
                                          text=f":x: R-{req.id} failed after {req.attempts} attempts ({reference}). "
                                               "The DPO has been told; nothing was sent to the club.")
