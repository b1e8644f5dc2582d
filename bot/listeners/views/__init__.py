"""Modal submission listeners."""
from __future__ import annotations

from bot.listeners.views import breach, bulk_reject_reason, notice_impossible, reject_reason


def register(app, services, actors, followups) -> None:  # noqa: ANN001
    reject_reason.register(app, services, actors, followups)
    notice_impossible.register(app, services, actors, followups)
    bulk_reject_reason.register(app, services, actors, followups)
    breach.register(app, services, actors, followups)
