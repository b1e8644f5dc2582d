"""`/gdpr find | access | erase | extend | refuse` on Slack: look a subject up, open a request, decide its
deadline; the use cases decide and audit, this renders what they return."""
from __future__ import annotations

import datetime as dt

from slack_sdk import WebClient

from bot import render
from bot.grammar import Command
from bot.slack_io import ephemeral
from gdpr.app.deadlines import RequestDeadlines
from gdpr.app.lookup import FindSubjects
from gdpr.app.requests import SubjectRequests
from gdpr.core.access import Actor


def find(client: WebClient, actor: Actor, channel: str, cmd: Command, *, find: FindSubjects) -> None:
    """The use case decides what this viewer sees and audits it; this renders it."""
    found = find(actor=actor, text=cmd.identity, club_code=cmd.club)
    if not found.subjects:
        ephemeral(client, channel=channel, user=actor.user_id, text=f"No member or lead matches that {found.how}.")
        return
    n = len(found.subjects)
    title = f":mag: {n} match{'es' if n > 1 else ''} for that {found.how}:"
    ephemeral(client, channel=channel, user=actor.user_id, text=title,
              blocks=render.candidates_blocks(title, found.subjects))


def open_request(client: WebClient, actor: Actor, channel: str, cmd: Command, *, requests: SubjectRequests) -> None:
    """access or erase: the use case persists it and shows it for approval (the presenter posts)."""
    received = dict(cmd.options).get("received")
    requests.open(actor=actor, kind=cmd.name, identity=cmd.identity, subject_type=cmd.subject_type,
                  club_code=cmd.club, reply_to=channel,
                  club_received_on=dt.date.fromisoformat(received) if received else None)


def deadline(client: WebClient, actor: Actor, channel: str, cmd: Command, *, deadlines: RequestDeadlines) -> None:
    """extend or refuse: the use case decides and the presenter tells the request's thread."""
    options = dict(cmd.options)
    if cmd.name == "extend":
        req = deadlines.extend(actor=actor, request_id=int(cmd.identity), reason=options["reason"],
                               months=int(options["months"]))
        text = f":calendar: R-{req.id} is extended to {req.due_on:%d %b %Y}; its thread says what to tell the club."
    else:
        deadlines.refuse(actor=actor, request_id=int(cmd.identity), ground=options["reason"])
        text = f":no_entry_sign: R-{cmd.identity} is refused; the notice for the club is in its thread."
    ephemeral(client, channel=channel, user=actor.user_id, text=text)
