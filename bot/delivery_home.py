"""The Slack side of the overview (gdpr.core.ports.HomePresenter): the user's App Home, published whole."""
from __future__ import annotations

from slack_sdk import WebClient

from bot.render_home import home_view
from gdpr.app.home_view import Home


class HomeSlackDelivery:
    def __init__(self, slack: WebClient) -> None:
        self.slack = slack

    def home_changed(self, home: Home) -> None:
        self.slack.views_publish(user_id=home.user_id, view=home_view(home))
