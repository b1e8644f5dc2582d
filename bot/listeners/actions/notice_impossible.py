"""'Cannot tell' on a recipient notice: the DPO gives the reason in a modal."""
from __future__ import annotations

from slack_bolt import Ack
from slack_sdk import WebClient

from bot.listeners.decisions import item_id_of
from bot.listeners.deps import Bot
from bot.render import impossible_modal
from gdpr.app.requests import SubjectRequests
from gdpr.core.errors import RequestNotFound


def notice_impossible(ack: Ack, body: dict, client: WebClient, *, bot: Bot, requests: SubjectRequests) -> None:
    ack()
    notice_id, user = item_id_of(body, "notice", RequestNotFound), body["user"]["id"]
    recipient = requests.notice_to_close(actor=bot.actor(user), notice_id=notice_id)
    client.views_open(trigger_id=body["trigger_id"], view=impossible_modal(notice_id, recipient))
