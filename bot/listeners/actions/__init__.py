"""Interactive action listeners (buttons), one per file."""
from __future__ import annotations

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

LISTENERS = {"request.approve": approve, "request.reject": reject, "notice.retry": notice_retry,
             "notice.impossible": notice_impossible, "bulk.approve": bulk_approve, "bulk.reject": bulk_reject,
             "breach.notify": breach_notify, "breach.assess": breach_assess,
             "breach.members_send": breach_members_send, "breach.snooze": breach_snooze,
             "grant.approve": grant_approve, "grant.reject": grant_reject, "page.previous": page_turn,
             "page.next": page_turn}


def register(app) -> None:  # noqa: ANN001 - bot.app's guarded Bolt app
    for action_id, listener in LISTENERS.items():
        app.action(action_id)(listener)
