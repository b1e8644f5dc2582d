"""`/gdpr ...`: ack first (Slack allows 3 s), then look up, persist, post."""
from __future__ import annotations

from slack_bolt import Ack, BoltContext
from slack_sdk import WebClient

from bot import render
from bot.breach_ops import MODAL_COMMANDS, open_modal
from bot.breach_ops import handle as breach_command
from bot.bulk_ops import crm_purge, retention_report
from bot.grammar import HELP, Command, parse
from bot.listeners.deps import deps
from bot.slack_io import ephemeral, post
from gdpr.app.lookup import SubjectView
from gdpr.errors import AmbiguousSubject, UsageError
from gdpr.subjects import parse_identity


def gdpr_command(ack: Ack, body: dict, client: WebClient, context: BoltContext) -> None:
    try:
        cmd = parse(body.get("text") or "")
    except UsageError as exc:
        ack(text=str(exc), response_type="ephemeral")
        return
    if cmd.name == "help":
        ack(text=HELP, response_type="ephemeral")
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
    try:
        if cmd.name == "find":
            find(services, client, actor, channel, cmd)
        elif cmd.name == "crm purge":
            crm_purge(services, client, actor, channel, cmd)
        elif cmd.name == "retention report":
            retention_report(services, client, actor, channel, cmd)
        elif cmd.name.startswith("breach "):
            breach_command(services, client, actor, channel, cmd)
        else:
            open_request(services, client, actor, channel, cmd)
    except AmbiguousSubject as exc:
        title = f":mag: {exc} Matches:"
        masked = [SubjectView(c.kind, c.masked()) for c in exc.candidates]  # candidates are always masked
        ephemeral(client, channel=channel, user=actor.user_id, text=str(exc),
                  blocks=render.candidates_blocks(title, masked, unmasked=False))


def find(services, client, actor, channel: str, cmd: Command) -> None:  # noqa: ANN001
    """The use case decides what this viewer sees and audits it; this renders it."""
    found = services.find_subjects(actor=actor, text=cmd.identity, club_code=cmd.club)
    if not found.subjects:
        ephemeral(client, channel=channel, user=actor.user_id, text=f"No member or lead matches that {found.how}.")
        return
    n = len(found.subjects)
    title = f":mag: {n} match{'es' if n > 1 else ''} for that {found.how}:"
    ephemeral(client, channel=channel, user=actor.user_id, text=title,
              blocks=render.candidates_blocks(title, found.subjects, unmasked=found.unmasked))


def open_request(services, client, actor, channel: str, cmd: Command) -> None:  # noqa: ANN001
    """access or erase: resolve the subject, persist, (erase: compute the preview), post the cards."""
    services.authz.require(actor, "request.create", kind=cmd.name)
    identity = parse_identity(cmd.identity, services.directory.patterns())
    subject = services.directory.resolve(identity, kind=cmd.kind, club_code=cmd.club)
    req = services.requests.open_request(kind=cmd.name, subject=subject, requester_id=actor.user_id,
                                         channel_id=channel)
    if cmd.name == "erase":
        req.preview = erasure_preview(services, req)
    masked = subject.masked()
    text = f"{cmd.name.capitalize()} request R-{req.id}: awaiting DPO approval"
    try:
        where, ts = post(client, channel=channel, fallback_user=actor.user_id, text=text,
                         blocks=render.request_blocks(req, masked, with_buttons=False))
        approvals = services.policy.channel("approvals")
        card_channel, card_ts = post(client, channel=approvals, fallback_user=None, text=text,
                                     blocks=render.request_blocks(req, masked, with_buttons=True))
    except Exception:
        services.requests.abandon(request_id=req.id, reason="the approval card could not be posted to Slack")
        raise
    services.requests.card_posted(request_id=req.id, channel_id=where, message_ts=ts,
                                  approval_channel_id=card_channel, approval_ts=card_ts)


def erasure_preview(services, req) -> dict:  # noqa: ANN001
    """Computed for this subject now: rows per table and rule, holds, recipients, warnings."""
    preview = services.erasure.plan(kind=req.subject_type, key=req.subject_key).summary()
    pending = services.requests.open_of_kind(kind="access", subject_ref=req.subject_ref)
    if pending:
        preview["warnings"].append(f"a pending access request (R-{pending}): answer it before erasing")
    services.requests.set_preview(request_id=req.id, preview=preview)
    return preview
