"""The reasons for a late club notice: they go into the notice and the register."""
from __future__ import annotations

from slack_bolt import Ack
from slack_sdk import WebClient

from bot.listeners.decisions import read_reason
from bot.listeners.deps import Bot
from bot.listeners.views.breach import later
from gdpr.app.breaches import BreachDesk


def breach_late(ack: Ack, body: dict, view: dict, client: WebClient, *, bot: Bot, breaches: BreachDesk) -> None:
    reason = read_reason(ack, view)
    if reason is None:
        return
    breach_id = int(view["private_metadata"])
    later(bot, client, body, lambda actor: breaches.notify(actor=actor, breach_id=breach_id, late_reason=reason))
