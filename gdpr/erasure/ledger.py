"""The ledger: every change the bot makes to the platform's data - erasures, withdrawals and objections,
restrictions and their lifting, rectifications, and the bulk runs kept in their own rows - re-applied in the
order they were made after a restore from an older backup. Each is idempotent: what is already in effect is
left as it is."""
from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import func, select, update

from gdpr.bulk.engine import BulkEngine
from gdpr.bulk.retention import BulkSpec
from gdpr.consent.registry import ConsentRegistry
from gdpr.core import models as m
from gdpr.core.db import Database, changed
from gdpr.erasure.engine import ErasureEngine, ErasureReport
from gdpr.requests.rights import PlatformRights


@dataclass
class Replay:
    entries: int
    reapplied: list[tuple[int, str, int]]  # (request id, subject type, rows erased)
    withdrawals: int = 0  # withdrawals and objections in the ledger
    rewithdrawn: list[tuple[int, list[str]]] = field(default_factory=list)  # (request id, agreements again)
    rights: int = 0  # restrictions, their lifting and rectifications in the ledger
    reapplied_rights: list[tuple[int, str]] = field(default_factory=list)  # (request id, what was applied again)


def erasure_intent(db: Database, request_id: int) -> m.LedgerEntry | None:
    """This request's ledger row, if an attempt already wrote one."""
    with db.session() as s:
        entry = s.execute(select(m.LedgerEntry).where(m.LedgerEntry.request_id == request_id)).scalar()
        if entry is not None:
            s.expunge(entry)
        return entry


def record_intent(db: Database, *, request_id: int, kind: str, key: str, fingerprint: str,
                  planned: dict[str, dict[str, int]], sealed: str, at: dt.datetime) -> None:
    """Before the erasure runs: what it will do, and the identifiers it must prove gone (sealed)."""
    with db.session() as s:
        s.add(m.LedgerEntry(request_id=request_id, at=at, subject_type=kind, subject_key=key, fingerprint=fingerprint,
                            counts=planned, confirmed=False, sealed=sealed))


def confirm_erasure(db: Database, *, request_id: int, report: ErasureReport) -> None:
    """The erasure committed (now, or in an attempt that died): what it did."""
    values: dict = {"confirmed": True}
    if not report.recovered and not report.already_erased:
        values["counts"] = report.counts
    with db.session() as s:
        s.execute(update(m.LedgerEntry).where(m.LedgerEntry.request_id == request_id).values(**values))


def forget_identifiers(db: Database, *, request_id: int) -> None:
    """The job has ended: its sealed identifiers go (the keyed fingerprint stays)."""
    with db.session() as s:
        s.execute(update(m.LedgerEntry).where(m.LedgerEntry.request_id == request_id)
                  .values(sealed=None, proof_wanted=None, prover=None, proving_until=None))


def forget_ended(db: Database) -> int:
    """Sealed identifiers of jobs that ended any way (done, failed after its last attempt): gone."""
    r = m.SubjectRequest
    with db.session() as s:
        ended = select(r.id).where(r.status.in_(m.TERMINAL))
        return changed(s.execute(update(m.LedgerEntry).where(m.LedgerEntry.sealed.is_not(None),
                                                             m.LedgerEntry.request_id.in_(ended))
                                 .values(sealed=None, proof_wanted=None, prover=None, proving_until=None)))


def record_withdrawal(db: Database, *, request_id: int, kind: str, key: str, codes: list[str], objection: bool,
                      at: dt.datetime) -> None:
    """A withdrawal or objection took effect in the platform at `at`: once per request (a retry records nothing)."""
    record_change(db, request_id=request_id, change=m.WITHDRAWAL_CHANGE, kind=kind, key=key, at=at,
                  detail={"codes": codes, "objection": objection})


def record_change(db: Database, *, request_id: int, change: str, kind: str, key: str, at: dt.datetime,
                  detail: dict, corrected: str | None = None) -> None:
    """A change other than an erasure took effect in the platform: once per request. `corrected`: a
    rectification's values, sealed (what replay writes again)."""
    with db.session() as s:
        if s.execute(select(m.LedgerEntry.id).where(m.LedgerEntry.request_id == request_id)).first() is None:
            s.add(m.LedgerEntry(request_id=request_id, at=at, subject_type=kind, subject_key=key, fingerprint="",
                                counts={}, confirmed=True, change=change, detail=detail, corrected=corrected))


def forget_corrections(db: Database, *, kind: str, key: str) -> tuple[int, int]:
    """The subject was erased: the values its rectifications wrote go from the ledger (and from any request
    still holding them), so the bot keeps no copy of what the erasure removed; replay then writes nothing
    back before it erases again. Returns (ledger entries emptied, sealed values still held: counted after)."""
    entries = (m.LedgerEntry.subject_type == kind, m.LedgerEntry.subject_key == key, m.LedgerEntry.corrected.is_not(None))
    requests = (m.SubjectRequest.subject_type == kind, m.SubjectRequest.subject_key == key,
                m.SubjectRequest.instruction.is_not(None))
    with db.session() as s:
        n = changed(s.execute(update(m.LedgerEntry).where(*entries).values(corrected=None)))
        s.execute(update(m.SubjectRequest).where(*requests).values(instruction=None))
    with db.session() as s:  # the proof: what a search finds once that has committed
        left = s.scalar(select(func.count()).select_from(m.LedgerEntry).where(*entries)) or 0
        left += s.scalar(select(func.count()).select_from(m.SubjectRequest).where(*requests)) or 0
    return n, left


def replay_ledger(db: Database, engine: ErasureEngine, consent: ConsentRegistry | None = None,
                  rights: PlatformRights | None = None, unseal: Callable[[str], str] | None = None) -> Replay:
    """Apply again, in the order they were made, every erasure and withdrawal the (restored) system database
    no longer shows: a subject still holding identifiers is erased, an agreement in force withdrawn as of
    its original moment, a restriction set (or lifted) again, a rectification written again (`unseal` opens
    its values)."""
    with db.session() as s:
        entries = list(s.execute(select(m.LedgerEntry).where(m.LedgerEntry.confirmed.is_(True))
                                 .order_by(m.LedgerEntry.at, m.LedgerEntry.id)).scalars())
        s.expunge_all()
    replay = Replay(entries=0, reapplied=[])
    for e in entries:
        if e.change in (m.RESTRICTION_CHANGE, m.RECTIFICATION_CHANGE):
            replay.rights += 1
            redone = _reapply_right(e, rights, unseal) if rights is not None else None
            if redone:
                replay.reapplied_rights.append((e.request_id, redone))
            continue
        if e.change == m.OBJECTION_CHANGE:  # upheld (Art. 21(1)): the data on legitimate interests, again
            replay.withdrawals += 1
            counts = engine.erase_tables(kind=e.subject_type, key=e.subject_key,
                                         tables=list((e.detail or {}).get("tables", [])))
            if any(c.get("erased") for c in counts.values()):
                replay.rewithdrawn.append((e.request_id, sorted(counts)))
            continue
        if e.change == m.WITHDRAWAL_CHANGE:
            replay.withdrawals += 1
            if consent is not None:
                codes = list((e.detail or {}).get("codes", []))
                again = consent.withdraw(e.subject_type, e.subject_key, codes, _naive(e.at))
                if again.codes or again.links:
                    replay.rewithdrawn.append((e.request_id, again.codes))
            continue
        replay.entries += 1
        report = engine.erase(kind=e.subject_type, key=e.subject_key)
        if not report.already_erased:
            replay.reapplied.append((e.request_id, e.subject_type, report.rows))
    return replay


def _reapply_right(e: m.LedgerEntry, rights: PlatformRights, unseal: Callable[[str], str] | None) -> str | None:
    """A restriction, its lifting or a rectification, written again where the platform no longer shows it."""
    detail = e.detail or {}
    if e.change == m.RESTRICTION_CHANGE:
        if detail.get("action") == "lift":
            return "restriction lifted" if rights.lift(e.subject_type, e.subject_key) else None
        return "restricted" if rights.restrict(e.subject_type, e.subject_key, e.at) else None
    if not e.corrected or unseal is None:  # erased since: nothing to write back
        return None
    fields = rights.rectify(e.subject_type, e.subject_key, json.loads(unseal(e.corrected)))
    return f"rectified: {', '.join(fields)}" if fields else None


def _naive(at: dt.datetime) -> dt.datetime:
    return at.astimezone(dt.UTC).replace(tzinfo=None) if at.tzinfo else at


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
