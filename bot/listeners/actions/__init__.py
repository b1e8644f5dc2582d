"""Interactive action listeners (buttons)."""
from __future__ import annotations

from bot.listeners.actions import approve, reject


def register(app, services, actors) -> None:  # noqa: ANN001
    approve.register(app, services, actors)
    reject.register(app, services, actors)
