"""Reject on a bulk run's card: checked now, then a modal asks the reason."""
from __future__ import annotations

from slack_bolt import Ack, BoltContext
from slack_sdk import WebClient

from bot.listeners.decisions import ask_reason, item_id_of
from bot.render_bulk import bulk_reject_modal
from gdpr.errors import RunNotFound


def bulk_reject(ack: Ack, body: dict, client: WebClient, context: BoltContext) -> None:
    run_id = item_id_of(body, "bulk run", RunNotFound)
    ask_reason(ack, body, client, context, item_id=run_id, modal=bulk_reject_modal(run_id),
               check=lambda services, actor, i: services.purges.check_decidable(actor=actor, run_id=i))
