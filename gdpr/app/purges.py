"""Use cases of bulk runs: a CRM purge asked for in chat, the retention scheduler's pass, the DPO's
decision, the retention report. Every run is dry-run first and shown (the presenter port); nothing
is removed before it is approved (by the DPO, or by a policy within its limits)."""
from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from gdpr.app.reads import AuditedRead
from gdpr.bulk.engine import BulkEngine
from gdpr.bulk.retention import BulkSpec, Policy, RetentionConfig, crm_purge_spec
from gdpr.bulk.retention_report import PolicyLine, retention_report
from gdpr.bulk.runs import BulkRuns
from gdpr.bulk.scheduling import RetentionScheduler
from gdpr.clubs.offboarding import CHOICES, RETURN_AND_DELETE, offboard_spec, withdraw_returned
from gdpr.core import models as m
from gdpr.core.access import Actor
from gdpr.core.authz import Authorizer
from gdpr.core.db import Database
from gdpr.core.errors import AlreadyDecided, UsageError
from gdpr.core.ports import BulkPresenter, JobQueue
from gdpr.erasure.notices import NoticeService

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PurgeOpened:
    run_id: int | None  # None: nothing matched, or the same purge is already open
    total: int
    what: str  # the purge in words (criteria, never personal data)
    already_open: str | None = None  # "P-3 (awaiting approval)" when the same purge was asked for before


@dataclass(frozen=True)
class RunCard:
    """What a bulk run's card shows beside the run: its policy, a few masked samples, its notices."""

    policy: Policy | None
    samples: list[dict[str, str]] | None  # while it awaits approval: masked, read now, never stored
    notices: dict[str, int] | None  # once done


@dataclass(frozen=True)
class BulkViews:
    """The bulk presenter's reads (no decision, no audit event)."""

    retention: RetentionConfig
    bulk: BulkEngine
    notices: NoticeService

    def card(self, run: m.BulkRun) -> RunCard:
        policy = self.retention.policies.get(run.policy) if run.source == "retention" and run.policy else None
        samples = self.bulk.samples(BulkSpec.from_json(run.spec), run.as_of) \
            if run.status == m.AWAITING_APPROVAL else None
        return RunCard(policy, samples, self.notices.run_summary(run.id) if run.status == m.DONE else None)


@dataclass
class Purges:
    authz: Authorizer
    retention: RetentionConfig
    bulk: BulkEngine
    runs: BulkRuns
    reads: AuditedRead
    db: Database
    presenter: BulkPresenter
    queue: JobQueue
    scheduler_lease: dt.timedelta

    def open_purge(self, *, actor: Actor, options: dict[str, str]) -> PurgeOpened:
        """Dry-run a CRM purge and show its card to the DPO; typed twice, it is one run."""
        self.authz.require(actor, "purge.request")
        spec = crm_purge_spec(self.retention, options, self.bulk.clubs())
        same = [r for r in self.runs.open_runs() if r.source == "crm_purge" and r.spec == spec.to_json()]
        if same:
            return PurgeOpened(None, same[0].total, spec.describe(),
                               already_open=f"P-{same[0].id} ({same[0].status.replace('_', ' ')})")
        run = self.runs.open(source="crm_purge", policy="crm-purge", spec=spec, requester_id=actor.user_id,
                             approval="a CRM purge is always approved by the DPO")
        if run is None or not run.total:
            return PurgeOpened(None, 0, spec.describe())
        self.presenter.post_card(run)
        return PurgeOpened(run.id, run.total, spec.describe())

    def open_offboarding(self, *, actor: Actor, club: str, choice: str = RETURN_AND_DELETE) -> PurgeOpened:
        """Dry-run a club's offboarding (Art. 28(3)(g)) as the club chose (return and delete, return only,
        delete only; recorded with who chose: the club, through the DPO who records it) and show its card:
        every member and lead of the club, what each table loses. Typed twice, it is one run."""
        self.authz.require(actor, "club.offboard", club=club[:40])
        if choice not in CHOICES:
            raise UsageError(f"The club chooses one of: {', '.join(CHOICES)}.")
        clubs = self.bulk.clubs()
        if club not in clubs:
            raise UsageError(f"There is no club `{club[:40]}`. Clubs: {', '.join(f'`{c}`' for c in sorted(clubs))}.")
        spec = offboard_spec(self.bulk.datamap, club_code=club, club_id=clubs[club], batch_size=self.retention.batch_size,
                             choice=choice, chosen_by=f"club {club}, recorded by {actor.user_id}")
        same = [r for r in self.runs.open_runs() if r.source == "offboard" and r.spec.get("club_code") == club]
        if same:
            return PurgeOpened(None, same[0].total, spec.describe(),
                               already_open=f"P-{same[0].id} ({same[0].status.replace('_', ' ')})")
        run = self.runs.open(source="offboard", policy=f"offboard-{club}"[:64], spec=spec, requester_id=actor.user_id,
                             approval="offboarding a club returns and then erases all of its data")
        if run is None or not run.total:
            return PurgeOpened(None, 0, spec.describe())
        self.presenter.post_card(run)
        return PurgeOpened(run.id, run.total, spec.describe())

    def withdraw_returned(self, *, now: dt.datetime, ttl: dt.timedelta) -> int:
        """The scheduler's pass: offboarding archives past their TTL leave the thread."""
        return withdraw_returned(self.runs, self.presenter, now=now, ttl=ttl)

    def check_decidable(self, *, actor: Actor, run_id: int) -> None:
        run = self.runs.ensure_can_decide(run_id=run_id, actor=actor)
        if run.status != m.AWAITING_APPROVAL:
            raise AlreadyDecided(f"P-{run_id} was already decided ({run.status.replace('_', ' ')}).")

    def approve(self, *, actor: Actor, run_id: int) -> bool:
        """Approve (four eyes) and queue; False when the queue could not take it (the reconciler will)."""
        self.runs.approve(run_id=run_id, actor=actor)
        queued = self.enqueue(run_id)
        current = self.runs.get(run_id)
        if current.status in (m.APPROVED, m.QUEUED):  # once the job has the card, its paced updates own it
            self.presenter.bulk_changed(current)
        return queued

    def reject(self, *, actor: Actor, run_id: int, reason: str) -> None:
        self.presenter.bulk_changed(self.runs.reject(run_id=run_id, actor=actor, reason=reason))

    def enqueue(self, run_id: int) -> bool:
        try:
            self.queue.run(run_id)
        except Exception as exc:  # the state DB leads: the reconciler sends it when the queue is back
            log.warning("enqueue of P-%s failed: %s", run_id, type(exc).__name__)
            return False
        self.runs.mark_queued(run_id=run_id)
        return True

    def open_scheduled(self, *, now: dt.datetime, owner: str) -> list[int] | None:
        """One scheduler pass over the retention policies: open due slots, show their cards, queue the
        runs a policy approves. None when another scheduler holds the lease."""
        opened = self._scheduler(owner).tick(now)
        if opened is None:
            return None
        for run in opened:
            if run.total:
                try:
                    self.presenter.post_card(run)
                except Exception as exc:  # Slack down: the run is recorded; the card is only the window on it
                    log.warning("card for P-%s not posted: %s", run.id, type(exc).__name__)
            if run.status == m.APPROVED:
                self.enqueue(run.id)
        return [r.id for r in opened]

    def step_down(self, owner: str) -> None:
        """Hand the scheduler lease back at a clean shutdown, so a standby takes over at once."""
        RetentionScheduler(self.db, self.retention, self.runs, owner=owner, lease=dt.timedelta(0)).step_down()

    def report(self, *, actor: Actor) -> tuple[list[PolicyLine], list[tuple[int, int]]]:
        """Per policy, what was deleted in the last 30 days and what is due next (an audited read)."""
        self.authz.require(actor, "retention.read")
        lines, purges = retention_report(self.retention, self.runs, self.bulk, now=self.runs.clock())
        self.reads.record(actor, "retention.report_viewed", policies=len(lines))
        return lines, purges

    def _scheduler(self, owner: str) -> RetentionScheduler:
        return RetentionScheduler(self.db, self.retention, self.runs, owner=owner, lease=self.scheduler_lease)
