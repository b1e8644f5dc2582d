"""What the breach modals share: the work after the modal is answered runs on the follow-up pool, and a
known error is told by DM (modals have no channel). The listeners, one per file: breach_report,
breach_update, breach_late, breach_assess, breach_close."""
from __future__ import annotations

from collections.abc import Callable

from bot import breach_ops
from bot.listeners.deps import Deps
from gdpr.errors import GdprError


def later(d: Deps, body: dict, work: Callable) -> None:
    user = body["user"]["id"]
    actor = d.actor(user)

    def run() -> None:
        try:
            work(actor)
        except GdprError as exc:
            breach_ops.dm_error(d.services.slack, user, exc)
    d.followups.submit(run, user=user, channel=None)
