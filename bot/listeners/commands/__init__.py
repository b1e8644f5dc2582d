"""Slash command listeners, one per file."""
from __future__ import annotations

from bot.listeners.commands.gdpr import gdpr_command


def register(app) -> None:  # noqa: ANN001 - bot.app's guarded Bolt app
    app.command("/gdpr")(gdpr_command)
