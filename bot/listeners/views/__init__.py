"""Modal submission listeners, one per file."""
from __future__ import annotations

from bot.commands.table import CommandTable
from bot.listeners import Listeners
from bot.listeners.deps import Bot, SlackUseCases
from bot.listeners.views.breach_assess import breach_assess
from bot.listeners.views.breach_close import breach_close
from bot.listeners.views.breach_late import breach_late
from bot.listeners.views.breach_report import breach_report
from bot.listeners.views.breach_update import breach_update
from bot.listeners.views.bulk_reject_reason import bulk_reject_reason
from bot.listeners.views.grant_reject_reason import grant_reject_reason
from bot.listeners.views.notice_impossible import notice_impossible_reason
from bot.listeners.views.reject_reason import reject_reason


def register(app: Listeners, use: SlackUseCases, bot: Bot, table: CommandTable) -> None:
    """Each modal's submission listener, bound to exactly the use cases its signature names."""
    app.view("request.reject_reason")(reject_reason, bot=bot, requests=use.requests)
    app.view("notice.impossible_reason")(notice_impossible_reason, bot=bot, requests=use.requests)
    app.view("bulk.reject_reason")(bulk_reject_reason, bot=bot, purges=use.purges)
    app.view("grant.reject_reason")(grant_reject_reason, bot=bot, grants=use.grants)
    for callback_id, listener in (("breach.report", breach_report), ("breach.update", breach_update),
                                  ("breach.late", breach_late), ("breach.assess", breach_assess),
                                  ("breach.close", breach_close)):
        app.view(callback_id)(listener, bot=bot, breaches=use.breaches)
