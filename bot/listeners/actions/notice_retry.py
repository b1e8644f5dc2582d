"""Retry a failed recipient notice (Art. 19); only the DPO may."""
from __future__ import annotations

from slack_bolt import Ack, BoltContext

from bot.delivery import SlackDelivery
from bot.listeners.actions.approve import _request_id
from bot.listeners.deps import deps


def notice_retry(ack: Ack, body: dict, context: BoltContext) -> None:
    ack()
    d = deps(context)
    notice_id, user, channel = _request_id(body), body["user"]["id"], body["channel"]["id"]

    def work() -> None:
        actor = d.actor(user)
        n = d.services.notices.retry(notice_id=notice_id, actor_id=user, allowed=actor.can("request.decide"))
        d.services.send_notice(n.id)
        SlackDelivery(d.services).notices_changed(d.services.requests.get(n.request_id))
    d.followups.submit(work, user=user, channel=channel)
