"""The Bolt app: built from the services, listeners registered per kind."""
from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict

from slack_bolt import App, BoltResponse

from bot.listeners import actions, commands, views
from bot.followups import Followups, friendly
from bot.slack_io import Actors, ephemeral

log = logging.getLogger(__name__)
REPLAY_WINDOW = 5 * 60


class ReplayGuard:
    """Drops a signed request seen before (same timestamp and signature) within Slack's 5-minute window.
    Bolt already refuses requests older than that, so this window is all a replay has."""

    def __init__(self) -> None:
        self._seen: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()

    def first_time(self, signature: str | None, timestamp: str | None) -> bool:
        if not signature:
            return True
        key, now = f"{timestamp}:{signature}", time.monotonic()
        with self._lock:
            while self._seen and next(iter(self._seen.values())) < now - REPLAY_WINDOW:
                self._seen.popitem(last=False)
            if key in self._seen:
                return False
            self._seen[key] = now
            return True


def build_app(services) -> App:  # noqa: ANN001 - bot.compose.Services
    app = App(client=services.slack, signing_secret=services.settings.slack_signing_secret.get_secret_value(),
              token_verification_enabled=False, process_before_response=False)
    guard = ReplayGuard()
    actors = Actors(services.slack, services.policy)
    followups = Followups(services.slack, threads=2)

    @app.middleware
    def drop_replays(req, resp, next):  # noqa: ANN001, A002
        headers = req.headers
        if not guard.first_time((headers.get("x-slack-signature") or [None])[0],
                                (headers.get("x-slack-request-timestamp") or [None])[0]):
            log.warning("replayed request dropped")
            return BoltResponse(status=200, body="")
        return next()

    @app.error
    def on_error(error, body, client):  # noqa: ANN001
        user = (body.get("user") or {}).get("id") or body.get("user_id")
        channel = (body.get("channel") or {}).get("id") or body.get("channel_id")
        if user and channel:
            ephemeral(client, channel=channel, user=user, text=friendly(error))

    for package in (commands, actions, views):
        package.register(app, services, actors, followups)
    app.followups = followups
    return app
