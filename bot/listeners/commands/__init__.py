"""Slash command listeners, one per file."""
from __future__ import annotations

from bot.commands.table import CommandTable
from bot.listeners import Listeners
from bot.listeners.commands.gdpr import gdpr_command
from bot.listeners.deps import Bot, SlackUseCases


def register(app: Listeners, use: SlackUseCases, bot: Bot, table: CommandTable) -> None:
    app.command("/gdpr")(gdpr_command, bot=bot, table=table)
