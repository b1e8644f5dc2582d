"""The close-out modal: remedial actions and the reasoning are required; the summary goes to the channel."""
from __future__ import annotations

from slack_bolt import Ack
from slack_sdk import WebClient

from bot import breach_forms
from bot.listeners.deps import Bot
from bot.listeners.views.breach import later
from gdpr.app.breaches import BreachDesk


def breach_close(ack: Ack, body: dict, view: dict, client: WebClient, *, bot: Bot, breaches: BreachDesk) -> None:
    v, errors = breach_forms.reasons(view, "remedial", "reasoning")
    if errors:
        ack(response_action="errors", errors=errors)
        return
    ack()
    breach_id = int(view["private_metadata"])
    later(bot, client, body, lambda actor: breaches.close(actor=actor, breach_id=breach_id, remedial=v["remedial"],
                                                          reasoning=v["reasoning"]))
