"""Reject on a bulk run's card: checked now, then a modal asks the reason (the trigger_id expires in 3 s)."""
from __future__ import annotations

from slack_bolt import Ack, BoltContext
from slack_sdk import WebClient

from bot.listeners.actions.bulk import run_id_of
from bot.listeners.deps import deps
from bot.render_bulk import bulk_reject_modal
from gdpr import models as m
from gdpr.errors import AlreadyDecided


def bulk_reject(ack: Ack, body: dict, client: WebClient, context: BoltContext) -> None:
    ack()
    d = deps(context)
    run_id = run_id_of(body)
    run = d.services.runs.ensure_can_decide(run_id=run_id, actor=d.actor(body["user"]["id"]))
    if run.status != m.AWAITING_APPROVAL:
        raise AlreadyDecided(f"P-{run_id} was already decided ({run.status.replace('_', ' ')}).")
    client.views_open(trigger_id=body["trigger_id"], view=bulk_reject_modal(run_id))
