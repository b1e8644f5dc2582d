"""Reject on a bulk run's card: checked now, then a modal asks the reason (the trigger_id expires in 3 s)."""
from __future__ import annotations

from slack_bolt import Ack, BoltContext
from slack_sdk import WebClient

from bot.listeners.actions.bulk import run_id_of
from bot.listeners.deps import deps
from bot.render_bulk import bulk_reject_modal


def bulk_reject(ack: Ack, body: dict, client: WebClient, context: BoltContext) -> None:
    ack()
    d = deps(context)
    run_id = run_id_of(body)
    d.services.purges.check_decidable(actor=d.actor(body["user"]["id"]), run_id=run_id)
    client.views_open(trigger_id=body["trigger_id"], view=bulk_reject_modal(run_id))
