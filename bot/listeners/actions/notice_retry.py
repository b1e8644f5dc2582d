"""Retry a failed recipient notice (Art. 19); only the DPO may."""
from __future__ import annotations

from slack_bolt import Ack, BoltContext

from bot.listeners.actions.approve import _request_id
from bot.listeners.deps import deps


def notice_retry(ack: Ack, body: dict, context: BoltContext) -> None:
    ack()
    d = deps(context)
    notice_id, user, channel = _request_id(body), body["user"]["id"], body["channel"]["id"]

    d.followups.submit(lambda: d.services.subject_requests.retry_notice(actor=d.actor(user), notice_id=notice_id),
                       user=user, channel=channel)
