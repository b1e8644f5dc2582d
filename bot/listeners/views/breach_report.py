"""The breach report modal: the Art. 33(3) facts, validated in the modal; then the register and the alert."""
from __future__ import annotations

from slack_bolt import Ack, BoltContext
from slack_sdk import WebClient

from bot import breach_ops
from bot.listeners.deps import deps
from bot.listeners.views.breach import later


def breach_report(ack: Ack, body: dict, view: dict, client: WebClient, context: BoltContext) -> None:
    d = deps(context)
    facts, errors = breach_ops.read_facts(view, d.services.breaches.clock())
    if errors:
        ack(response_action="errors", errors=errors)
        return
    ack()
    later(d, body, lambda actor: breach_ops.reported(client, actor, d.services.breach_desk.report(actor=actor,
                                                                                                  facts=facts)))
