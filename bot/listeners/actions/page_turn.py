"""Previous / Next on a paged answer: the view is asked for again at the button's offset (the use case
authorises and audits it again) and the page is posted to the clicker alone."""
from __future__ import annotations

from slack_bolt import Ack
from slack_sdk import WebClient

from bot.commands.table import PageView
from bot.listeners.deps import Bot
from bot.pages import parse_value
from bot.slack_io import ephemeral
from gdpr.core.errors import NotFound


def page_turn(ack: Ack, body: dict, client: WebClient, *, bot: Bot, pages: dict[str, PageView]) -> None:
    ack()
    user, channel = body["user"]["id"], body["channel"]["id"]
    try:
        view, arg, offset = parse_value((body.get("actions") or [{}])[0].get("value", ""))
        render = pages[view]
    except (KeyError, ValueError):
        raise NotFound("That button does not belong to a paged answer.") from None
    bot.followups.submit(lambda: ephemeral(client, channel=channel, user=user, **render(bot.actor(user), arg, offset)),
                         user=user, channel=channel)
