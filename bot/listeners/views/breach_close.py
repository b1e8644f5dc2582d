"""The close-out modal: remedial actions and the reasoning are required; the summary goes to the channel."""
from __future__ import annotations

from slack_bolt import Ack, BoltContext
from slack_sdk import WebClient

from bot import breach_ops
from bot.listeners.deps import deps
from bot.listeners.views.breach import later


def breach_close(ack: Ack, body: dict, view: dict, client: WebClient, context: BoltContext) -> None:
    d = deps(context)
    v, errors = breach_ops.reasons(view, "remedial", "reasoning")
    if errors:
        ack(response_action="errors", errors=errors)
        return
    ack()
    breach_id = int(view["private_metadata"])
    later(d, body, lambda actor: d.services.breach_desk.close(actor=actor, breach_id=breach_id, remedial=v["remedial"],
                                                              reasoning=v["reasoning"]))
