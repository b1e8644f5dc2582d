"""`/gdpr club token …` on Slack: the clubs' API credentials, and `/gdpr club offboard` (a bulk run). A new token is shown to the DPO alone, once,
as an ephemeral message (nothing that stays in the workspace holds it)."""
from __future__ import annotations

from slack_sdk import WebClient

from bot.grammar import Command
from bot.render import escape
from bot.slack_io import ephemeral
from gdpr.app.club_api import ClubAccess
from gdpr.app.purges import Purges
from gdpr.core.access import Actor


def club_token(client: WebClient, actor: Actor, channel: str, cmd: Command, *, clubs: ClubAccess) -> None:
    """`club tokens`, `club token revoke`, `club token issue|rotate`."""
    access = clubs
    if cmd.name == "club tokens":
        rows = access.listed(actor=actor)
        lines = [f"• `{escape(t.club_code)}` token …{escape(t.hint)} · issued {t.created_at:%d %b %Y} by <@{t.created_by}>"
                 f" · last used {t.last_used_at:%d %b %H:%M} UTC" if t.last_used_at else
                 f"• `{escape(t.club_code)}` token …{escape(t.hint)} · issued {t.created_at:%d %b %Y} · never used"
                 for t in rows]
        ephemeral(client, channel=channel, user=actor.user_id, text="\n".join(lines) or "No club holds a live token.")
        return
    if cmd.name == "club token revoke":
        n = access.revoke(actor=actor, club=cmd.identity)
        ephemeral(client, channel=channel, user=actor.user_id,
                  text=f":lock: {n} token(s) of `{escape(cmd.identity)}` revoked: its API calls are refused from now.")
        return
    ips = dict(cmd.options).get("ip")
    issued = access.issue(actor=actor, club=cmd.identity, allowed=ips.split(",") if ips else None)
    ephemeral(client, channel=channel, user=actor.user_id,  # seen once, by the DPO alone; nothing stays in the workspace
              text=f":key: API token for club `{escape(issued.club)}`, shown this once (only its hash is kept; "
                   f"any earlier token stopped working): `{issued.token}`\nGive it to the club's IT by a secure channel. "
                   "Lost it? Rotate: `/gdpr club token rotate`.")


def offboard(client: WebClient, actor: Actor, channel: str, cmd: Command, *, purges: Purges, approvals: str) -> None:
    """The use case dry-runs the offboarding and shows its card; nothing is returned or erased before Approve."""
    opened = purges.open_offboarding(actor=actor, club=cmd.identity, choice=dict(cmd.options)["choice"])
    if opened.already_open:
        text = f"The offboarding of `{escape(cmd.identity)}` is already open: {opened.already_open}."
    elif opened.run_id is None:
        text = f"Club `{escape(cmd.identity)}` has no member or lead left in the system: nothing to offboard."
    else:
        text = (f":door: Offboarding of `{escape(cmd.identity)}` P-{opened.run_id}: {opened.total:,} members and leads. "
                f"The dry run is with the DPO in <#{approvals}>; nothing is returned or "
                "erased before another DPO approves.")
    ephemeral(client, channel=channel, user=actor.user_id, text=text)
