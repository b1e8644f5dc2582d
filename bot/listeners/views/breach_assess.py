"""The risk assessment modal; for a high risk, the Art. 34 decision: the instructing clubs and the members named."""
from __future__ import annotations

from slack_bolt import Ack, BoltContext
from slack_sdk import WebClient

from bot import breach_ops
from bot.listeners.deps import deps
from bot.listeners.views.breach import later


def breach_assess(ack: Ack, body: dict, view: dict, client: WebClient, context: BoltContext) -> None:
    d = deps(context)
    v, errors = breach_ops.reasons(view, "reasoning")
    if "members" in v and not v["members"]:
        errors["members"] = "Choose one."
    if v.get("members") == "notify":
        v["target"] = breach_ops.read_members(d.services, v, errors)
    if errors:
        ack(response_action="errors", errors=errors)
        return
    ack()
    breach_id, risk = view["private_metadata"].split(":")
    later(d, body, lambda actor: d.services.breach_desk.assess(
        actor=actor, breach_id=int(breach_id), risk=risk, reasoning=v["reasoning"], members=v.get("members") or None,
        target=v.get("target"), instructed=v.get("instructed")))
