"""The temporary-access reject modal: a reason is required; the decision is re-checked in the use case."""
from __future__ import annotations

from slack_bolt import Ack, BoltContext
from slack_sdk import WebClient

from bot.listeners.decisions import reject_with_reason


def grant_reject_reason(ack: Ack, body: dict, view: dict, client: WebClient, context: BoltContext) -> None:
    reject_with_reason(ack, body, view, client, context, lambda services, actor, i, reason:
                       services.access_grants.reject(actor=actor, grant_id=i, reason=reason))
