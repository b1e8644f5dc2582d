"""Event listeners, one per file."""
from __future__ import annotations

from bot.commands.table import CommandTable
from bot.listeners import Listeners
from bot.listeners.deps import Bot, SlackUseCases
from bot.listeners.events.app_home_opened import app_home_opened


def register(app: Listeners, use: SlackUseCases, bot: Bot, table: CommandTable) -> None:
    app.event("app_home_opened")(app_home_opened, bot=bot, home=use.home)
