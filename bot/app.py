"""The Bolt app: built from what the composition root hands the Slack adapter (its use cases, typed), the
listeners registered per kind, each bound to exactly the use cases it names."""
from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from prometheus_client import Counter
from slack_bolt import App, BoltRequest, BoltResponse
from slack_sdk import WebClient

from bot.commands.table import command_table
from bot.followups import Followups
from bot.listeners import Listeners, actions, answer_error, commands, events, views
from bot.listeners.deps import Bot, SlackUseCases
from bot.slack_io import SlackUsers
from gdpr.core.access import AccessPolicy
from gdpr.core.replays import SeenRequests, Unchecked

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BotApp:
    """The Bolt app, the pool its listeners run on, and the follow-up pool they hand work to (drained on
    shutdown)."""

    app: App
    followups: Followups
    listeners: ThreadPoolExecutor  # Bolt's listener threads: ours, so that a stopped bot leaves none behind


def build_app(use: SlackUseCases, *, slack: WebClient, signing_secret: str, seen: SeenRequests,
              policy: AccessPolicy, breach_contact: str, commands_counter: Counter) -> BotApp:
    """`policy`: who holds which role (resolved from Slack user groups at each action) and the approvals
    channel; `seen`: the replay guard; `breach_contact`: the DPO contact the breach report form starts with."""
    listeners = ThreadPoolExecutor(max_workers=5, thread_name_prefix="bolt-listener")  # Bolt's own default size
    # named: without a name Bolt calls inspect.stack(), reading the source of every frame on the stack (most
    # of the app's build time, sampled with py-spy)
    app = App(name="gdpr-bot", client=slack, signing_secret=signing_secret, token_verification_enabled=False,
              process_before_response=False, listener_executor=listeners)
    followups = Followups(slack, threads=2)
    bot = Bot(users=SlackUsers(slack, policy), followups=followups, approvals=policy.channel("approvals"),
              commands=commands_counter)

    @app.middleware
    def drop_replays(req: BoltRequest, resp: BoltResponse, next: Callable[[], BoltResponse]) -> BoltResponse:  # noqa: A002 - Bolt's name; after Bolt checked the signature
        headers = req.headers
        try:
            first = seen.first_time((headers.get("x-slack-signature") or [""])[0],
                                    (headers.get("x-slack-request-timestamp") or [""])[0])
        except Unchecked as exc:  # the state DB is down: a request the guard cannot check is never acted on
            log.warning("request refused: the replay guard cannot reach the state database")
            return BoltResponse(status=200, body=str(exc))
        if not first:
            log.warning("replayed request dropped")
            return BoltResponse(status=200, body="")
        return next()

    @app.error
    def on_error(error: Exception, body: dict, client: WebClient) -> None:  # what a guard could not catch (middleware)
        answer_error(client, body, error)

    table = command_table(use, approvals=bot.approvals, breach_contact=breach_contact)
    for package in (commands, actions, views, events):
        package.register(Listeners(app), use, bot, table)
    return BotApp(app, followups, listeners)
