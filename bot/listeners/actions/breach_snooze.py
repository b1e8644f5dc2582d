"""Snooze a breach reminder: it comes back after `snooze_minutes`."""
from __future__ import annotations

from slack_bolt import Ack, BoltContext

from bot.listeners.actions.breach import value_of
from bot.listeners.deps import deps
from gdpr.errors import BreachNotFound


def breach_snooze(ack: Ack, body: dict, context: BoltContext) -> None:
    ack()
    d = deps(context)
    value, actor = value_of(body), d.actor(body["user"]["id"])
    if not value.isdigit():
        raise BreachNotFound("That button does not belong to a reminder.")
    d.services.breach_desk.snooze(actor=actor, reminder_id=int(value))
