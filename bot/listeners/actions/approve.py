"""Approve button on a request: the approver's role is resolved here, server-side, never from the payload."""
from __future__ import annotations

from slack_bolt import Ack, BoltContext
from slack_sdk import WebClient

from bot.listeners.deps import deps
from bot.slack_io import ephemeral
from gdpr.errors import RequestNotFound


def approve(ack: Ack, body: dict, client: WebClient, context: BoltContext) -> None:
    ack()
    d = deps(context)
    request_id, user, channel = _request_id(body), body["user"]["id"], body["channel"]["id"]
    d.followups.submit(lambda: decide(d.services, client, d.actor(user), channel, request_id), user=user, channel=channel)


def decide(services, client, actor, channel: str, request_id: int) -> None:  # noqa: ANN001
    """The use case approves (four eyes and role checked in the domain) and queues the job."""
    if not services.subject_requests.approve(actor=actor, request_id=request_id):
        ephemeral(client, channel=channel, user=actor.user_id,
                  text=f":warning: R-{request_id} is approved, but the job queue is unreachable right now. "
                       "It is recorded and will be sent automatically when the queue is back.")


def _request_id(body: dict) -> int:
    value = (body.get("actions") or [{}])[0].get("value", "")
    if not value.isdigit():
        raise RequestNotFound("That button does not belong to a request.")
    return int(value)
