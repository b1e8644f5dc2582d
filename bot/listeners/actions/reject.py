"""Reject on a request's card: checked now, then a modal asks the reason."""
from __future__ import annotations

from slack_bolt import Ack
from slack_sdk import WebClient

from bot.listeners.decisions import ask_reason, item_id_of
from bot.listeners.deps import Bot
from bot.render import reject_modal
from gdpr.app.requests import SubjectRequests
from gdpr.core.errors import RequestNotFound


def reject(ack: Ack, body: dict, client: WebClient, *, bot: Bot, requests: SubjectRequests) -> None:
    request_id = item_id_of(body, "request", RequestNotFound)
    ask_reason(ack, body, client, bot, item_id=request_id, modal=reject_modal(request_id),
               check=lambda actor, i: requests.check_decidable(actor=actor, request_id=i))
