"""Reject button: checks permission first, then asks for a reason in a modal.

This stays on the listener thread: the trigger_id for views.open expires 3 s after the click."""
from __future__ import annotations

from bot.listeners.actions.approve import _request_id
from bot.render import reject_modal
from gdpr.errors import AlreadyDecided
from gdpr import models as m


def register(app, services, actors, followups) -> None:  # noqa: ANN001
    @app.action("request.reject")
    def reject(ack, body, client):  # noqa: ANN001
        ack()
        request_id = _request_id(body)
        actor = actors.actor(body["user"]["id"])
        req = services.requests.ensure_can_decide(request_id=request_id, actor=actor)
        if req.status not in m.DECIDABLE:
            raise AlreadyDecided(f"R-{request_id} was already decided ({req.status.replace('_', ' ')}).")
        client.views_open(trigger_id=body["trigger_id"], view=reject_modal(request_id))

