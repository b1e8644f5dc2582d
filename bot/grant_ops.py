"""`/gdpr grant | grants | revoke` on Slack: call the temporary-access use cases, render what they return."""
from __future__ import annotations

from bot.render_grant import grants_blocks
from bot.slack_io import ephemeral


def handle(services, client, actor, channel: str, cmd) -> None:  # noqa: ANN001
    use, options = services.access_grants, dict(cmd.options)
    if cmd.name == "grant":
        grant_id = use.ask(actor=actor, identity=cmd.identity, subject_type=cmd.subject_type, club_code=cmd.club,
                           duration=options["duration"], reason=options["reason"])
        ephemeral(client, channel=channel, user=actor.user_id,
                  text=f":hourglass: G-{grant_id} is with the DPO. You will be told in its thread when it is live.")
    elif cmd.name == "grants":
        ephemeral(client, channel=channel, user=actor.user_id, **grants_page(services, actor, "", 0))
    elif cmd.name == "revoke":
        grant = use.revoke(actor=actor, grant_id=int(cmd.identity), reason=options.get("reason"))
        ephemeral(client, channel=channel, user=actor.user_id, text=f":lock: G-{grant.id} is revoked.")


def grants_page(services, actor, arg: str, offset: int) -> dict:  # noqa: ANN001
    """A page of `/gdpr grants` (its text and blocks)."""
    page = services.access_grants.listed(actor=actor, offset=offset)
    everyone = actor.can("request.decide") or actor.can("audit.read")
    return {"text": f"{page.total} temporary access grant(s)", "blocks": grants_blocks(page, everyone=everyone)}
