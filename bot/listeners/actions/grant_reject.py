"""Reject on a temporary-access card: checked now, then a modal asks the reason."""
from __future__ import annotations

from slack_bolt import Ack
from slack_sdk import WebClient

from bot.listeners.decisions import ask_reason, item_id_of
from bot.listeners.deps import Bot
from bot.render_grant import reject_modal
from gdpr.app.grants import Grants
from gdpr.core.errors import GrantNotFound


def grant_reject(ack: Ack, body: dict, client: WebClient, *, bot: Bot, grants: Grants) -> None:
    grant_id = item_id_of(body, "access grant", GrantNotFound)
    ask_reason(ack, body, client, bot, item_id=grant_id, modal=reject_modal(grant_id),
               check=lambda actor, i: grants.check_decidable(actor=actor, grant_id=i))
