"""Risk: high / not high: a modal for the reasoning (and, for a high risk, the Art. 34 decision)."""
from __future__ import annotations

from slack_bolt import Ack
from slack_sdk import WebClient

from bot.listeners.actions.breach import breach_id_of, value_of
from bot.listeners.deps import Bot
from bot.render_breach import members_choice, modal, reason_blocks
from gdpr.app.breaches import BreachDesk
from gdpr.breaches.service import REF


def breach_assess(ack: Ack, body: dict, client: WebClient, *, bot: Bot, breaches: BreachDesk) -> None:
    ack()
    value = value_of(body)
    breach_id, risk = breach_id_of(value), value.split(":", 1)[-1]
    _, clubs, tables = breaches.members_form(actor=bot.actor(body["user"]["id"]), breach_id=breach_id)
    blocks = [reason_blocks("Reasoning (why the clubs and the authority are or are not told)", block="reasoning")]
    if risk == "high":
        blocks = members_choice(clubs, tables) + blocks
    client.views_open(trigger_id=body["trigger_id"], view=modal(
        "breach.assess", f"{breach_id}:{'high' if risk == 'high' else 'not_high'}", f"Risk {REF}{breach_id}", blocks))
