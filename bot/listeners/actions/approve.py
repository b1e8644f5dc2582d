"""Approve on a request's card: the approver's role and four eyes are checked in the use case."""
from __future__ import annotations

from slack_bolt import Ack
from slack_sdk import WebClient

from bot.listeners.decisions import approve_later, item_id_of
from bot.listeners.deps import Bot
from gdpr.app.requests import SubjectRequests
from gdpr.core.errors import RequestNotFound


def approve(ack: Ack, body: dict, client: WebClient, *, bot: Bot, requests: SubjectRequests) -> None:
    approve_later(ack, body, client, bot, item_id=item_id_of(body, "request", RequestNotFound), ref="R-",
                  approve=lambda actor, i: requests.approve(actor=actor, request_id=i))
