"""Bolt listeners, one per file, grouped by kind (commands, actions, views, events); each package's
`register` binds each listener to exactly the use cases its keyword-only parameters name."""
from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Callable

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.followups import friendly
from bot.slack_io import dm_channel, ephemeral

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


def guard(listener: Callable[..., None], **bound: object) -> Callable[..., None]:
    """The listener with its keyword-only dependencies bound; Bolt sees (and injects) only its positional
    parameters. Every listener acks, whatever it finds: an exception after ack() must not reach Bolt (its
    error path resets the ack, and a request whose ack it had not yet seen is answered 404 "didn't call
    ack()" after 3 s), so the error is answered here, acking first if the listener had not."""
    spec = inspect.getfullargspec(listener)
    if "client" not in spec.args:  # its client answers a failure (Bolt passes only the arguments a listener names)
        raise TypeError(f"{listener.__name__} must take `client`")
    if set(bound) != set(spec.kwonlyargs):
        raise TypeError(f"{listener.__name__} needs {sorted(spec.kwonlyargs)}, was given {sorted(bound)}")

    @functools.wraps(listener)
    def run(**kwargs: object) -> None:  # Bolt passes the listener's own argument names
        ack = kwargs.get("ack")  # events are acknowledged by Bolt itself
        try:
            listener(**kwargs, **bound)
        except Exception as error:
            if isinstance(ack, Ack) and ack.response is None:
                ack()
            try:
                body, client = kwargs.get("body"), kwargs["client"]
                assert isinstance(client, WebClient)
                answer_error(client, body if isinstance(body, dict) else {}, error)
            except Exception as exc:  # Slack unreachable: the error is logged, the request still acked
                log.warning("could not answer a listener error: %s", type(exc).__name__)
    return run


Register = Callable[..., object]  # (listener, **its dependencies)


class Listeners:
    """The Bolt app as listener packages see it at registration: each listener is guarded and bound to its
    dependencies, e.g. `app.action("request.approve")(approve, bot=bot, requests=use.requests)`."""

    def __init__(self, app: App) -> None:
        self._app = app

    def _bind(self, register: Callable[[Callable[..., None]], object]) -> Register:
        return lambda listener, **bound: register(guard(listener, **bound))

    def command(self, command: str) -> Register:
        return self._bind(self._app.command(command))

    def action(self, action_id: str) -> Register:
        return self._bind(self._app.action(action_id))

    def view(self, callback_id: str) -> Register:
        return self._bind(self._app.view(callback_id))

    def event(self, event: str) -> Register:
        return self._bind(self._app.event(event))
