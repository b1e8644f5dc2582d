"""Approve on a temporary-access card: four eyes and the DPO's permission are checked in the use case."""
from __future__ import annotations

from slack_bolt import Ack
from slack_sdk import WebClient

from bot.listeners.decisions import approve_later, item_id_of
from bot.listeners.deps import Bot
from gdpr.app.grants import Grants
from gdpr.core.errors import GrantNotFound


def grant_approve(ack: Ack, body: dict, client: WebClient, *, bot: Bot, grants: Grants) -> None:
    approve_later(ack, body, client, bot, item_id=item_id_of(body, "access grant", GrantNotFound), ref="G-",
                  approve=lambda actor, i: grants.approve(actor=actor, grant_id=i))
