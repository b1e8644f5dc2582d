"""Approve button on a request: the approver's role is resolved here, server-side, never from the payload."""
from __future__ import annotations

import logging

from slack_bolt import Ack, BoltContext
from slack_sdk import WebClient

from bot.delivery import SlackDelivery
from bot.listeners.deps import deps
from bot.slack_io import ephemeral
from gdpr.errors import RequestNotFound

log = logging.getLogger(__name__)


def approve(ack: Ack, body: dict, client: WebClient, context: BoltContext) -> None:
    ack()
    d = deps(context)
    request_id, user, channel = _request_id(body), body["user"]["id"], body["channel"]["id"]
    d.followups.submit(lambda: decide(d.services, client, d.actor(user), channel, request_id), user=user, channel=channel)


def decide(services, client, actor, channel: str, request_id: int) -> None:  # noqa: ANN001
    """Approve (four eyes and role checked server-side, in the domain), then queue the job."""
    services.requests.approve(request_id=request_id, actor=actor)
    if not enqueue_approved(services, request_id):
        ephemeral(client, channel=channel, user=actor.user_id,
                  text=f":warning: R-{request_id} is approved, but the job queue is unreachable right now. "
                       "It is recorded and will be sent automatically when the queue is back.")


def enqueue_approved(services, request_id: int) -> bool:  # noqa: ANN001
    """Queue the job. If the broker is down the request stays 'approved' and the reconciler sends it."""
    try:
        services.enqueue_request(request_id)
        services.requests.mark_queued(request_id=request_id)
        return True
    except Exception as exc:  # the state DB leads: nothing is lost, the reconciler re-sends
        log.warning("enqueue of R-%s failed: %s", request_id, type(exc).__name__)
        return False
    finally:
        SlackDelivery(services).request_changed(services.requests.get(request_id))


def _request_id(body: dict) -> int:
    value = (body.get("actions") or [{}])[0].get("value", "")
    if not value.isdigit():
        raise RequestNotFound("That button does not belong to a request.")
    return int(value)
