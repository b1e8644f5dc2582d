"""Reject on a temporary-access card: checked now, then a modal asks the reason."""
from __future__ import annotations

from slack_bolt import Ack, BoltContext
from slack_sdk import WebClient

from bot.listeners.decisions import ask_reason, item_id_of
from bot.render_grant import reject_modal
from gdpr.errors import GrantNotFound


def grant_reject(ack: Ack, body: dict, client: WebClient, context: BoltContext) -> None:
    grant_id = item_id_of(body, "access grant", GrantNotFound)
    ask_reason(ack, body, client, context, item_id=grant_id, modal=reject_modal(grant_id),
               check=lambda services, actor, i: services.access_grants.check_decidable(actor=actor, grant_id=i))
