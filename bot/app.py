"""The Bolt app: built from the services, listeners registered per kind."""
from __future__ import annotations

import functools
import hashlib
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from slack_bolt import App, BoltResponse

from bot.listeners import actions, commands, events, views
from bot.listeners.deps import KEY as DEPS
from bot.listeners.deps import Deps
from bot.followups import Followups, friendly
from bot.slack_io import SlackUsers, dm_channel, ephemeral

log = logging.getLogger(__name__)
REPLAY_WINDOW = 5 * 60


class ReplayGuard:
    """Drops a signed request seen before (same timestamp and signature) within Slack's 5-minute window.
    Bolt already refuses requests older than that, so this window is all a replay has. With REDIS_URL the
    seen set is shared (SET NX EX), so a replay sent to another replica behind the load balancer is
    dropped too; if Redis does not answer, this replica's own memory still guards (and says so)."""

    def __init__(self, redis_url: str | None = None) -> None:
        self._seen: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()
        self._redis = None
        if redis_url:
            import redis
            self._redis = redis.Redis.from_url(redis_url, socket_timeout=1, socket_connect_timeout=1)

    def first_time(self, signature: str | None, timestamp: str | None) -> bool:
        if not signature:
            return True
        key = hashlib.sha256(f"{timestamp}:{signature}".encode()).hexdigest()
        if self._redis is not None:
            try:
                return bool(self._redis.set(f"gdpr-bot:replay:{key}", b"1", nx=True, ex=REPLAY_WINDOW))
            except Exception as exc:  # Redis down: fall back to this replica's memory rather than refuse
                log.warning("replay guard: Redis unreachable (%s); guarding with this replica's memory",
                            type(exc).__name__)
        return self._first_here(key)

    def _first_here(self, key: str) -> bool:
        now = time.monotonic()
        with self._lock:
            while self._seen and next(iter(self._seen.values())) < now - REPLAY_WINDOW:
                self._seen.popitem(last=False)
            if key in self._seen:
                return False
            self._seen[key] = now
            return True


def answer_error(client, body: dict, error: BaseException) -> None:  # noqa: ANN001
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
    @functools.wraps(listener)
    def run(**kwargs):  # noqa: ANN003, ANN202 - Bolt passes the listener's own argument names
        ack = kwargs.get("ack")  # events are acknowledged by Bolt itself
        try:
            return listener(**kwargs)
        except Exception as error:
            if ack is not None and ack.response is None:
                ack()
            try:
                answer_error(kwargs.get("client"), kwargs.get("body") or {}, error)
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
    replays = ReplayGuard(services.settings.redis_url)
    actors = SlackUsers(services.slack, services.policy)
    followups = Followups(services.slack, threads=2)

    @app.middleware
    def drop_replays(req, resp, next):  # noqa: ANN001, A002
        headers = req.headers
        if not replays.first_time((headers.get("x-slack-signature") or [None])[0],
                                (headers.get("x-slack-request-timestamp") or [None])[0]):
            log.warning("replayed request dropped")
            return BoltResponse(status=200, body="")
        return next()

    @app.error
    def on_error(error, body, client):  # noqa: ANN001 - what a guard could not catch (middleware)
        answer_error(client, body, error)

    provided = Deps(services=services, actors=actors, followups=followups)

    @app.middleware
    def provide(context, next):  # noqa: ANN001, A002 - listeners find what they need in Bolt's context
        context[DEPS] = provided
        return next()

    for package in (commands, actions, views, events):
        package.register(_Guarded(app))
    app.followups = followups
    return app
