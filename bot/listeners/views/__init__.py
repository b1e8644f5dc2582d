"""Modal submission listeners, one per file."""
from __future__ import annotations

from bot.listeners.views.breach_assess import breach_assess
from bot.listeners.views.breach_close import breach_close
from bot.listeners.views.breach_late import breach_late
from bot.listeners.views.breach_report import breach_report
from bot.listeners.views.breach_update import breach_update
from bot.listeners.views.bulk_reject_reason import bulk_reject_reason
from bot.listeners.views.grant_reject_reason import grant_reject_reason
from bot.listeners.views.notice_impossible import notice_impossible_reason
from bot.listeners.views.reject_reason import reject_reason

LISTENERS = {"request.reject_reason": reject_reason, "notice.impossible_reason": notice_impossible_reason,
             "bulk.reject_reason": bulk_reject_reason, "breach.report": breach_report, "breach.update": breach_update,
             "breach.late": breach_late, "breach.assess": breach_assess, "breach.close": breach_close,
             "grant.reject_reason": grant_reject_reason}


def register(app) -> None:  # noqa: ANN001 - bot.app's guarded Bolt app
    for callback_id, listener in LISTENERS.items():
        app.view(callback_id)(listener)
