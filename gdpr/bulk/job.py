"""The bulk job: claim the run, work through its batches from the checkpoint, report progress and the end."""
from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError

from gdpr.bulk.engine import FILE_ACTIONS, BulkEngine
from gdpr.bulk.parts import by_part
from gdpr.bulk.retention import BulkSpec
from gdpr.bulk.runs import BulkRuns
from gdpr.clubs.offboarding import DELETE_ONLY, RETURN_ONLY, OffboardingSteps
from gdpr.core import models as m
from gdpr.core.db import Database, changed
from gdpr.core.ports import BulkPresenter, JobQueue
from gdpr.erasure.notices import NoticeService
from gdpr.requests.jobs import LeaseLost, heartbeat, resend

log = logging.getLogger(__name__)
PROGRESS_EVERY_S = 1.0  # chat.update at most once a second


class CheckpointMoved(Exception):
    """The stored checkpoint is not the one this batch started from (or the lease is gone)."""


@dataclass
class BulkJob:
    runs: BulkRuns
    engine: BulkEngine
    writer: Database
    same_db: bool  # checkpoint in the batch's own transaction
    delivery: BulkPresenter
    max_attempts: int
    pause_s: float = 0.0  # breathing room for the platform's database between batches
    batch_retries: int = 3
    notices: NoticeService | None = None  # Art. 19: the recipients of every erased subject are told
    queue: JobQueue | None = None  # where released notices are sent
    offboarding: OffboardingSteps | None = None  # a club's offboarding: its data returned first, a statement last
    forget: Callable[[list[tuple[str, str]]], int] | None = None  # erased (type, key): their exports and cards

    def run(self, *, run_id: int, owner: str) -> str:
        """Safe to run twice and to resume: finishes the run once, each row processed once."""
        run = self.runs.claim(run_id=run_id, owner=owner)
        if run is None:
            return "skipped"
        try:
            with heartbeat(lambda: self.runs.renew(run_id=run_id, owner=owner), interval=self.runs.lease / 3,
                           name=f"P-{run_id}") as still_mine:
                self._work(run, owner, still_mine)
        except LeaseLost:
            return "lease lost"
        except Exception as exc:
            reference = f"{type(exc).__name__} (attempt {run.attempts})"  # never the message: it can quote data
            log.error("P-%s failed: %s", run_id, reference)
            final = run.attempts >= self.max_attempts
            released = self.runs.release(run_id=run_id, owner=owner, error=reference, final=final)
            if not final:
                raise
            if released is not None:
                self.delivery.bulk_failed(released, reference)
            return "failed"
        return "done"

    def _work(self, run: m.BulkRun, owner: str, still_mine: Callable[[], None]) -> None:
        spec = BulkSpec.from_json(run.spec)
        self._follow(run, self._settle_pending(run))  # an attempt that died between the two phases
        total = run.done + self.engine.count(spec, run.as_of, after=run.last_key)
        if total != run.total:  # the data changed since the preview: the bar counts what is really there
            self.runs.set_total(run_id=run.id, total=total)
            run.total = total
        self.delivery.bulk_changed(run)
        if spec.action == "offboard":
            self._offboarding().close_open_requests(run)
            if spec.choice != DELETE_ONLY:
                self._offboarding().return_data(run, owner)
        started, done_at_start, last_update = time.monotonic(), run.done, time.monotonic()
        while spec.choice != RETURN_ONLY:
            still_mine()
            if not self._batch(run, spec, owner):
                break
            now = time.monotonic()
            if now - last_update >= PROGRESS_EVERY_S:
                self.delivery.bulk_changed(run, rate=(run.done - done_at_start) / max(now - started, 1e-6))
                last_update = now
            if self.pause_s:
                time.sleep(self.pause_s)
        still_mine()
        self._settle_notices(run, spec)
        residue = 0 if spec.choice == RETURN_ONLY else self.engine.residue(spec, run.as_of)  # kept by choice
        if spec.action == "offboard":
            self._offboarding().complete(run, owner, residue)
        self.runs.finish(run=run, owner=owner, residue=residue)
        time.sleep(max(0.0, PROGRESS_EVERY_S - (time.monotonic() - last_update)))  # the card's pace holds to the end
        self.delivery.bulk_changed(self.runs.get(run.id))

    def _offboarding(self) -> OffboardingSteps:
        if self.offboarding is None:
            raise RuntimeError("an offboarding run needs the offboarding steps")  # composition error, not data
        return self.offboarding

    def _batch(self, run: m.BulkRun, spec: BulkSpec, owner: str) -> bool:
        """One batch and its checkpoint; a dropped connection rolls the batch back and it is tried again."""
        for attempt in range(1, self.batch_retries + 1):
            try:
                return self._batch_once(run, spec, owner)
            except CheckpointMoved:
                self._adopt_checkpoint(run, owner)
            except DBAPIError as exc:
                if attempt == self.batch_retries or not _transient(exc):
                    raise
                log.warning("P-%s: batch rolled back (%s), trying again", run.id, type(exc.orig).__name__)
                time.sleep(0.2 * 2 ** attempt)
                self._adopt_checkpoint(run, owner)  # the connection may have died after its COMMIT went through
        raise CheckpointMoved(f"P-{run.id}: the batch could not be booked")  # a retry of the job resumes

    def _adopt_checkpoint(self, run: m.BulkRun, owner: str) -> None:
        stored = self._settle_pending(self.runs.get(run.id))
        if stored.lease_owner != owner or stored.status != m.RUNNING:
            raise LeaseLost(f"P-{run.id}")
        self._follow(run, stored)

    def _settle_pending(self, stored: m.BulkRun) -> m.BulkRun:
        """A batch held as pending whose outcome is unknown (the connection died at COMMIT, or the worker
        did): it committed if none of its rows still match - they are selected again to find out."""
        if not stored.pending:
            return stored
        spec = BulkSpec.from_json(stored.spec)
        left = self.engine.count(spec, stored.as_of, after=stored.last_key, upto=stored.pending["last_key"])
        return self.runs.book_pending(stored.id, committed=left == 0)

    @staticmethod
    def _follow(run: m.BulkRun, stored: m.BulkRun) -> None:
        run.last_key, run.done, run.counts = stored.last_key, stored.done, stored.counts

    def _batch_once(self, run: m.BulkRun, spec: BulkSpec, owner: str) -> bool:
        if spec.action in FILE_ACTIONS:  # files are no rows: one step, then done
            if run.last_key == "all":
                return False
            gone = self.engine.purge_files(spec, run.as_of)
            return self._book(run, owner, None, "all", gone, {FILE_ACTIONS[spec.action]: {"deleted": gone}})
        with self.writer.engine.begin() as conn:
            step = self.engine.step(conn, spec, run.as_of, run.last_key, before=self._outbox(run, spec, conn))
            if step is None:
                return False
            counts = _merge(run.counts or {}, step.counts)
            if self.same_db:  # one database: the checkpoint is in the batch's own transaction
                self._book(run, owner, conn, step.last_key, step.rows, counts)
            elif not self.runs.hold_pending(run, owner, last_key=step.last_key, rows=step.rows, counts=counts):
                raise CheckpointMoved(f"P-{run.id}")  # rolls the batch back; then: whose run is it now?
        if not self.same_db:  # two databases: booked only once the system database committed the batch
            self._follow(run, self.runs.book_pending(run.id, committed=True))
        if self.notices is not None and step.keys and spec.erases:  # the batch committed: tell them
            self._send(self.notices.release_run(run_id=run.id, keys=[str(k) for k in step.keys]))
        if self.forget is not None and step.keys and spec.erases:  # and their copies outside the platform go
            self.forget(_subjects(spec, [str(k) for k in step.keys]))
        return True

    # -- Art. 19: the same outbox as one erasure, one notice per subject and recipient -------------------
    def _outbox(self, run: m.BulkRun, spec: BulkSpec, conn: Connection) -> Callable[[list], None] | None:
        """Notices written before the batch commits (in its transaction when the databases are one)."""
        if self.notices is None or not spec.erases:
            return None
        notices = self.notices
        return lambda keys: notices.prepare_run(run_id=run.id, links=self.engine.recipients_of(conn, spec, keys),
                                                conn=conn if self.same_db else None)

    def _settle_notices(self, run: m.BulkRun, spec: BulkSpec) -> None:
        """A crash between a batch's commit and its release left notices waiting: those of subjects now
        erased are sent, those of subjects the run did not erase after all are dropped."""
        if self.notices is None or not spec.erases:
            return
        waiting = self.notices.waiting_in_run(run.id)
        erased = self.engine.erased(spec, waiting)
        self._send(self.notices.release_run(run_id=run.id, keys=erased))
        self.notices.discard_run(run_id=run.id, keys=sorted(set(waiting) - set(erased)))

    def _send(self, ids: list[int]) -> None:
        if self.queue is not None:
            resend(ids, self.queue.notice, label="notice ")  # one the broker refuses: the reconciler sends it

    def _book(self, run: m.BulkRun, owner: str, conn: Connection | None, last_key: str, rows: int, counts: dict) -> bool:
        """Write the checkpoint (in the batch's transaction when it can); the run in memory follows."""
        stmt = self.runs.checkpoint_statement(run, owner, last_key=last_key, rows=rows, counts=counts)
        if conn is not None:
            booked = conn.execute(stmt).rowcount
        else:
            with self.runs.db.session() as s:
                booked = changed(s.execute(stmt))
        if booked != 1:
            raise CheckpointMoved(f"P-{run.id}")  # rolls the batch back; then: whose run is it now?
        run.last_key, run.done, run.counts = last_key, run.done + rows, counts
        return True


def _subjects(spec: BulkSpec, keys: list[str]) -> list[tuple[str, str]]:
    """(subject type, key) of a batch's erased subjects (a run with parts tags its keys `part:key`)."""
    if not spec.parts:
        return [(spec.subject_type, k) for k in keys]
    parts = spec.part_specs()
    return [(parts[i].subject_type, str(k)) for i, part_keys in by_part(keys).items() for k in part_keys]


def _merge(total: dict, batch: dict) -> dict:
    out = {t: dict(c) for t, c in total.items()}
    for tname, counts in batch.items():
        slot = out.setdefault(tname, {})
        for k, v in counts.items():  # the smallest k reached is a minimum over batches, not a sum
            slot[k] = min(slot.get(k, int(v)), int(v)) if k == "k" else slot.get(k, 0) + int(v or 0)
    return out


def _transient(exc: DBAPIError) -> bool:
    """A lost connection or a serialisation/lock conflict: worth one more try."""
    if exc.connection_invalidated:
        return True
    code = getattr(getattr(exc, "orig", None), "sqlstate", None) or ""
    return code[:2] in ("08", "40", "57") or "locked" in str(exc.orig)  # SQLite: "database is locked"
