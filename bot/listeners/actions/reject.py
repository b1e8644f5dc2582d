"""Reject button on a request: checks permission first, then asks for a reason in a modal.

This stays on the listener thread: the trigger_id for views.open expires 3 s after the click."""
from __future__ import annotations

from slack_bolt import Ack, BoltContext
from slack_sdk import WebClient

from bot.listeners.actions.approve import _request_id
from bot.listeners.deps import deps
from bot.render import reject_modal


def reject(ack: Ack, body: dict, client: WebClient, context: BoltContext) -> None:
    ack()
    d = deps(context)
    request_id = _request_id(body)
    d.services.subject_requests.check_decidable(actor=d.actor(body["user"]["id"]), request_id=request_id)
    client.views_open(trigger_id=body["trigger_id"], view=reject_modal(request_id))
