"""Retry a failed recipient notice (Art. 19); only the DPO may."""
from __future__ import annotations

from slack_bolt import Ack
from slack_sdk import WebClient

from bot.listeners.decisions import item_id_of
from bot.listeners.deps import Bot
from gdpr.app.requests import SubjectRequests
from gdpr.core.errors import RequestNotFound


def notice_retry(ack: Ack, body: dict, client: WebClient, *, bot: Bot, requests: SubjectRequests) -> None:
    ack()
    notice_id, user, channel = item_id_of(body, "notice", RequestNotFound), body["user"]["id"], body["channel"]["id"]
    bot.followups.submit(lambda: requests.retry_notice(actor=bot.actor(user), notice_id=notice_id),
                         user=user, channel=channel)
