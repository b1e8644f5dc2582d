"""`/gdpr grant | grants | revoke` on Slack: call the temporary-access use cases, render what they return."""
from __future__ import annotations

from slack_sdk import WebClient

from bot.grammar import Command
from bot.render_grant import grants_blocks
from bot.slack_io import ephemeral
from gdpr.app.grants import Grants
from gdpr.core.access import Actor


def grant_commands(client: WebClient, actor: Actor, channel: str, cmd: Command, *, grants: Grants) -> None:
    """`grant`, `grants`, `revoke`."""
    use, options = grants, dict(cmd.options)
    if cmd.name == "grant":
        grant_id = use.ask(actor=actor, identity=cmd.identity, subject_type=cmd.subject_type, club_code=cmd.club,
                           duration=options["duration"], reason=options["reason"])
        ephemeral(client, channel=channel, user=actor.user_id,
                  text=f":hourglass: G-{grant_id} is with the DPO. You will be told in its thread when it is live.")
    elif cmd.name == "grants":
        ephemeral(client, channel=channel, user=actor.user_id, **grants_page(actor, "", 0, grants=grants))
    elif cmd.name == "revoke":
        grant = use.revoke(actor=actor, grant_id=int(cmd.identity), reason=options.get("reason"))
        ephemeral(client, channel=channel, user=actor.user_id, text=f":lock: G-{grant.id} is revoked.")


def grants_page(actor: Actor, arg: str, offset: int, *, grants: Grants) -> dict:
    """A page of `/gdpr grants` (its text and blocks)."""
    page = grants.listed(actor=actor, offset=offset)
    everyone = actor.can("request.decide") or actor.can("audit.read")
    return {"text": f"{page.total} temporary access grant(s)", "blocks": grants_blocks(page, everyone=everyone)}
