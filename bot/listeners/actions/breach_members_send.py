"""Send on the Art. 34 preview: the previewed member notices are queued, once."""
from __future__ import annotations

from slack_bolt import Ack
from slack_sdk import WebClient

from bot.listeners.actions.breach import breach_id_of, value_of
from bot.listeners.deps import Bot
from gdpr.app.breaches import BreachDesk


def breach_members_send(ack: Ack, body: dict, client: WebClient, *, bot: Bot, breaches: BreachDesk) -> None:
    ack()
    actor, breach_id = bot.actor(body["user"]["id"]), breach_id_of(value_of(body))
    bot.followups.submit(lambda: breaches.send_members(actor=actor, breach_id=breach_id),
                         user=actor.user_id, channel=body["channel"]["id"])
