"""Interactive action listeners (buttons)."""
from __future__ import annotations

from bot.listeners.actions import approve, breach, bulk, notices, reject


def register(app, services, actors, followups) -> None:  # noqa: ANN001
    approve.register(app, services, actors, followups)
    reject.register(app, services, actors, followups)
    notices.register(app, services, actors, followups)
    bulk.register(app, services, actors, followups)
    breach.register(app, services, actors, followups)
