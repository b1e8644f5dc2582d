"""Snooze a breach reminder: it comes back after `snooze_minutes`."""
from __future__ import annotations

from slack_bolt import Ack
from slack_sdk import WebClient

from bot.listeners.actions.breach import value_of
from bot.listeners.deps import Bot
from gdpr.app.breaches import BreachDesk
from gdpr.core.errors import BreachNotFound


def breach_snooze(ack: Ack, body: dict, client: WebClient, *, bot: Bot, breaches: BreachDesk) -> None:
    ack()
    value, actor = value_of(body), bot.actor(body["user"]["id"])
    if not value.isdigit():
        raise BreachNotFound("That button does not belong to a reminder.")
    breaches.snooze(actor=actor, reminder_id=int(value))
