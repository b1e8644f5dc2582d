"""`/gdpr crm purge` and `/gdpr retention report` on Slack: what the purge use cases return, rendered."""
from __future__ import annotations

from slack_sdk import WebClient

from bot.grammar import Command
from bot.render_bulk import report_blocks
from bot.slack_io import ephemeral
from gdpr.app.purges import Purges
from gdpr.core.access import Actor


def crm_purge(client: WebClient, actor: Actor, channel: str, cmd: Command, *, purges: Purges, approvals: str) -> None:
    """The use case dry-runs the purge and shows its card to the DPO; nothing is removed before Approve."""
    opened = purges.open_purge(actor=actor, options=dict(cmd.options))
    if opened.already_open:  # typed twice: one run, one card
        text = f"The same purge is already open: {opened.already_open}."
    elif opened.run_id is None:
        text = f"No CRM leads match ({opened.what}): nothing to purge."
    else:
        text = (f":clipboard: CRM purge P-{opened.run_id}: {opened.total:,} leads match. The preview is with the DPO "
                f"in <#{approvals}>; nothing is removed before they approve.")
    ephemeral(client, channel=channel, user=actor.user_id, text=text)


def retention_report(client: WebClient, actor: Actor, channel: str, cmd: Command, *, purges: Purges) -> None:
    lines, recent = purges.report(actor=actor)
    text = f"Retention report: {len(lines)} policies; {len(recent)} CRM purge(s) in the last 30 days."
    ephemeral(client, channel=channel, user=actor.user_id, text=text, blocks=report_blocks(lines, recent))
