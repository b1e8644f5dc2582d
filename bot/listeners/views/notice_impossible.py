"""The 'cannot tell this recipient' modal: a reason is required, recorded, and may close the request."""
from __future__ import annotations

from slack_bolt import Ack, BoltContext

from bot.listeners.decisions import read_reason
from bot.listeners.deps import deps


def notice_impossible_reason(ack: Ack, body: dict, view: dict, context: BoltContext) -> None:
    reason = read_reason(ack, view)
    if reason is None:
        return
    d = deps(context)
    user, notice_id = body["user"]["id"], int(view["private_metadata"])

    d.followups.submit(lambda: d.services.subject_requests.close_notice(actor=d.actor(user), notice_id=notice_id,
                                                                       reason=reason), user=user, channel=None)
