"""The erasure ledger: re-apply every recorded erasure after a restore from an older backup."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from gdpr import models as m
from gdpr.bulk import BulkEngine
from gdpr.db import Database
from gdpr.erasure import ErasureEngine, ErasureReport
from gdpr.retention import BulkSpec


@dataclass
class Replay:
    entries: int
    reapplied: list[tuple[int, str, int]]  # (request id, subject type, rows erased)


def record_erasure(db: Database, *, request_id: int, kind: str, key: str, fingerprint: str,
                   report: ErasureReport, at) -> None:  # noqa: ANN001
    with db.session() as s:
        if s.execute(select(m.LedgerEntry.id).where(m.LedgerEntry.request_id == request_id)).first():
            return
        s.add(m.LedgerEntry(request_id=request_id, at=at, subject_type=kind, subject_key=key,
                            fingerprint=fingerprint, counts=report.counts))


def replay_ledger(db: Database, engine: ErasureEngine) -> Replay:
    """Erase again every subject in the ledger that the (restored) system database still holds."""
    with db.session() as s:
        entries = list(s.execute(select(m.LedgerEntry).order_by(m.LedgerEntry.id)).scalars())
    done = []
    for e in entries:
        report = engine.erase(kind=e.subject_type, key=e.subject_key)
        if not report.already_erased:
            done.append((e.request_id, e.subject_type, report.rows))
    return Replay(entries=len(entries), reapplied=done)


def replay_bulk_runs(db: Database, bulk: BulkEngine, writer: Database) -> list[tuple[int, str, int]]:
    """Run every finished bulk run's spec again, as of its own moment, on the (restored) system database:
    the same rows match, those already gone or anonymised do not. Returns (run id, policy, rows) redone."""
    with db.session() as s:
        runs = list(s.execute(select(m.BulkRun).where(m.BulkRun.status == m.DONE, m.BulkRun.done > 0)
                              .order_by(m.BulkRun.finished_at, m.BulkRun.id)).scalars())
        s.expunge_all()
    redone = []
    for run in runs:
        spec = BulkSpec.from_json(run.spec)
        if spec.action in ("exports", "outbox"):  # files, not the platform's rows
            continue
        rows, last = 0, None
        while True:
            with writer.engine.begin() as conn:
                step = bulk.step(conn, spec, run.as_of, last)
            if step is None:
                break
            rows, last = rows + step.rows, step.last_key
        if rows:
            redone.append((run.id, run.policy, rows))
    return redone
