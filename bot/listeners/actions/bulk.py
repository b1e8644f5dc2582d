"""What Approve on a bulk run's card does, and which run a button names (listeners: bulk_approve, bulk_reject)."""
from __future__ import annotations

from bot.slack_io import ephemeral
from gdpr.errors import RequestNotFound


def decide(services, client, actor, channel: str, run_id: int) -> None:  # noqa: ANN001
    """The use case approves (four eyes) and queues the run."""
    if not services.purges.approve(actor=actor, run_id=run_id):
        ephemeral(client, channel=channel, user=actor.user_id,
                  text=f":warning: P-{run_id} is approved, but the job queue is unreachable right now. "
                       "It is recorded and will start automatically when the queue is back.")


def run_id_of(body: dict) -> int:
    value = (body.get("actions") or [{}])[0].get("value", "")
    if not value.isdigit():
        raise RequestNotFound("That button does not belong to a bulk run.")
    return int(value)
