"""Approve on a bulk run's card: role and four eyes are checked in the use case."""
from __future__ import annotations

from slack_bolt import Ack, BoltContext
from slack_sdk import WebClient

from bot.listeners.decisions import approve_later, item_id_of
from gdpr.errors import RunNotFound


def bulk_approve(ack: Ack, body: dict, client: WebClient, context: BoltContext) -> None:
    approve_later(ack, body, client, context, item_id=item_id_of(body, "bulk run", RunNotFound), ref="P-",
                  approve=lambda services, actor, i: services.purges.approve(actor=actor, run_id=i))
