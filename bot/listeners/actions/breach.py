"""Buttons on a breach alert: Notify clubs, Risk high / not high, Snooze a reminder. The DPO's right to act is
checked server-side (breach.manage), in the domain; refusals are audited."""
from __future__ import annotations

from bot import breach_ops
from bot.delivery_breach import BreachSlackDelivery
from bot.render import reason_modal
from bot.render_breach import members_choice, modal, reason_blocks
from gdpr.breaches import REF
from gdpr.errors import RequestNotFound


def _value(body: dict) -> str:
    return (body.get("actions") or [{}])[0].get("value", "")


def _breach_id(value: str) -> int:
    head = value.split(":", 1)[0]
    if not head.isdigit():
        raise RequestNotFound("That button does not belong to a breach.")
    return int(head)


def register(app, services, actors, followups) -> None:  # noqa: ANN001
    @app.action("breach.notify")
    def notify(ack, body, client):  # noqa: ANN001
        ack()
        actor, breach_id = actors.actor(body["user"]["id"]), _breach_id(_value(body))
        breach = services.breaches.ensure_manager(breach_id=breach_id, actor=actor)
        if services.breaches.is_late(breach) and not breach.delay_reason:  # late: the reasons go with the notice
            client.views_open(trigger_id=body["trigger_id"], view=reason_modal(
                callback_id="breach.late", private_metadata=str(breach_id), title=f"Late notice {REF}{breach_id}",
                submit="Notify clubs", question="Reasons for the delay (sent to the clubs with the notice)"))
            return
        followups.submit(lambda: breach_ops.notify(services, client, actor, breach_id),
                         user=actor.user_id, channel=body["channel"]["id"])

    @app.action("breach.assess")
    def assess(ack, body, client):  # noqa: ANN001
        ack()
        value = _value(body)
        breach_id, risk = _breach_id(value), value.split(":", 1)[-1]
        breach = services.breaches.ensure_manager(breach_id=breach_id, actor=actors.actor(body["user"]["id"]))
        blocks = [reason_blocks("Reasoning (why the clubs and the authority are or are not told)", block="reasoning")]
        if risk == "high":
            blocks = members_choice(services.breach_mail.clubs(breach.clubs),
                                    sorted(services.breach_mail.dated_tables())) + blocks
        client.views_open(trigger_id=body["trigger_id"], view=modal(
            "breach.assess", f"{breach_id}:{'high' if risk == 'high' else 'not_high'}",
            f"Risk {REF}{breach_id}", blocks))

    @app.action("breach.members_send")
    def members_send(ack, body, client):  # noqa: ANN001
        ack()
        actor, breach_id = actors.actor(body["user"]["id"]), _breach_id(_value(body))
        followups.submit(lambda: breach_ops.send_members(services, actor, breach_id),
                         user=actor.user_id, channel=body["channel"]["id"])

    @app.action("breach.snooze")
    def snooze(ack, body, client):  # noqa: ANN001
        ack()
        value, actor = _value(body), actors.actor(body["user"]["id"])
        if not value.isdigit():
            raise RequestNotFound("That button does not belong to a reminder.")
        reminder = services.breaches.snooze(reminder_id=int(value), actor=actor)
        BreachSlackDelivery(services).refresh(services.breaches.get(reminder.breach_id))
