"""Bulk runs: previewed, approved (by the DPO, or by policy), then worked through in checkpointed batches.

Lifecycle: awaiting_approval → approved (→ queued) → running → done / failed, or rejected.
A run's checkpoint (last key, rows done, counts per table) is written in the same transaction as
its batch when the state and system databases are one database, and only by the lease holder:
a worker that lost its lease cannot commit a batch, and a resumed run never repeats one.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from sqlalchemy import Update, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gdpr.bulk.engine import BulkEngine
from gdpr.bulk.retention import BulkSpec
from gdpr.core import models as m
from gdpr.core.access import Actor
from gdpr.core.audit import AuditLog
from gdpr.core.db import Database, changed
from gdpr.core.errors import RunNotFound
from gdpr.lifecycle.approval import Approvals, Decidable
from gdpr.lifecycle.leases import Leased, LeasedJobs
from gdpr.requests.jobs import LeaseLost
from gdpr.requests.service import lost_jobs

SCHEDULER = "scheduler"
DECIDABLE = (m.AWAITING_APPROVAL,)
RUNS = Decidable(model=m.BulkRun, ref="P-", event="bulk", asked="asked for this purge", what="a bulk deletion",
                 statuses=DECIDABLE, audit_fields=lambda run: {"run": run.id, "policy": run.policy, "source": run.source},
                 on_reject=lambda now: {"finished_at": now})
LEASED = Leased(model=m.BulkRun, event="bulk", audit_fields=RUNS.audit_fields, keep_first_start=True,
                started=lambda run: {"resumed_after": run.done})


class BulkRuns:
    def __init__(self, db: Database, audit: AuditLog, engine: BulkEngine, clock: Callable[[], dt.datetime],
                 lease: dt.timedelta) -> None:
        self.db, self.audit, self.engine, self.clock, self.lease = db, audit, engine, clock, lease
        self.approvals = Approvals(db, audit, clock)
        self.jobs = LeasedJobs(db, audit, clock, lease)

    def get(self, run_id: int) -> m.BulkRun:
        return self.db.load(m.BulkRun, run_id, RunNotFound(f"There is no run P-{run_id}."))

    # -- opening a run -----------------------------------------------------------------------------
    def open(self, *, source: str, policy: str, spec: BulkSpec, requester_id: str, approval: str | None,
             slot_key: str | None = None, as_of: dt.datetime | None = None) -> m.BulkRun | None:
        """Dry-run the spec and record the run; `approval` is why the DPO must approve (None: the policy
        runs it). Returns None when this slot already has its run."""
        as_of = as_of or self.clock()
        preview = self.engine.preview(spec, as_of)
        share = preview.get("share") or 0
        if share > spec.max_share:
            guard = (f"it would touch {share:.0%} of {spec.table} (more than the {spec.max_share:.0%} a run "
                     "may touch without the DPO)")
            approval = f"{approval}, and {guard}" if approval else guard
        status = m.AWAITING_APPROVAL if approval and preview["total"] else m.APPROVED
        run = m.BulkRun(source=source, policy=policy, slot_key=slot_key, spec=spec.to_json(), as_of=as_of, status=status,
                        requester_id=requester_id, created_at=self.clock(), preview=preview, needs_approval=approval,
                        total=preview["total"], done=0, counts={}, attempts=0)
        if not preview["total"]:
            run.status, run.finished_at, run.residue = m.DONE, self.clock(), 0
        try:
            with self.db.session() as s:
                s.add(run)
                s.flush()
                self._record(s, run, requester_id, "bulk.previewed", matched=preview["total"], share=share,
                             needs_approval=bool(approval))
                s.expunge(run)
        except IntegrityError:
            return None
        return run

    # -- deciding ------------------------------------------------------------------------------------
    def ensure_can_decide(self, *, run_id: int, actor: Actor) -> m.BulkRun:
        run = self.get(run_id)
        self.approvals.ensure_can_decide(RUNS, run, actor)
        return run

    def approve(self, *, run_id: int, actor: Actor) -> m.BulkRun:
        self.approvals.decide(RUNS, self.get(run_id), actor, m.APPROVED, None, reason_given=False)
        return self.get(run_id)

    def reject(self, *, run_id: int, actor: Actor, reason: str) -> m.BulkRun:
        self.approvals.decide(RUNS, self.get(run_id), actor, m.REJECTED, reason, reason_given=bool(reason))
        return self.get(run_id)

    def mark_queued(self, *, run_id: int) -> None:
        with self.db.session() as s:
            s.execute(update(m.BulkRun).where(m.BulkRun.id == run_id, m.BulkRun.status.in_([m.APPROVED, m.QUEUED]))
                      .values(status=m.QUEUED, queued_at=self.clock()))

    def needing_enqueue(self, *, requeue_after: dt.timedelta) -> list[int]:
        with self.db.session() as s:
            return lost_jobs(s, m.BulkRun, now=self.clock(), requeue_after=requeue_after)

    # -- leases and checkpoints ------------------------------------------------------------------------
    def claim(self, *, run_id: int, owner: str) -> m.BulkRun | None:
        return self.jobs.claim(LEASED, run_id, owner)

    def renew(self, *, run_id: int, owner: str) -> bool:
        return self.jobs.renew(LEASED, run_id, owner)

    def checkpoint_statement(self, run: m.BulkRun, owner: str, *, last_key: str, rows: int, counts: dict) -> Update:
        """The UPDATE that books a batch: only for the lease holder, only from the checkpoint it read."""
        r = m.BulkRun
        previous = r.last_key.is_(None) if run.last_key is None else r.last_key == run.last_key
        return (update(r).where(r.id == run.id, r.lease_owner == owner, r.status == m.RUNNING, previous)
                .values(last_key=last_key, done=r.done + rows, counts=counts))

    def hold_pending(self, run: m.BulkRun, owner: str, *, last_key: str, rows: int, counts: dict) -> bool:
        """Two databases, phase one: the batch about to commit in the system DB, only for the lease holder
        and only from the checkpoint it read. False: the run moved on (the batch must roll back)."""
        r = m.BulkRun
        previous = r.last_key.is_(None) if run.last_key is None else r.last_key == run.last_key
        with self.db.session() as s:
            return changed(s.execute(update(r).where(r.id == run.id, r.lease_owner == owner, r.status == m.RUNNING,
                                                     previous)
                                     .values(pending={"last_key": last_key, "rows": rows, "counts": counts}))) == 1

    def book_pending(self, run_id: int, *, committed: bool) -> m.BulkRun:
        """Phase two: the pending batch committed (its checkpoint is booked) or did not (it is dropped)."""
        r = m.BulkRun
        with self.db.session() as s:
            stored = s.get_one(r, run_id)
            pending = stored.pending
            if pending:
                values: dict = {"pending": None}
                if committed:
                    values.update(last_key=pending["last_key"], done=r.done + pending["rows"], counts=pending["counts"])
                s.execute(update(r).where(r.id == run_id, r.pending.is_not(None)).values(**values))
        return self.get(run_id)

    def set_artifacts(self, *, run_id: int, owner: str, artifacts: dict) -> dict:
        """What an offboarding handed over (the lease holder's write only); returns what is stored."""
        r = m.BulkRun
        with self.db.session() as s:
            if changed(s.execute(update(r).where(r.id == run_id, r.lease_owner == owner, r.status == m.RUNNING)
                                 .values(artifacts=artifacts))) != 1:
                raise LeaseLost(f"P-{run_id}")
        return artifacts

    def returned_archives(self) -> list[tuple[int, dict]]:
        """Offboarding runs that handed the club's data back: (run id, what they recorded)."""
        with self.db.session() as s:
            rows = s.execute(select(m.BulkRun.id, m.BulkRun.artifacts).where(m.BulkRun.source == "offboard",
                                                                               m.BulkRun.artifacts.is_not(None)))
            return [(i, a) for i, a in rows if a and a.get("returned")]

    def update_artifacts(self, *, run_id: int, artifacts: dict) -> None:
        """After the run (its archive withdrawn from the thread): no lease is held any more."""
        with self.db.session() as s:
            s.execute(update(m.BulkRun).where(m.BulkRun.id == run_id).values(artifacts=artifacts))

    def claim_artifacts(self, *, run_id: int, expected: dict, artifacts: dict) -> bool:
        """After the run: replace what it recorded only if it is still `expected` (two processes settling a
        statement at once: one wins, the other sees False and leaves it)."""
        with self.db.session() as s:
            row = s.execute(select(m.BulkRun).where(m.BulkRun.id == run_id).with_for_update()).scalar_one()
            if (row.artifacts or {}) != expected:
                return False
            row.artifacts = artifacts
            return True

    def statements_due(self) -> list[int]:
        """Offboarding runs done whose completion statement waits for their recipients' notices."""
        with self.db.session() as s:
            rows = s.execute(select(m.BulkRun.id, m.BulkRun.artifacts).where(m.BulkRun.source == "offboard",
                                                                               m.BulkRun.status == m.DONE))
            return [i for i, a in rows if a and a.get("statement_due") and "statement" not in a]

    def set_total(self, *, run_id: int, total: int) -> None:
        with self.db.session() as s:
            s.execute(update(m.BulkRun).where(m.BulkRun.id == run_id).values(total=total))

    def finish(self, *, run: m.BulkRun, owner: str, residue: int) -> bool:
        return self.jobs.finish(LEASED, run.id, owner, m.DONE, residue=residue,
                                audit=lambda done: {"rows": done.done, "counts": done.counts, "residue": residue})

    def release(self, *, run_id: int, owner: str, error: str, final: bool) -> m.BulkRun | None:
        return self.jobs.release(LEASED, run_id, owner, error=error, final=final)

    # -- reading ---------------------------------------------------------------------------------------
    def finished_since(self, since: dt.datetime) -> list[m.BulkRun]:
        with self.db.session() as s:
            runs = list(s.execute(select(m.BulkRun).where(m.BulkRun.status == m.DONE, m.BulkRun.finished_at >= since)
                                  .order_by(m.BulkRun.id)).scalars())
            s.expunge_all()
            return runs

    def open_runs(self) -> list[m.BulkRun]:
        with self.db.session() as s:
            runs = list(s.execute(select(m.BulkRun).where(m.BulkRun.status.notin_([m.DONE, m.FAILED, m.REJECTED]))
                                  .order_by(m.BulkRun.id)).scalars())
            s.expunge_all()
            return runs

    def _record(self, s: Session, run: m.BulkRun, actor: str, action: str, **details: Any) -> None:
        self.audit.record(s, actor=actor, action=action, run=run.id, policy=run.policy, source=run.source, **details)
