"""Previous / Next on a paged answer: the view is asked for again at the button's offset (the use case
authorises and audits it again) and the page is posted to the clicker alone."""
from __future__ import annotations

from slack_bolt import Ack, BoltContext
from slack_sdk import WebClient

from bot.audit_ops import history_page
from bot.breach_ops import register_page, timeline_page
from bot.grant_ops import grants_page
from bot.listeners.deps import deps
from bot.pages import parse_value
from bot.slack_io import ephemeral
from gdpr.errors import NotFound

VIEWS = {"breaches": register_page, "timeline": timeline_page, "grants": grants_page, "history": history_page}


def page_turn(ack: Ack, body: dict, client: WebClient, context: BoltContext) -> None:
    ack()
    d = deps(context)
    user, channel = body["user"]["id"], body["channel"]["id"]
    try:
        view, arg, offset = parse_value((body.get("actions") or [{}])[0].get("value", ""))
        render = VIEWS[view]
    except (KeyError, ValueError):
        raise NotFound("That button does not belong to a paged answer.") from None
    d.followups.submit(lambda: ephemeral(client, channel=channel, user=user,
                                         **render(d.services, d.actor(user), arg, offset)), user=user, channel=channel)
