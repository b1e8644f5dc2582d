"""Notify clubs: one notice per affected club and phase; a late one first asks the reasons for the delay."""
from __future__ import annotations

from slack_bolt import Ack
from slack_sdk import WebClient

from bot.listeners.actions.breach import breach_id_of, value_of
from bot.listeners.deps import Bot
from bot.render import reason_modal
from gdpr.app.breaches import BreachDesk
from gdpr.breaches.service import REF


def breach_notify(ack: Ack, body: dict, client: WebClient, *, bot: Bot, breaches: BreachDesk) -> None:
    ack()
    actor, breach_id = bot.actor(body["user"]["id"]), breach_id_of(value_of(body))
    if breaches.needs_delay_reason(breaches.managed(actor=actor, breach_id=breach_id)):  # late: reasons go with it
        client.views_open(trigger_id=body["trigger_id"], view=reason_modal(
            callback_id="breach.late", private_metadata=str(breach_id), title=f"Late notice {REF}{breach_id}",
            submit="Notify clubs", question="Reasons for the delay (sent to the clubs with the notice)"))
        return
    bot.followups.submit(lambda: breaches.notify(actor=actor, breach_id=breach_id),
                         user=actor.user_id, channel=body["channel"]["id"])
