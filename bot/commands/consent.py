"""`/gdpr consent | withdraw | object` on Slack: call the consent use cases, render what they return."""
from __future__ import annotations

from slack_sdk import WebClient

from bot.grammar import Command
from bot.render import mrkdwn, plain, subject_fields
from bot.slack_io import ephemeral
from gdpr.app.consent import ConsentDesk, ConsentView
from gdpr.core.access import Actor


def consent_commands(client: WebClient, actor: Actor, channel: str, cmd: Command, *, consent: ConsentDesk) -> None:
    """`consent` (show), `withdraw`, `object`."""
    desk = consent
    if cmd.name == "consent":
        view = desk.show(actor=actor, identity=cmd.identity, subject_type=cmd.subject_type, club_code=cmd.club)
        ephemeral(client, channel=channel, user=actor.user_id, text=f"{len(view.agreements)} agreement(s)",
                  blocks=render(view))
        return
    if cmd.name == "object" and dict(cmd.options)["what"] in ("interests", "legitimate-interests"):
        request_id = desk.object_to_interests(actor=actor, identity=cmd.identity, subject_type=cmd.subject_type,
                                              club_code=cmd.club, reply_to=channel)
        ephemeral(client, channel=channel, user=actor.user_id,
                  text=f":hand: R-{request_id}: the objection (Art. 21(1)) is recorded for the club's decision; the "
                       "DPO records it on the card (approve: upheld, reject: the club's compelling grounds).")
        return
    request_id, queued = desk.withdraw(actor=actor, identity=cmd.identity, subject_type=cmd.subject_type,
                                       club_code=cmd.club, what=dict(cmd.options)["what"],
                                       objection=cmd.name == "object", reply_to=channel)
    what = "objection" if cmd.name == "object" else "withdrawal"
    when = ("is being applied to the platform's records now" if queued else
            "will be applied as soon as the job queue is reachable again (it is recorded; nothing is lost)")
    ephemeral(client, channel=channel, user=actor.user_id,
              text=f":hand: R-{request_id}: the {what} is recorded and {when}; its thread shows when it is done "
                   "and which integrations were told.")


def render(view: ConsentView) -> list[dict]:
    label = "Lead" if view.subject_type == "lead" else "Member"
    lines = [f"{a.code} ({a.purpose}) · version {a.version}" + (" (current)" if a.version == a.current_version else
                                                                 f" (current: {a.current_version})")
             + f" · {a.channel} · given {a.granted_at:%d %b %Y}"
             + (f" · withdrawn {a.withdrawn_at:%d %b %Y}" if a.withdrawn_at else " · in force")
             for a in view.agreements[:40]]
    if len(view.agreements) > 40:
        lines.append(f"…and {len(view.agreements) - 40} older agreement(s) not shown (`/gdpr access` exports them all).")
    note = ("Masked: you hold neither `pii.view` nor a live access grant for this subject." if not view.unmasked_by
            else f"Shown unmasked ({view.unmasked_by}); this view is logged in the subject's change history.")
    return [{"type": "section", "text": mrkdwn(f"*Agreements of this {label.lower()}*")},
            subject_fields(view.subject, label), {"type": "context", "elements": [mrkdwn(note)]},
            {"type": "section", "text": plain("\n".join(lines) or "No agreement recorded.")}]
