"""The user opened the bot's App Home: their overview, published at once (Bolt acks events itself)."""
from __future__ import annotations

from slack_sdk import WebClient

from bot.listeners.deps import Bot
from bot.render_home import home_view
from gdpr.app.home import Overview


def app_home_opened(event: dict, client: WebClient, *, bot: Bot, home: Overview) -> None:
    if event.get("tab", "home") != "home":
        return
    user = event["user"]
    client.views_publish(user_id=user, view=home_view(home.opened(actor=bot.actor(user))))
