"""The temporary-access reject modal: a reason is required; the decision is re-checked in the use case."""
from __future__ import annotations

from slack_bolt import Ack
from slack_sdk import WebClient

from bot.listeners.decisions import reject_with_reason
from bot.listeners.deps import Bot
from gdpr.app.grants import Grants


def grant_reject_reason(ack: Ack, body: dict, view: dict, client: WebClient, *, bot: Bot, grants: Grants) -> None:
    reject_with_reason(ack, body, view, client, bot, lambda actor, i, reason: grants.reject(actor=actor, grant_id=i, reason=reason))
