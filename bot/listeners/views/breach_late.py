"""The reasons for a late club notice: they go into the notice and the register."""
from __future__ import annotations

from slack_bolt import Ack, BoltContext
from slack_sdk import WebClient

from bot.listeners.decisions import read_reason
from bot.listeners.deps import deps
from bot.listeners.views.breach import later


def breach_late(ack: Ack, body: dict, view: dict, client: WebClient, context: BoltContext) -> None:
    reason = read_reason(ack, view)
    if reason is None:
        return
    d = deps(context)
    breach_id = int(view["private_metadata"])
    later(d, body, lambda actor: d.services.breach_desk.notify(actor=actor, breach_id=breach_id, late_reason=reason))
