"""The Slack side of the overview (gdpr.ports.HomePresenter): the user's App Home, published whole."""
from __future__ import annotations

from bot.render_home import home_view
from gdpr.app.home import Home


class HomeSlackDelivery:
    def __init__(self, services) -> None:  # noqa: ANN001 - bootstrap.compose.Services
        self.services = services

    def home_changed(self, home: Home) -> None:
        self.services.slack.views_publish(user_id=home.user_id, view=home_view(home))
