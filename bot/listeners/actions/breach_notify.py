"""Notify clubs: one notice per affected club and phase; a late one first asks the reasons for the delay."""
from __future__ import annotations

from slack_bolt import Ack, BoltContext
from slack_sdk import WebClient

from bot.listeners.actions.breach import breach_id_of, value_of
from bot.listeners.deps import deps
from bot.render import reason_modal
from gdpr.breaches import REF


def breach_notify(ack: Ack, body: dict, client: WebClient, context: BoltContext) -> None:
    ack()
    d = deps(context)
    actor, breach_id = d.actor(body["user"]["id"]), breach_id_of(value_of(body))
    desk = d.services.breach_desk
    if desk.needs_delay_reason(desk.managed(actor=actor, breach_id=breach_id)):  # late: the reasons go with the notice
        client.views_open(trigger_id=body["trigger_id"], view=reason_modal(
            callback_id="breach.late", private_metadata=str(breach_id), title=f"Late notice {REF}{breach_id}",
            submit="Notify clubs", question="Reasons for the delay (sent to the clubs with the notice)"))
        return
    d.followups.submit(lambda: desk.notify(actor=actor, breach_id=breach_id),
                       user=actor.user_id, channel=body["channel"]["id"])
