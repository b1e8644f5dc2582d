"""What Approve on a bulk run's card does, and which run a button names (listeners: bulk_approve, bulk_reject)."""
from __future__ import annotations

from bot.delivery_bulk import BulkSlackDelivery
from bot.slack_io import ephemeral
from gdpr import models as m
from gdpr.errors import RequestNotFound


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
