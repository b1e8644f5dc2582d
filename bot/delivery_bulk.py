"""The Slack side of bulk runs: the dry-run card in the DPO channel, kept current with chat.update."""
from __future__ import annotations

import logging

from slack_sdk.errors import SlackApiError

from bot.render_bulk import bulk_blocks, title
from gdpr import models as m
from gdpr.retention import BulkSpec

log = logging.getLogger(__name__)


class BulkSlackDelivery:
    def __init__(self, services) -> None:  # noqa: ANN001 - bootstrap.compose.Services
        self.s = services

    def _blocks(self, run: m.BulkRun, rate: float | None = None) -> list[dict]:
        policy = self.s.retention.policies.get(run.policy) if run.kind == "retention" else None
        samples = None
        if run.status == m.AWAITING_APPROVAL:  # masked, rendered now, never stored
            samples = self.s.bulk.samples(BulkSpec.from_json(run.spec), run.as_of)
        return bulk_blocks(run, samples=samples, rate=rate, basis=policy.basis if policy else None,
                           notices=self.s.notices.run_summary(run.id) if run.status == m.DONE else None)

    def post_card(self, run: m.BulkRun) -> None:
        """The dry-run summary, in the DPO channel; the run remembers where, for every later update."""
        resp = self.s.slack.chat_postMessage(channel=self.s.policy.channel("approvals"),
                                             text=f"{title(run)}: {run.status.replace('_', ' ')}",
                                             blocks=self._blocks(run))
        self.s.runs.card_posted(run_id=run.id, channel_id=resp["channel"], message_ts=resp["ts"])

    def bulk_changed(self, run: m.BulkRun, rate: float | None = None) -> None:
        if not run.channel_id or not run.message_ts:
            run = self.s.runs.get(run.id)  # the card may have been posted after this copy was read
            if not run.channel_id or not run.message_ts:
                return
        try:
            self.s.slack.chat_update(channel=run.channel_id, ts=run.message_ts, blocks=self._blocks(run, rate),
                                     text=f"{title(run)}: {run.status.replace('_', ' ')} ({run.done:,}/{run.total:,})")
        except SlackApiError as exc:  # a stale card must not fail the run
            log.warning("chat.update P-%s failed: %s", run.id, exc.response.get("error"))

    def bulk_failed(self, run: m.BulkRun, reference: str) -> None:
        self.bulk_changed(run)
        if run.channel_id and run.message_ts:
            self.s.slack.chat_postMessage(channel=run.channel_id, thread_ts=run.message_ts,
                                          text=f":x: {title(run)} stopped after {run.done:,} of {run.total:,} "
                                               f"({reference}). What is done stays done; Approve a new run to finish.")
