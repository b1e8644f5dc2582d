"""The Slack side of bulk runs: the dry-run card in the DPO channel, kept current with chat.update."""
from __future__ import annotations

import json
import logging
import tempfile
from pathlib import Path

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.cards import Cards
from bot.render_bulk import bulk_blocks, title
from bot.slack_io import dm_channel
from gdpr.app.purges import BulkViews
from gdpr.core import models as m
from gdpr.requests.export import ExportFile

log = logging.getLogger(__name__)


CARD = "card"


class BulkSlackDelivery:
    def __init__(self, slack: WebClient, cards: Cards, views: BulkViews, approvals: str) -> None:
        self.slack, self.cards, self.views, self.approvals = slack, cards, views, approvals

    def where(self, run: m.BulkRun) -> tuple[str, str] | None:
        return self.cards.where(f"P-{run.id}", CARD)

    def _blocks(self, run: m.BulkRun, rate: float | None = None) -> list[dict]:
        card = self.views.card(run)
        return bulk_blocks(run, samples=card.samples, rate=rate, basis=card.policy.basis if card.policy else None,
                           notices=card.notices)

    def post_card(self, run: m.BulkRun) -> None:
        """The dry-run summary, in the DPO channel; the run remembers where, for every later update."""
        resp = self.slack.chat_postMessage(channel=self.approvals,
                                             text=f"{title(run)}: {run.status.replace('_', ' ')}",
                                             blocks=self._blocks(run))
        self.cards.remember(f"P-{run.id}", CARD, resp)

    def bulk_changed(self, run: m.BulkRun, rate: float | None = None) -> None:
        if self.where(run) is None:
            return
        self.cards.update(f"P-{run.id}", CARD, blocks=self._blocks(run, rate),
                    text=f"{title(run)}: {run.status.replace('_', ' ')} ({run.done:,}/{run.total:,})")

    def bulk_failed(self, run: m.BulkRun, reference: str) -> None:
        self.bulk_changed(run)
        where = self.where(run)
        if where:
            self.slack.chat_postMessage(channel=where[0], thread_ts=where[1],
                                          text=f":x: {title(run)} stopped after {run.done:,} of {run.total:,} "
                                               f"({reference}). What is done stays done; Approve a new run to finish.")

    # -- a club's offboarding: its data handed back, then the signed statement, in the card's thread ------
    def _thread(self, run: m.BulkRun) -> tuple[str, str | None]:
        return self.where(run) or (dm_channel(self.slack, run.requester_id), None)

    def data_returned(self, run: m.BulkRun, export: ExportFile, passphrase: str) -> str:
        """The archive in the thread (for the requester to hand to the club), its passphrase by DM only."""
        channel, ts = self._thread(run)
        rows = sum(export.counts.values())
        resp = self.slack.files_upload_v2(
            channel=channel, thread_ts=ts, file=str(export.path), filename=export.name,
            title=f"Club data for return, {title(run)} (AES-256 zip)",
            initial_comment=(f":package: {title(run)}: the club's data for return, {rows:,} rows from "
                             f"{len([n for n in export.counts.values() if n])} tables (per subject type: data.json, "
                             f"its schema, a CSV per table). The passphrase went to <@{run.requester_id}> by direct "
                             "message. Nothing is erased before this archive was handed over."))
        self.slack.chat_postMessage(
            channel=dm_channel(self.slack, run.requester_id),
            text=(f":key: Passphrase for `{export.name}` ({title(run)}):\n`{passphrase}`\nSend it to the club by a "
                  "different channel than the file. The bot does not store it; this message is its only copy."))
        return resp["file"]["id"] if resp.get("file") else resp["files"][0]["id"]

    def withdraw_returned(self, run: m.BulkRun, file_id: str) -> bool:
        """The club's archive leaves the thread after EXPORT_TTL_DAYS; False if Slack refused (tried again)."""
        try:
            self.slack.files_delete(file=file_id)
        except SlackApiError as exc:
            if exc.response.get("error") not in ("file_not_found", "file_deleted"):
                log.warning("files.delete of P-%s's archive failed: %s", run.id, exc.response.get("error"))
                return False
        channel, ts = self._thread(run)
        self.slack.chat_postMessage(channel=channel, thread_ts=ts, text=(
            f":wastebasket: {title(run)}: the club's data for return was deleted from this thread: its time to live "
            "has passed."))
        return True

    def statement_issued(self, run: m.BulkRun, statement: dict) -> None:
        channel, ts = self._thread(run)
        body = statement["statement"]
        held = ", ".join(f"{h['table']} {h['rows']:,} ({h['reason']})" for h in body["kept_under_legal_hold"]) or "none"
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / f"offboarding-statement-P{run.id}.json"
            path.write_text(json.dumps(statement, indent=2, sort_keys=True))
            self.slack.files_upload_v2(
                channel=channel, thread_ts=ts, file=str(path), filename=path.name,
                title=f"Completion statement, {title(run)} (signed)",
                initial_comment=(f":scroll: {title(run)} is complete: {body['subjects']['processed']:,} subjects erased, "
                                 f"residue {body['residue']}. Kept under a legal hold: {held}. The statement is signed "
                                 f"(Ed25519, public key `{statement['signature']['public_key']}`); give it to the club."))
