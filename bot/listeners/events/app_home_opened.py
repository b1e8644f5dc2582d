"""The user opened the bot's App Home: their overview, published at once (Bolt acks events itself)."""
from __future__ import annotations

from slack_bolt import BoltContext
from slack_sdk import WebClient

from bot.listeners.deps import deps
from bot.render_home import home_view


def app_home_opened(event: dict, client: WebClient, context: BoltContext) -> None:
    if event.get("tab", "home") != "home":
        return
    d = deps(context)
    user = event["user"]
    home = d.services.overview.opened(actor=d.actor(user))
    client.views_publish(user_id=user, view=home_view(home))
