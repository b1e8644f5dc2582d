"""`/gdpr ...`: ack first (Slack allows 3 s), then look up, persist, post."""
from __future__ import annotations

import datetime as dt
import logging
import time

from slack_bolt import Ack, BoltContext
from slack_sdk import WebClient

from bot import render
from bot.audit_ops import handle as audit_command
from bot.breach_ops import MODAL_COMMANDS, open_modal
from bot.breach_ops import handle as breach_command
from bot.bulk_ops import crm_purge, retention_report
from bot.club_ops import handle as club_command
from bot.consent_ops import handle as consent_command
from bot.grammar import HELP, Command, parse
from bot.grant_ops import handle as grant_command
from bot.listeners.deps import deps
from bot.ropa_ops import handle as ropa_command
from bot.slack_io import ephemeral
from gdpr.app.lookup import SubjectView
from gdpr.errors import AlreadyDecided, AmbiguousSubject, GdprError, NotAllowed, NotFound, SubjectNotFound, UsageError

log = logging.getLogger(__name__)


def gdpr_command(ack: Ack, body: dict, client: WebClient, context: BoltContext) -> None:
    try:
        cmd = parse(body.get("text") or "")
    except UsageError as exc:
        ack(text=str(exc), response_type="ephemeral")
        deps(context).services.metrics.commands.labels(command="(malformed)", outcome="usage").inc()
        return
    if cmd.name == "help":
        ack(text=HELP, response_type="ephemeral")
        deps(context).services.metrics.commands.labels(command="help", outcome="ok").inc()
        return
    d = deps(context)
    user, channel = body["user_id"], body["channel_id"]
    if cmd.name in MODAL_COMMANDS:  # views.open needs the trigger_id within 3 s: on this thread
        ack()
        open_modal(d.services, client, d.actor(user), body["trigger_id"], cmd)
        return
    ack(text=f":hourglass_flowing_sand: Working on `/gdpr {cmd.name}`…", response_type="ephemeral")
    d.followups.submit(lambda: handle(d.services, client, d.actor(user), channel, cmd), user=user, channel=channel)


def handle(services, client, actor, channel: str, cmd: Command) -> None:  # noqa: ANN001
    """One command's follow-up, counted by outcome and logged as one event (never its text: it names people)."""
    started, outcome = time.monotonic(), "ok"
    try:
        _dispatch(services, client, actor, channel, cmd)
    except Exception as exc:
        outcome = outcome_of(exc)
        raise
    finally:
        services.metrics.commands.labels(command=cmd.name, outcome=outcome).inc()
        log.info("command answered", extra={"command": cmd.name, "outcome": outcome,
                                             "duration_ms": round((time.monotonic() - started) * 1000)})


def outcome_of(exc: Exception) -> str:
    for kind, name in ((NotAllowed, "not_allowed"), (UsageError, "usage"), (SubjectNotFound, "not_found"),
                       (NotFound, "not_found"), (AlreadyDecided, "already_decided"), (GdprError, "refused")):
        if isinstance(exc, kind):
            return name
    return "error"


def _dispatch(services, client, actor, channel: str, cmd: Command) -> None:  # noqa: ANN001
    try:
        if cmd.name == "find":
            find(services, client, actor, channel, cmd)
        elif cmd.name == "crm purge":
            crm_purge(services, client, actor, channel, cmd)
        elif cmd.name == "retention report":
            retention_report(services, client, actor, channel, cmd)
        elif cmd.name.startswith("breach "):
            breach_command(services, client, actor, channel, cmd)
        elif cmd.name in ("grant", "grants", "revoke"):
            grant_command(services, client, actor, channel, cmd)
        elif cmd.name in ("consent", "withdraw", "object"):
            consent_command(services, client, actor, channel, cmd)
        elif cmd.name == "ropa":
            ropa_command(services, client, actor, channel, cmd)
        elif cmd.name.startswith("club "):
            club_command(services, client, actor, channel, cmd)
        elif cmd.name == "audit":
            audit_command(services, client, actor, channel, cmd)
        elif cmd.name in ("extend", "refuse"):
            deadline(services, client, actor, channel, cmd)
        else:
            open_request(services, client, actor, channel, cmd)
    except AmbiguousSubject as exc:
        title = f":mag: {exc} Matches:"
        masked = [SubjectView(c.kind, c.masked()) for c in exc.candidates]  # candidates are always masked
        ephemeral(client, channel=channel, user=actor.user_id, text=str(exc),
                  blocks=render.candidates_blocks(title, masked))


def find(services, client, actor, channel: str, cmd: Command) -> None:  # noqa: ANN001
    """The use case decides what this viewer sees and audits it; this renders it."""
    found = services.find_subjects(actor=actor, text=cmd.identity, club_code=cmd.club)
    if not found.subjects:
        ephemeral(client, channel=channel, user=actor.user_id, text=f"No member or lead matches that {found.how}.")
        return
    n = len(found.subjects)
    title = f":mag: {n} match{'es' if n > 1 else ''} for that {found.how}:"
    ephemeral(client, channel=channel, user=actor.user_id, text=title,
              blocks=render.candidates_blocks(title, found.subjects))


def open_request(services, client, actor, channel: str, cmd: Command) -> None:  # noqa: ANN001
    """access or erase: the use case persists it and shows it for approval (the presenter posts)."""
    received = dict(cmd.options).get("received")
    services.subject_requests.open(actor=actor, kind=cmd.name, identity=cmd.identity, subject_type=cmd.subject_type,
                                   club_code=cmd.club, reply_to=channel,
                                   club_received_on=dt.date.fromisoformat(received) if received else None)


def deadline(services, client, actor, channel: str, cmd: Command) -> None:  # noqa: ANN001
    """extend or refuse: the use case decides and the presenter tells the request's thread."""
    options, use = dict(cmd.options), services.request_deadlines
    if cmd.name == "extend":
        req = use.extend(actor=actor, request_id=int(cmd.identity), reason=options["reason"],
                         months=int(options["months"]))
        text = f":calendar: R-{req.id} is extended to {req.due_on:%d %b %Y}; its thread says what to tell the club."
    else:
        use.refuse(actor=actor, request_id=int(cmd.identity), ground=options["reason"])
        text = f":no_entry_sign: R-{cmd.identity} is refused; the notice for the club is in its thread."
    ephemeral(client, channel=channel, user=actor.user_id, text=text)
