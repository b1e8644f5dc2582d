"""The Bolt app: built from the services, listeners registered per kind."""
from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Callable

from slack_bolt import App, BoltContext, BoltRequest, BoltResponse
from slack_sdk import WebClient

from bot.followups import Followups, friendly
from bot.listeners import actions, commands, events, views
from bot.listeners.deps import KEY as DEPS
from bot.listeners.deps import Deps
from bot.slack_io import SlackUsers, dm_channel, ephemeral
from gdpr.replays import Unchecked

log = logging.getLogger(__name__)


def answer_error(client: WebClient, body: dict, error: BaseException) -> None:
    """A listener's failure, told to the person who clicked or typed: in the channel (ephemeral) or, from
    a modal, by direct message. Known errors say what is wrong; others a correlation id."""
    user = (body.get("user") or {}).get("id") or body.get("user_id")
    channel = (body.get("channel") or {}).get("id") or body.get("channel_id")
    if not user:
        return
    if channel:
        ephemeral(client, channel=channel, user=user, text=friendly(error))
    else:
        client.chat_postMessage(channel=dm_channel(client, user), text=friendly(error))


def guard(listener: Callable) -> Callable:
    """Every listener acks, whatever it finds. An exception after ack() must not reach Bolt: its error
    path resets the ack, and a request whose ack it had not yet seen is answered 404 "didn't call
    ack()" after 3 s. So the error is answered here (acking first if the listener had not)."""
    if "context" not in inspect.signature(listener).parameters:  # its client answers a failure (Bolt passes
        raise TypeError(f"{listener.__name__} must take `context`")  # only the arguments a listener names)

    @functools.wraps(listener)
    def run(**kwargs):  # noqa: ANN003, ANN202 - Bolt passes the listener's own argument names
        ack = kwargs.get("ack")  # events are acknowledged by Bolt itself
        try:
            return listener(**kwargs)
        except Exception as error:
            if ack is not None and ack.response is None:
                ack()
            try:
                answer_error(kwargs.get("client") or kwargs["context"].client, kwargs.get("body") or {}, error)
            except Exception as exc:  # Slack unreachable: the error is logged, the request still acked
                log.warning("could not answer a listener error: %s", type(exc).__name__)
    return run


class _Guarded:
    """The Bolt app as listeners see it at registration: command, action, view and event listeners are guarded."""

    def __init__(self, app: App) -> None:
        self._app = app

    def __getattr__(self, name: str):  # noqa: ANN204
        return getattr(self._app, name)

    def _wrap(self, register: Callable) -> Callable:
        return lambda listener: register(guard(listener))

    def command(self, *args, **kwargs) -> Callable:  # noqa: ANN002, ANN003
        return self._wrap(self._app.command(*args, **kwargs))

    def action(self, *args, **kwargs) -> Callable:  # noqa: ANN002, ANN003
        return self._wrap(self._app.action(*args, **kwargs))

    def view(self, *args, **kwargs) -> Callable:  # noqa: ANN002, ANN003
        return self._wrap(self._app.view(*args, **kwargs))

    def event(self, *args, **kwargs) -> Callable:  # noqa: ANN002, ANN003
        return self._wrap(self._app.event(*args, **kwargs))


def build_app(services) -> App:  # noqa: ANN001 - bootstrap.compose.Services
    app = App(client=services.slack, signing_secret=services.settings.signing_secret,
              token_verification_enabled=False, process_before_response=False)
    seen = services.seen
    actors = SlackUsers(services.slack, services.policy)
    followups = Followups(services.slack, threads=2)

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

    provided = Deps(services=services, actors=actors, followups=followups)

    @app.middleware
    def provide(context: BoltContext, next: Callable[[], BoltResponse]) -> BoltResponse:  # noqa: A002 - Bolt's name; listeners find what they need in Bolt's context
        context[DEPS] = provided
        return next()

    for package in (commands, actions, views, events):
        package.register(_Guarded(app))
    app.followups = followups  # type: ignore[attr-defined]  # replaced by BotApp in the next step
    return app
