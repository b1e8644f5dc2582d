"""The 'cannot tell this recipient' modal: a reason is required, recorded, and may close the request."""
from __future__ import annotations

from slack_bolt import Ack
from slack_sdk import WebClient

from bot.listeners.decisions import read_reason
from bot.listeners.deps import Bot
from gdpr.app.requests import SubjectRequests


def notice_impossible_reason(ack: Ack, body: dict, view: dict, client: WebClient, *, bot: Bot,
                             requests: SubjectRequests) -> None:
    reason = read_reason(ack, view)
    if reason is None:
        return
    user, notice_id = body["user"]["id"], int(view["private_metadata"])
    bot.followups.submit(lambda: requests.close_notice(actor=bot.actor(user), notice_id=notice_id, reason=reason),
                         user=user, channel=None)
