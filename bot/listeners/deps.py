"""What a listener needs besides Bolt's own arguments, handed over in Bolt's `context` by a middleware
(bot.app), so each listener is a plain top-level function rather than a closure inside `register`."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from slack_bolt import BoltContext

KEY = "gdpr_deps"


@dataclass(frozen=True)
class Deps:
    services: Any  # bootstrap.compose.Services
    actors: Any  # bot.slack_io.SlackUsers: roles resolved server-side at each action
    followups: Any  # bot.followups.Followups: the work after the ack

    def actor(self, user_id: str):  # noqa: ANN201
        return self.actors.actor(user_id)


def deps(context: BoltContext) -> Deps:
    return context[KEY]
