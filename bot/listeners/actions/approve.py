"""Approve on a request's card: the approver's role and four eyes are checked in the use case."""
from __future__ import annotations

from slack_bolt import Ack, BoltContext
from slack_sdk import WebClient

from bot.listeners.decisions import approve_later, item_id_of
from gdpr.errors import RequestNotFound


def approve(ack: Ack, body: dict, client: WebClient, context: BoltContext) -> None:
    approve_later(ack, body, client, context, item_id=item_id_of(body, "request", RequestNotFound), ref="R-",
                  approve=lambda services, actor, i: services.subject_requests.approve(actor=actor, request_id=i))
