"""Retry a failed recipient notice (Art. 19); only the DPO may."""
from __future__ import annotations

from slack_bolt import Ack, BoltContext

from bot.listeners.decisions import item_id_of
from bot.listeners.deps import deps
from gdpr.errors import RequestNotFound


def notice_retry(ack: Ack, body: dict, context: BoltContext) -> None:
    ack()
    d = deps(context)
    notice_id, user, channel = item_id_of(body, "notice", RequestNotFound), body["user"]["id"], body["channel"]["id"]

    d.followups.submit(lambda: d.services.subject_requests.retry_notice(actor=d.actor(user), notice_id=notice_id),
                       user=user, channel=channel)
