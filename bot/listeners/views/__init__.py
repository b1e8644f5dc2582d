"""Modal submission listeners."""
from __future__ import annotations

from bot.listeners.views import reject_reason


def register(app, services, actors, followups) -> None:  # noqa: ANN001
    reject_reason.register(app, services, actors, followups)
