"""New facts about a breach: recorded, then a follow-up notice (the next phase) to every club."""
from __future__ import annotations

from slack_bolt import Ack
from slack_sdk import WebClient

from bot import breach_forms
from bot.listeners.deps import Bot
from bot.listeners.views.breach import later
from gdpr.app.breaches import BreachDesk


def breach_update(ack: Ack, body: dict, view: dict, client: WebClient, *, bot: Bot, breaches: BreachDesk) -> None:
    breach_id = int(view["private_metadata"])
    v = breach_forms.values(view)
    _, errors = breach_forms.reasons(view, *[b for b in ("what", "consequences", "measures", "contact", "delay")
                                             if b in v])
    errors.update({b: "A whole number, 0 or more." for b in ("people", "records") if not str(v.get(b, "")).isdigit()})
    if errors:
        ack(response_action="errors", errors=errors)
        return
    ack()
    changes = {"description": v["what"], "consequences": v["consequences"], "measures": v["measures"],
               "contact": v["contact"], "approx_people": int(v["people"]), "approx_records": int(v["records"])}
    later(bot, client, body, lambda actor: breaches.update(actor=actor, breach_id=breach_id, changes=changes,
                                                           late_reason=v.get("delay") or None))
