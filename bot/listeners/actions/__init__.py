"""Interactive action listeners (buttons), one per file."""
from __future__ import annotations

from bot.commands.table import CommandTable
from bot.listeners import Listeners
from bot.listeners.actions.approve import approve
from bot.listeners.actions.breach_assess import breach_assess
from bot.listeners.actions.breach_members_send import breach_members_send
from bot.listeners.actions.breach_notify import breach_notify
from bot.listeners.actions.breach_snooze import breach_snooze
from bot.listeners.actions.bulk_approve import bulk_approve
from bot.listeners.actions.bulk_reject import bulk_reject
from bot.listeners.actions.grant_approve import grant_approve
from bot.listeners.actions.grant_reject import grant_reject
from bot.listeners.actions.notice_impossible import notice_impossible
from bot.listeners.actions.notice_retry import notice_retry
from bot.listeners.actions.page_turn import page_turn
from bot.listeners.actions.reject import reject
from bot.listeners.deps import Bot, SlackUseCases


def register(app: Listeners, use: SlackUseCases, bot: Bot, table: CommandTable) -> None:
    """Each button's listener, bound to exactly the use cases its signature names."""
    app.action("request.approve")(approve, bot=bot, requests=use.requests)
    app.action("request.reject")(reject, bot=bot, requests=use.requests)
    app.action("notice.retry")(notice_retry, bot=bot, requests=use.requests)
    app.action("notice.impossible")(notice_impossible, bot=bot, requests=use.requests)
    app.action("bulk.approve")(bulk_approve, bot=bot, purges=use.purges)
    app.action("bulk.reject")(bulk_reject, bot=bot, purges=use.purges)
    app.action("grant.approve")(grant_approve, bot=bot, grants=use.grants)
    app.action("grant.reject")(grant_reject, bot=bot, grants=use.grants)
    for action_id, listener in (("breach.notify", breach_notify), ("breach.assess", breach_assess),
                                ("breach.members_send", breach_members_send), ("breach.snooze", breach_snooze)):
        app.action(action_id)(listener, bot=bot, breaches=use.breaches)
    for action_id in ("page.previous", "page.next"):
        app.action(action_id)(page_turn, bot=bot, pages=table.pages)
