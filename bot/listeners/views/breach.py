"""What the breach modals share: the work after the modal is answered runs on the follow-up pool, and a
known error is told by DM (modals have no channel). The listeners, one per file: breach_report,
breach_update, breach_late, breach_assess, breach_close."""
from __future__ import annotations

from collections.abc import Callable

from slack_sdk import WebClient

from bot.breach_forms import dm_error
from bot.listeners.deps import Bot
from gdpr.core.access import Actor
from gdpr.core.errors import GdprError


def later(bot: Bot, client: WebClient, body: dict, work: Callable[[Actor], object]) -> None:
    user = body["user"]["id"]
    actor = bot.actor(user)

    def run() -> None:
        try:
            work(actor)
        except GdprError as exc:
            dm_error(client, user, exc)
    bot.followups.submit(run, user=user, channel=None)
