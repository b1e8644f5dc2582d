"""`/gdpr ...`: ack first (Slack allows 3 s), then look up, persist, post."""
from __future__ import annotations

import logging
import time

from slack_bolt import Ack
from slack_sdk import WebClient

from bot import render
from bot.commands.table import CommandTable
from bot.grammar import HELP, Command, parse
from bot.listeners.deps import Bot
from bot.slack_io import ephemeral
from gdpr.app.lookup import SubjectView
from gdpr.core.access import Actor
from gdpr.core.errors import (
    AlreadyDecided,
    AmbiguousSubject,
    GdprError,
    NotAllowed,
    NotFound,
    SubjectNotFound,
    UsageError,
)

log = logging.getLogger(__name__)


def gdpr_command(ack: Ack, body: dict, client: WebClient, *, bot: Bot, table: CommandTable) -> None:
    try:
        cmd = parse(body.get("text") or "")
    except UsageError as exc:
        ack(text=str(exc), response_type="ephemeral")
        bot.commands.labels(command="(malformed)", outcome="usage").inc()
        return
    if cmd.name == "help":
        ack(text=HELP, response_type="ephemeral")
        bot.commands.labels(command="help", outcome="ok").inc()
        return
    user, channel = body["user_id"], body["channel_id"]
    if cmd.name in table.modals:  # views.open needs the trigger_id within 3 s: on this thread
        ack()
        table.modals[cmd.name](client, bot.actor(user), body["trigger_id"], cmd)
        return
    ack(text=f":hourglass_flowing_sand: Working on `/gdpr {cmd.name}`…", response_type="ephemeral")
    bot.followups.submit(lambda: answer(bot, table, client, bot.actor(user), channel, cmd), user=user, channel=channel)


def answer(bot: Bot, table: CommandTable, client: WebClient, actor: Actor, channel: str, cmd: Command) -> None:
    """One command's follow-up, counted by outcome and logged as one event (never its text: it names people)."""
    started, outcome = time.monotonic(), "ok"
    try:
        try:
            table.answered[cmd.name](client, actor, channel, cmd)
        except AmbiguousSubject as exc:
            title = f":mag: {exc} Matches:"
            masked = [SubjectView(c.kind, c.masked()) for c in exc.candidates]  # candidates are always masked
            ephemeral(client, channel=channel, user=actor.user_id, text=str(exc),
                      blocks=render.candidates_blocks(title, masked))
    except Exception as exc:
        outcome = outcome_of(exc)
        raise
    finally:
        bot.commands.labels(command=cmd.name, outcome=outcome).inc()
        log.info("command answered", extra={"command": cmd.name, "outcome": outcome,
                                             "duration_ms": round((time.monotonic() - started) * 1000)})


def outcome_of(exc: Exception) -> str:
    for kind, name in ((NotAllowed, "not_allowed"), (UsageError, "usage"), (SubjectNotFound, "not_found"),
                       (NotFound, "not_found"), (AlreadyDecided, "already_decided"), (GdprError, "refused")):
        if isinstance(exc, kind):
            return name
    return "error"
