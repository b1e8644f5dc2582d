"""Approve button: the approver's role is resolved here, server-side, never from the payload."""
from __future__ import annotations

from bot.delivery import SlackDelivery
from gdpr.errors import RequestNotFound


def register(app, services, actors) -> None:  # noqa: ANN001
    @app.action("request.approve")
    def approve(ack, body, client):  # noqa: ANN001
        ack()
        request_id = _request_id(body)
        actor = actors.actor(body["user"]["id"])
        services.requests.approve(request_id=request_id, actor=actor)
        enqueue_approved(services, request_id)


def enqueue_approved(services, request_id: int) -> None:  # noqa: ANN001
    """Queue the job. If the broker is down the request stays 'approved' and the reconciler sends it."""
    try:
        services.enqueue_export(request_id)
        services.requests.mark_queued(request_id=request_id)
    finally:
        SlackDelivery(services).request_changed(services.requests.get(request_id))


def _request_id(body: dict) -> int:
    value = (body.get("actions") or [{}])[0].get("value", "")
    if not value.isdigit():
        raise RequestNotFound("That button does not belong to a request.")
    return int(value)
