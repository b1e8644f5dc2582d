"""Approve on a bulk run's card: role and four eyes are checked in the use case."""
from __future__ import annotations

from slack_bolt import Ack
from slack_sdk import WebClient

from bot.listeners.decisions import approve_later, item_id_of
from bot.listeners.deps import Bot
from gdpr.app.purges import Purges
from gdpr.core.errors import RunNotFound


def bulk_approve(ack: Ack, body: dict, client: WebClient, *, bot: Bot, purges: Purges) -> None:
    approve_later(ack, body, client, bot, item_id=item_id_of(body, "bulk run", RunNotFound), ref="P-",
                  approve=lambda actor, i: purges.approve(actor=actor, run_id=i))
