"""Reject on a bulk run's card: checked now, then a modal asks the reason."""
from __future__ import annotations

from slack_bolt import Ack
from slack_sdk import WebClient

from bot.listeners.decisions import ask_reason, item_id_of
from bot.listeners.deps import Bot
from bot.render_bulk import bulk_reject_modal
from gdpr.app.purges import Purges
from gdpr.core.errors import RunNotFound


def bulk_reject(ack: Ack, body: dict, client: WebClient, *, bot: Bot, purges: Purges) -> None:
    run_id = item_id_of(body, "bulk run", RunNotFound)
    ask_reason(ack, body, client, bot, item_id=run_id, modal=bulk_reject_modal(run_id),
               check=lambda actor, i: purges.check_decidable(actor=actor, run_id=i))
