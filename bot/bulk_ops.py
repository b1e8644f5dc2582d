"""`/gdpr crm purge` and `/gdpr retention report`, after the ack; and opening scheduled runs in Slack."""
from __future__ import annotations

import datetime as dt
import logging

from bot.delivery_bulk import BulkSlackDelivery
from bot.render_bulk import report_blocks, title
from bot.slack_io import ephemeral
from gdpr import models as m
from gdpr.retention import crm_purge_spec
from gdpr.retention_report import retention_report as build_report
from gdpr.scheduling import RetentionScheduler

log = logging.getLogger(__name__)


def crm_purge(services, client, actor, channel: str, cmd) -> None:  # noqa: ANN001
    """Dry-run the purge and put its card in front of the DPO; nothing is removed before Approve."""
    services.authz.require(actor, "purge.request")
    spec = crm_purge_spec(services.retention, dict(cmd.options), services.bulk.clubs())
    same = [r for r in services.runs.open_runs() if r.kind == "crm_purge" and r.spec == spec.to_json()]
    if same:  # typed twice: one run, one card
        ephemeral(client, channel=channel, user=actor.user_id,
                  text=f"The same purge is already open: P-{same[0].id} ({same[0].status.replace('_', ' ')}).")
        return
    run = services.runs.open(kind="crm_purge", policy="crm-purge", spec=spec, requester_id=actor.user_id,
                             approval="a CRM purge is always approved by the DPO")
    if not run.total:
        ephemeral(client, channel=channel, user=actor.user_id,
                  text=f"No CRM leads match ({spec.describe()}): nothing to purge.")
        return
    BulkSlackDelivery(services).post_card(run)
    ephemeral(client, channel=channel, user=actor.user_id,
              text=f":clipboard: {title(run)}: {run.total:,} leads match. The preview is with the DPO "
                   f"in <#{services.policy.channel('approvals')}>; nothing is removed before they approve.")


def open_scheduled(services, now: dt.datetime, *, owner: str) -> list[int] | None:  # noqa: ANN001
    """One scheduler pass over the retention policies: open due slots, post their cards, queue the auto-runs.
    None when another scheduler holds the lease."""
    scheduler = RetentionScheduler(services.db, services.retention, services.runs, owner=owner,
                                   lease=dt.timedelta(seconds=3 * services.settings.reconcile_interval_seconds))
    opened = scheduler.tick(now)
    if opened is None:
        return None
    delivery = BulkSlackDelivery(services)
    for run in opened:
        if run.total:
            try:
                delivery.post_card(run)
            except Exception as exc:  # Slack down: the run is recorded; the card is only the window on it
                log.warning("card for P-%s not posted: %s", run.id, type(exc).__name__)
        if run.status == m.APPROVED:
            try:
                services.enqueue_run(run.id)
                services.runs.mark_queued(run_id=run.id)
            except Exception as exc:  # the reconciler sends it later
                log.warning("enqueue of P-%s failed: %s", run.id, type(exc).__name__)
    return [r.id for r in opened]


def retention_report(services, client, actor, channel: str, cmd) -> None:  # noqa: ANN001
    services.authz.require(actor, "retention.read")
    lines, purges = build_report(services.retention, services.runs, services.bulk, now=services.runs.clock())
    text = f"Retention report: {len(lines)} policies; {len(purges)} CRM purge(s) in the last 30 days."
    services.reads.record(actor, "retention.report_viewed", policies=len(lines))
    ephemeral(client, channel=channel, user=actor.user_id, text=text, blocks=report_blocks(lines, purges))
