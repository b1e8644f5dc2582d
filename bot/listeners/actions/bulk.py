"""Approve / Reject on a bulk run's card: role and four eyes resolved server-side, in the domain."""
from __future__ import annotations

from bot.delivery_bulk import BulkSlackDelivery
from bot.render_bulk import bulk_reject_modal
from bot.slack_io import ephemeral
from gdpr import models as m
from gdpr.errors import AlreadyDecided, RequestNotFound


def register(app, services, actors, followups) -> None:  # noqa: ANN001
    @app.action("bulk.approve")
    def approve(ack, body, client):  # noqa: ANN001
        ack()
        run_id, user, channel = run_id_of(body), body["user"]["id"], body["channel"]["id"]
        followups.submit(lambda: decide(services, client, actors.actor(user), channel, run_id),
                         user=user, channel=channel)

    @app.action("bulk.reject")
    def reject(ack, body, client):  # noqa: ANN001 - stays on this thread: the trigger_id expires in 3 s
        ack()
        run_id = run_id_of(body)
        run = services.runs.ensure_can_decide(run_id=run_id, actor=actors.actor(body["user"]["id"]))
        if run.status != m.AWAITING_APPROVAL:
            raise AlreadyDecided(f"P-{run_id} was already decided ({run.status.replace('_', ' ')}).")
        client.views_open(trigger_id=body["trigger_id"], view=bulk_reject_modal(run_id))


def decide(services, client, actor, channel: str, run_id: int) -> None:  # noqa: ANN001
    run = services.runs.approve(run_id=run_id, actor=actor)
    try:
        services.enqueue_run(run_id)
        services.runs.mark_queued(run_id=run_id)
    except Exception:  # the state DB leads: the reconciler sends it when the queue is back
        ephemeral(client, channel=channel, user=actor.user_id,
                  text=f":warning: P-{run_id} is approved, but the job queue is unreachable right now. "
                       "It is recorded and will start automatically when the queue is back.")
    current = services.runs.get(run.id)
    if current.status in (m.APPROVED, m.QUEUED):  # once the job has the card, its paced updates own it
        BulkSlackDelivery(services).bulk_changed(current)


def run_id_of(body: dict) -> int:
    value = (body.get("actions") or [{}])[0].get("value", "")
    if not value.isdigit():
        raise RequestNotFound("That button does not belong to a bulk run.")
    return int(value)
