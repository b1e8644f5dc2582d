"""`/gdpr audit <identity>` on Slack: the subject's history from the use case, a page at a time."""
from __future__ import annotations

import datetime as dt

from slack_sdk import WebClient

from bot.grammar import Command
from bot.pages import line_sections, nav, window
from bot.render import mrkdwn, subject_fields
from bot.slack_io import ephemeral
from gdpr.app.history import History, SubjectHistory
from gdpr.app.reads import PER_PAGE
from gdpr.core.access import Actor


def audit(client: WebClient, actor: Actor, channel: str, cmd: Command, *, history: SubjectHistory) -> None:
    """`/gdpr audit <identity>`: the first page."""
    found = history.find(actor=actor, identity=cmd.identity, subject_type=cmd.subject_type,
                         club_code=cmd.club)
    ephemeral(client, channel=channel, user=actor.user_id, **render(found))


def history_page(actor: Actor, arg: str, offset: int, *, history: SubjectHistory) -> dict:
    """A page of `/gdpr audit` (the button carries the subject's type, internal key and the first page's
    moment, never its identity)."""
    subject, _, until = arg.partition("@")
    subject_type, _, key = subject.partition(":")
    return render(history.history(
        actor=actor, subject_type=subject_type, key=key, offset=offset,
        until=dt.datetime.fromtimestamp(float(until), dt.UTC) if until else None))


def render(history: History) -> dict:
    label = "Lead" if history.subject_type == "lead" else "Member"
    lines = [f"{line.at:%d %b %Y %H:%M} · {line.source} · {line.what} · {line.who}" + (f" · {line.ref}" if line.ref else "")
             for line in history.page.items]
    note = ("Masked: you hold neither `pii.view` nor a live access grant for this subject." if not history.unmasked_by
            else f"Shown unmasked ({history.unmasked_by}); this view is logged in the subject's change history.")
    blocks = [{"type": "section", "text": mrkdwn(f"*History of this {label.lower()}* — the bot's actions and the "
                                                 "platform's change log")},
              subject_fields(history.subject, label), {"type": "context", "elements": [mrkdwn(note)]},
              *line_sections(lines), window(history.page, "events"),
              *nav("history", f"{history.subject_type}:{history.key}@{history.until.timestamp():.6f}", history.page,
                   PER_PAGE)]
    return {"text": f"History: {history.page.total} event(s)", "blocks": blocks}
