"""Slash command listeners."""
from __future__ import annotations

from bot.listeners.commands import gdpr


def register(app, services, actors, followups) -> None:  # noqa: ANN001
    gdpr.register(app, services, actors, followups)
