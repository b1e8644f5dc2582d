"""Event listeners, one per file."""
from __future__ import annotations

from bot.listeners.events.app_home_opened import app_home_opened

LISTENERS = {"app_home_opened": app_home_opened}


def register(app) -> None:  # noqa: ANN001 - bot.app's guarded Bolt app
    for event, listener in LISTENERS.items():
        app.event(event)(listener)
