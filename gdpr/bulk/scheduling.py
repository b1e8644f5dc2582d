"""The retention scheduler's brain: which policy slots are due, opened once each, by one scheduler at a time.

State lives in the state DB: per policy the last slot handled (`retention_schedules`), per slot its
run (`bulk_runs.slot_key`, unique), and the scheduler lease (`scheduler_lease`). A restarted
scheduler picks up from there, so no slot is skipped or run twice; a second scheduler waits.
"""
from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gdpr.bulk.retention import Policy, RetentionConfig
from gdpr.bulk.runs import SCHEDULER, BulkRuns
from gdpr.core import models as m
from gdpr.core.db import Database, changed

log = logging.getLogger(__name__)
MAX_SLOTS = 5000  # how far back a long outage is looked at (an hourly policy: about 7 months)


@dataclass
class Due:
    policy: Policy
    slot: dt.datetime
    missed: int  # earlier slots of the same outage, folded into this run (it catches up on all of them)


class RetentionScheduler:
    def __init__(self, db: Database, config: RetentionConfig, runs: BulkRuns, *, owner: str,
                 lease: dt.timedelta) -> None:
        self.db, self.config, self.runs, self.owner, self.lease = db, config, runs, owner, lease

    def lead(self, now: dt.datetime) -> bool:
        """Take or keep the scheduler lease; False means another scheduler is acting."""
        lease = m.SchedulerLease
        with self.db.session() as s:
            if s.get(lease, 1) is None:
                try:
                    with s.begin_nested():
                        s.add(lease(id=1, owner=None, expires_at=None))
                except IntegrityError:
                    pass
            return changed(s.execute(update(lease).where(lease.id == 1, or_(
                lease.owner == self.owner, lease.owner.is_(None), lease.expires_at < now))
                .values(owner=self.owner, expires_at=now + self.lease))) == 1

    def step_down(self) -> None:
        with self.db.session() as s:
            s.execute(update(m.SchedulerLease).where(m.SchedulerLease.id == 1, m.SchedulerLease.owner == self.owner)
                      .values(owner=None, expires_at=None))

    def due(self, now: dt.datetime) -> list[Due]:
        """Per policy, the latest slot in (last handled, now]. A policy seen for the first time starts now."""
        out = []
        with self.db.session() as s:
            for name, policy in self.config.policies.items():
                sched = s.get(m.RetentionSchedule, name)
                if sched is None:
                    s.add(m.RetentionSchedule(policy=name, last_slot=now))
                    continue
                slots = _slots(policy, _aware(sched.last_slot), now)
                if slots:
                    out.append(Due(policy=policy, slot=slots[-1], missed=len(slots) - 1))
        return out

    def _unfinished(self, policy: str) -> int | None:
        with self.db.session() as s:
            return _open_run(s, policy)

    def tick(self, now: dt.datetime) -> list[m.BulkRun] | None:
        """Open the run of every due slot (once: the slot key is unique). Returns the runs opened now,
        or None when another scheduler leads."""
        if not self.lead(now):
            return None
        opened = []
        for due in self.due(now):
            waiting = self._unfinished(due.policy.name)
            if waiting is not None:  # one run per policy at a time: this slot folds into the one not yet done
                with self.db.session() as s:
                    s.execute(update(m.RetentionSchedule).where(m.RetentionSchedule.policy == due.policy.name)
                              .values(last_slot=due.slot))
                    self.runs.audit.record(s, actor=SCHEDULER, action="retention.slot_deferred", policy=due.policy.name,
                                           slot=due.slot.isoformat(), waiting_run=waiting)
                continue
            run = self.runs.open(source="retention", policy=due.policy.name, spec=due.policy.spec,
                                 requester_id=SCHEDULER, slot_key=f"{due.policy.name}@{due.slot.isoformat()}",
                                 approval="the policy requires the DPO's approval"
                                 if due.policy.approval == "required" else None, as_of=due.slot)
            with self.db.session() as s:
                s.execute(update(m.RetentionSchedule).where(m.RetentionSchedule.policy == due.policy.name)
                          .values(last_slot=due.slot))
                if due.missed:
                    self.runs.audit.record(s, actor=SCHEDULER, action="retention.slots_folded", policy=due.policy.name,
                                           slots=due.missed, into=due.slot.isoformat())
            if run is not None:
                opened.append(run)
        return opened


def _open_run(s: Session, policy: str) -> int | None:
    """A run of the policy not finished yet (waiting for the DPO, approved, queued or running)."""
    r = m.BulkRun
    return s.execute(select(r.id).where(r.source == "retention", r.policy == policy,
                                        r.status.in_((m.AWAITING_APPROVAL, m.APPROVED, m.QUEUED, m.RUNNING)))
                     .order_by(r.id).limit(1)).scalar()


def _slots(policy: Policy, after: dt.datetime, now: dt.datetime) -> list[dt.datetime]:
    trigger, out = policy.trigger(), []
    moment = after + dt.timedelta(seconds=1)
    while len(out) < MAX_SLOTS:
        nxt = trigger.get_next_fire_time(None, moment)
        if nxt is None or nxt > now:
            break
        out.append(nxt.astimezone(dt.UTC))
        moment = nxt + dt.timedelta(seconds=1)
    return out


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
