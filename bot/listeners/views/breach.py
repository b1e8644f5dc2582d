"""Breach modals: the report (fields validated in the modal), an update, the late-notice reasons, the
risk assessment, the close-out. Each answers the modal first, then works on the follow-up pool."""
from __future__ import annotations

from bot import breach_ops
from bot.listeners.views.reject_reason import read_reason
from gdpr.errors import GdprError


def register(app, services, actors, followups) -> None:  # noqa: ANN001
    def later(body, work) -> None:  # noqa: ANN001
        user = body["user"]["id"]
        actor = actors.actor(user)

        def run() -> None:
            try:
                work(actor)
            except GdprError as exc:  # modals have no channel: answer by DM
                breach_ops.dm_error(services.slack, user, exc)
        followups.submit(run, user=user, channel=None)

    @app.view("breach.report")
    def report(ack, body, view, client):  # noqa: ANN001
        facts, errors = breach_ops.read_facts(view, services.breaches.clock())
        if errors:
            ack(response_action="errors", errors=errors)
            return
        ack()
        later(body, lambda actor: breach_ops.report(services, client, actor, facts))

    @app.view("breach.update")
    def update(ack, body, view, client):  # noqa: ANN001
        breach_id = int(view["private_metadata"])
        v = breach_ops.values(view)
        _, errors = breach_ops.reasons(view, *[b for b in ("what", "consequences", "measures", "contact", "delay")
                                              if b in v])
        errors.update({b: "A whole number, 0 or more." for b in ("people", "records") if not str(v.get(b, "")).isdigit()})
        if errors:
            ack(response_action="errors", errors=errors)
            return
        ack()
        changes = {"description": v["what"], "consequences": v["consequences"], "measures": v["measures"],
                   "contact": v["contact"], "approx_people": int(v["people"]), "approx_records": int(v["records"])}

        def work(actor) -> None:  # noqa: ANN001
            services.breaches.update_facts(breach_id=breach_id, actor=actor, changes=changes)
            breach_ops.notify(services, client, actor, breach_id, late_reason=v.get("delay") or None, new_phase=True)
        later(body, work)

    @app.view("breach.late")
    def late(ack, body, view, client):  # noqa: ANN001
        reason = read_reason(ack, view)
        if reason is None:
            return
        breach_id = int(view["private_metadata"])
        later(body, lambda actor: breach_ops.notify(services, client, actor, breach_id, late_reason=reason))

    @app.view("breach.assess")
    def assess(ack, body, view, client):  # noqa: ANN001
        v, errors = breach_ops.reasons(view, "reasoning")
        if "members" in v and not v["members"]:
            errors["members"] = "Choose one."
        if v.get("members") == "notify":
            v["target"] = breach_ops.read_members(services, v, errors)
        if errors:
            ack(response_action="errors", errors=errors)
            return
        ack()
        breach_id, risk = view["private_metadata"].split(":")
        later(body, lambda actor: breach_ops.assess(services, client, actor, int(breach_id), risk, v))

    @app.view("breach.close")
    def close(ack, body, view, client):  # noqa: ANN001
        v, errors = breach_ops.reasons(view, "remedial", "reasoning")
        if errors:
            ack(response_action="errors", errors=errors)
            return
        ack()
        breach_id = int(view["private_metadata"])
        later(body, lambda actor: breach_ops.close(services, client, actor, breach_id, v))
