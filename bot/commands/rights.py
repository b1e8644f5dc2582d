"""`/gdpr restrict | restrict lift | rectify` on Slack: call the rights use cases, say what they did."""
from __future__ import annotations

from slack_sdk import WebClient

from bot.grammar import Command
from bot.slack_io import ephemeral
from gdpr.app.rights import RightsDesk, parse_changes
from gdpr.core.access import Actor


def rights_commands(client: WebClient, actor: Actor, channel: str, cmd: Command, *, rights: RightsDesk) -> None:
    said, who, kind, club = dict(cmd.options), cmd.identity, cmd.subject_type, cmd.club
    if cmd.name == "restrict":
        request_id, queued = rights.restrict(actor=actor, identity=who, subject_type=kind, club_code=club,
                                             ground=said["ground"], reply_to=channel)
        when = ("is being applied to the platform now" if queued else
                "will be applied as soon as the job queue is reachable again (it is recorded; nothing is lost)")
        text = (f":lock: R-{request_id}: the restriction (Art. 18) is recorded and {when}; its thread shows when the "
                "platform only stores the data and which recipients were told.")
    elif cmd.name == "restrict lift":
        opened = rights.lift(actor=actor, identity=who, subject_type=kind, club_code=club, reason=said["reason"],
                             reply_to=channel)
        text = (f":unlock: R-{opened.request_id}: lifting the restriction awaits the DPO's approval; the club is "
                "mailed when it is lifted (it tells the person first, Art. 18(3)).")
    else:
        opened = rights.rectify(actor=actor, identity=who, subject_type=kind, club_code=club,
                                changes=parse_changes(said["changes"]), reply_to=channel)
        text = (f":pencil2: R-{opened.request_id}: the correction awaits the DPO's approval; the card names the fields, "
                "never their values.")
    ephemeral(client, channel=channel, user=actor.user_id, text=text)
