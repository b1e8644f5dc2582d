"""The Slack side of bulk runs: the dry-run card in the DPO channel, kept current with chat.update."""
from __future__ import annotations

import logging


from bot.cards import update_card
from bot.render_bulk import bulk_blocks, title
from gdpr import models as m
from gdpr.retention import BulkSpec

log = logging.getLogger(__name__)


CARD = "card"


class BulkSlackDelivery:
    def __init__(self, services) -> None:  # noqa: ANN001 - bootstrap.compose.Services
        self.services = services

    def where(self, run: m.BulkRun) -> tuple[str, str] | None:
        return self.services.shown.where(f"P-{run.id}", CARD)

    def _blocks(self, run: m.BulkRun, rate: float | None = None) -> list[dict]:
        policy = self.services.retention.policies.get(run.policy) if run.source == "retention" else None
        samples = None
        if run.status == m.AWAITING_APPROVAL:  # masked, rendered now, never stored
            samples = self.services.bulk.samples(BulkSpec.from_json(run.spec), run.as_of)
        return bulk_blocks(run, samples=samples, rate=rate, basis=policy.basis if policy else None,
                           notices=self.services.notices.run_summary(run.id) if run.status == m.DONE else None)

    def post_card(self, run: m.BulkRun) -> None:
        """The dry-run summary, in the DPO channel; the run remembers where, for every later update."""
        resp = self.services.slack.chat_postMessage(channel=self.services.policy.channel("approvals"),
                                             text=f"{title(run)}: {run.status.replace('_', ' ')}",
                                             blocks=self._blocks(run))
        self.services.shown.remember(f"P-{run.id}", CARD, (resp["channel"], resp["ts"]))

    def bulk_changed(self, run: m.BulkRun, rate: float | None = None) -> None:
        if self.where(run) is None:
            return
        update_card(self.services, f"P-{run.id}", CARD, blocks=self._blocks(run, rate),
                    text=f"{title(run)}: {run.status.replace('_', ' ')} ({run.done:,}/{run.total:,})")

    def bulk_failed(self, run: m.BulkRun, reference: str) -> None:
        self.bulk_changed(run)
        where = self.where(run)
        if where:
            self.services.slack.chat_postMessage(channel=where[0], thread_ts=where[1],
                                          text=f":x: {title(run)} stopped after {run.done:,} of {run.total:,} "
                                               f"({reference}). What is done stays done; Approve a new run to finish.")
