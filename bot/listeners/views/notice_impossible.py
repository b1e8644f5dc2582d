"""The 'cannot tell this recipient' modal: a reason is required, recorded, and may close the request."""
from __future__ import annotations

from bot.delivery import SlackDelivery
from bot.listeners.views.reject_reason import read_reason


def register(app, services, actors, followups) -> None:  # noqa: ANN001
    @app.view("notice.impossible_reason")
    def submit(ack, body, view):  # noqa: ANN001
        reason = read_reason(ack, view)
        if reason is None:
            return
        user, notice_id = body["user"]["id"], int(view["private_metadata"])

        def work() -> None:
            n = services.notices.mark_impossible(notice_id=notice_id, actor_id=user, reason=reason,
                                                 allowed=actors.actor(user).can("request.decide"))
            settled = services.notices.settle_request(request_id=n.request_id)
            req = services.requests.get(n.request_id)
            SlackDelivery(services).notices_changed(req)
            if settled:
                SlackDelivery(services).request_changed(req)
        followups.submit(work, user=user, channel=None)
