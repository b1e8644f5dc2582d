"""The 'cannot tell this recipient' modal: a reason is required, recorded, and may close the request."""
from __future__ import annotations

from slack_bolt import Ack, BoltContext

from bot.delivery import SlackDelivery
from bot.listeners.deps import deps
from bot.listeners.views.reject_reason import read_reason


def notice_impossible_reason(ack: Ack, body: dict, view: dict, context: BoltContext) -> None:
    reason = read_reason(ack, view)
    if reason is None:
        return
    d = deps(context)
    user, notice_id = body["user"]["id"], int(view["private_metadata"])

    def work() -> None:
        n = d.services.notices.mark_impossible(notice_id=notice_id, actor_id=user, reason=reason,
                                               allowed=d.actor(user).can("request.decide"))
        settled = d.services.notices.settle_request(request_id=n.request_id)
        req = d.services.requests.get(n.request_id)
        SlackDelivery(d.services).notices_changed(req)
        if settled:
            SlackDelivery(d.services).request_changed(req)
    d.followups.submit(work, user=user, channel=None)
