"""The risk assessment modal; for a high risk, the Art. 34 decision: the instructing clubs and the members named."""
from __future__ import annotations

from slack_bolt import Ack
from slack_sdk import WebClient

from bot import breach_forms
from bot.listeners.deps import Bot
from bot.listeners.views.breach import later
from gdpr.app.breaches import BreachDesk


def breach_assess(ack: Ack, body: dict, view: dict, client: WebClient, *, bot: Bot, breaches: BreachDesk) -> None:
    v, errors = breach_forms.reasons(view, "reasoning")
    if "members" in v and not v["members"]:
        errors["members"] = "Choose one."
    if v.get("members") == "notify":
        v["target"] = breach_forms.read_members(breaches, v, errors)
    if errors:
        ack(response_action="errors", errors=errors)
        return
    ack()
    breach_id, risk = view["private_metadata"].split(":")
    later(bot, client, body, lambda actor: breaches.assess(
        actor=actor, breach_id=int(breach_id), risk=risk, reasoning=v["reasoning"], members=v.get("members") or None,
        target=v.get("target"), instructed=v.get("instructed")))
