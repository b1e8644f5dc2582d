"""The breach report modal: the Art. 33(3) facts, validated in the modal; then the register and the alert."""
from __future__ import annotations

from slack_bolt import Ack
from slack_sdk import WebClient

from bot import breach_forms
from bot.listeners.deps import Bot
from bot.listeners.views.breach import later
from gdpr.app.breaches import BreachDesk


def breach_report(ack: Ack, body: dict, view: dict, client: WebClient, *, bot: Bot, breaches: BreachDesk) -> None:
    facts, errors = breach_forms.read_facts(view, breaches.now())
    if errors or facts is None:
        ack(response_action="errors", errors=errors)
        return
    ack()
    later(bot, client, body, lambda actor: breach_forms.reported(client, actor, breaches.report(actor=actor,
                                                                                                facts=facts)))
