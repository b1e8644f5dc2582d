"""Approve on a temporary-access card: four eyes and the DPO's permission are checked in the use case."""
from __future__ import annotations

from slack_bolt import Ack, BoltContext
from slack_sdk import WebClient

from bot.listeners.decisions import approve_later, item_id_of
from gdpr.errors import GrantNotFound


def grant_approve(ack: Ack, body: dict, client: WebClient, context: BoltContext) -> None:
    approve_later(ack, body, client, context, item_id=item_id_of(body, "access grant", GrantNotFound), ref="G-",
                  approve=lambda services, actor, i: services.access_grants.approve(actor=actor, grant_id=i))
