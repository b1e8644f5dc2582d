"""Recipient notices (Art. 19): Retry a failed one, or record why one cannot be told (modal)."""
from __future__ import annotations

from bot.delivery import SlackDelivery
from bot.listeners.actions.approve import _request_id
from bot.render import impossible_modal
from gdpr.errors import NotAllowed


def register(app, services, actors, followups) -> None:  # noqa: ANN001
    @app.action("notice.retry")
    def retry(ack, body, client):  # noqa: ANN001
        ack()
        notice_id, user, channel = _request_id(body), body["user"]["id"], body["channel"]["id"]

        def work() -> None:
            actor = actors.actor(user)
            n = services.notices.retry(notice_id=notice_id, actor_id=user, allowed=actor.can("request.decide"))
            services.send_notice(n.id)
            SlackDelivery(services).notices_changed(services.requests.get(n.request_id))
        followups.submit(work, user=user, channel=channel)

    @app.action("notice.impossible")
    def impossible(ack, body, client):  # noqa: ANN001
        ack()
        notice_id, user = _request_id(body), body["user"]["id"]
        if not actors.actor(user).can("request.decide"):
            raise NotAllowed("Only the DPO may retry or close recipient notices.")
        notice = services.notices.get(notice_id)
        client.views_open(trigger_id=body["trigger_id"], view=impossible_modal(notice_id, notice.recipient if notice else "?"))
