"""Bulk deletion, set-based: match rows by a spec, preview them, work through them in keyed batches.

A batch is `SELECT key ... WHERE <match> AND key > :checkpoint ORDER BY key LIMIT :n` and one
set-based statement per table over those keys, in the caller's transaction. Only the batch's keys
are ever in memory. Rows already processed no longer match (deleted, or erased), so a batch that
is run again after a crash finds nothing left to do twice.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import (
    Connection,
    Date,
    Engine,
    Select,
    and_,
    column,
    delete,
    exists,
    func,
    literal,
    literal_column,
    select,
    table,
)
from sqlalchemy.sql.elements import ColumnElement

from gdpr.bulk.parts import Parts, Step
from gdpr.bulk.retention import BulkSpec, cutoff
from gdpr.core.datamap import DataMap
from gdpr.core.scope import as_key, link_condition
from gdpr.core.subjects import SubjectDirectory
from gdpr.erasure.engine import ErasureEngine
from gdpr.requests.export_files import ExportFiles

SAMPLES = 3
FILE_ACTIONS = {"exports": "export archives", "outbox": "sent mail (.eml files)"}  # files, not rows


class BulkEngine:
    def __init__(self, engine: Engine, datamap: DataMap, erasure: ErasureEngine, directory: SubjectDirectory,
                 exports: ExportFiles | None = None, outbox: Path | None = None) -> None:
        """`exports` runs the export-files policy, `outbox` is the mail folder the outbox policy clears
        (None where no such policy runs: ledger replay)."""
        self._engine, self._map, self._erasure, self._directory = engine, datamap, erasure, directory
        self._exports, self._outbox = exports, outbox
        self._parts = Parts(self)

    @property
    def datamap(self) -> DataMap:
        return self._map

    def _eraser(self, spec: BulkSpec) -> ErasureEngine:
        """The erasure engine a spec erases with: an offboarding's lifts the club's holds and deletes."""
        return self._erasure.for_offboarding() if spec.offboarding else self._erasure

    # -- matching --------------------------------------------------------------------------------
    def key_column(self, spec: BulkSpec) -> str:
        return self._map.subject(spec.subject_type).key if spec.action == "erase" else "id"

    def _club_column(self, spec: BulkSpec) -> str | None:
        if spec.action == "erase":
            return self._map.subject(spec.subject_type).club
        return "club_id" if "club_id" in self._erasure.column_types(spec.tname) else None

    def match(self, spec: BulkSpec, as_of: dt.datetime, *, pending: bool = True) -> ColumnElement:
        """The rows the run is about: frozen at `as_of`, so rows that age into scope later wait for the next run."""
        conds: list[ColumnElement[bool]] = [column(c).in_(values) for c, values in spec.where.items()]
        club = self._club_column(spec)
        if spec.club_id is not None and club is not None:
            conds.append(column(club) == as_key(spec.club_id))
        if spec.age_column:
            limit = cutoff(as_of, spec.older_than) if spec.older_than else as_of
            limit = limit.astimezone(dt.UTC).replace(tzinfo=None)
            if isinstance(self._erasure.column_types(spec.tname)[spec.age_column], Date):
                conds.append(column(spec.age_column) < limit.date())
            else:
                conds.append(column(spec.age_column) < limit)
        if spec.action == "release":
            conds.append(self._erasure.hold_ended(spec.tname, as_of.date(), pending=pending))
        if spec.action == "erase" and spec.alone:
            conds += self._not_become(spec)
        if pending and spec.action == "erase":
            conds.append(self._erasure.not_erased(spec.subject_type))
        elif pending and spec.action == "anonymise":
            conds.append(self._erasure.not_anonymised(spec.tname))
        return and_(literal(True), *conds)

    def _not_become(self, spec: BulkSpec) -> list[ColumnElement[bool]]:
        """Records that became another subject of the same club (a lead who joined) are that subject's data
        and go with it: left out here, each person is counted and erased once."""
        kind, conds = spec.subject_type, []
        own = self._map.tables[self._map.subject(kind).table]
        for other, col in own.links.items():
            if other == kind:
                continue
            later = self._map.subject(other)
            theirs = table(later.table)
            same_club = [column(later.club, _selectable=theirs) == as_key(spec.club_id)] if spec.club_id else []
            conds.append(~exists(select(1).select_from(theirs).where(
                column(later.key, _selectable=theirs) == literal_column(f"{own.name}.{col}"), *same_club)))
        return conds

    def subject_keys(self, spec: BulkSpec, as_of: dt.datetime) -> Select:
        """The keys of the subjects an erase spec is about, as a subquery (exports for return read through it)."""
        return self._keys(spec, as_of, pending=False)

    def _keys(self, spec: BulkSpec, as_of: dt.datetime, *, pending: bool = True) -> Select:
        return select(column(self.key_column(spec))).select_from(table(spec.tname)).where(
            self.match(spec, as_of, pending=pending))

    def count(self, spec: BulkSpec, as_of: dt.datetime, *, after: str | None = None, upto: str | None = None) -> int:
        if spec.parts:
            return self._parts.count(spec, as_of, after, upto)
        if spec.action == "exports":
            return self._exports.count_due() if self._exports else 0
        if spec.action == "outbox":
            return len(self._old_mail(spec, as_of))
        cond = self.match(spec, as_of)
        if after is not None:
            cond = and_(cond, column(self.key_column(spec)) > as_key(after))
        if upto is not None:
            cond = and_(cond, column(self.key_column(spec)) <= as_key(upto))
        with self._engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(table(spec.tname)).where(cond)).scalar_one()

    def clubs(self) -> dict[str, str]:
        """Club code -> key (codes are the controllers' public handles, not personal data)."""
        ctl = self._map.controllers
        with self._engine.connect() as conn:
            return {str(c): str(k) for k, c in conn.execute(select(column(ctl.key), column(ctl.code))
                                                             .select_from(table(ctl.table)))}

    # -- the dry run -----------------------------------------------------------------------------
    def preview(self, spec: BulkSpec, as_of: dt.datetime) -> dict:
        """Counts, per club, oldest and newest, masked samples, effects per table. No personal data
        except the masked samples, which are rendered on the card and never stored."""
        if spec.parts:
            return self._parts.preview(spec, as_of)
        if spec.action in FILE_ACTIONS:
            return {"total": self.count(spec, as_of), "table_rows": None, "share": None, "clubs": {},
                    "oldest": None, "newest": None, "effects": [{"table": FILE_ACTIONS[spec.action], "action": "delete"}]}
        cond = self.match(spec, as_of)
        tbl = table(spec.tname)
        with self._engine.connect() as conn:
            total = conn.execute(select(func.count()).select_from(tbl).where(cond)).scalar_one()
            table_rows = conn.execute(select(func.count()).select_from(tbl)).scalar_one()
            oldest = newest = None
            if spec.age_column and total:
                oldest, newest = conn.execute(select(func.min(column(spec.age_column)), func.max(column(spec.age_column)))
                                              .select_from(tbl).where(cond)).one()
            clubs = self._per_club(conn, spec, cond) if total else {}
        return {"total": total, "table_rows": table_rows, "share": round(total / table_rows, 4) if table_rows else 0,
                "clubs": clubs, "oldest": _day(oldest), "newest": _day(newest), "effects": self._effects(spec, as_of)}

    def _per_club(self, conn: Connection, spec: BulkSpec, cond: ColumnElement) -> dict[str, int]:
        club_col = self._club_column(spec)
        if club_col is None:
            return {}
        ctl = self._map.controllers
        codes = dict(conn.execute(select(column(ctl.key), column(ctl.code)).select_from(table(ctl.table))).all())
        rows = conn.execute(select(column(club_col), func.count()).select_from(table(spec.tname)).where(cond)
                            .group_by(column(club_col)).order_by(func.count().desc())).all()
        return {str(codes.get(club, club)): n for club, n in rows}

    def _effects(self, spec: BulkSpec, as_of: dt.datetime) -> list[dict]:
        if spec.action == "release":
            return [{"table": spec.tname, "action": self._map.tables[spec.tname].erasure.rows}]
        if spec.action != "erase":
            return [{"table": spec.tname, "action": "delete" if spec.action == "delete" else "anonymise"}]
        plans = self._eraser(spec).plan_many(kind=spec.subject_type, keys=self._keys(spec, as_of))
        return [{"table": p.table, "action": p.action, "rows": p.rows, "held": p.held, "hold_reason": p.hold_reason,
                 "hold_until": p.hold_until.isoformat() if p.hold_until else None} for p in plans if p.rows or p.held]

    def samples(self, spec: BulkSpec, as_of: dt.datetime) -> list[dict[str, str]]:
        """A few matched subjects, masked, for the card only."""
        if spec.action != "erase":
            return []
        keys = self._keys(spec, as_of).order_by(column(self.key_column(spec))).limit(SAMPLES)
        with self._engine.connect() as conn:
            found = [self._directory.load(spec.subject_type, str(k)) for (k,) in conn.execute(keys)]
        return [c.masked() for c in found if c is not None]

    # -- the work ----------------------------------------------------------------------------------
    def _batch_query(self, spec: BulkSpec, as_of: dt.datetime, after: str | None) -> Select:
        key = column(self.key_column(spec))
        query = self._keys(spec, as_of)
        if after is not None:
            query = query.where(key > as_key(after))
        return query.order_by(key).limit(spec.batch_size)

    def next_batch(self, conn: Connection, spec: BulkSpec, as_of: dt.datetime, after: str | None) -> list:
        return list(conn.execute(self._batch_query(spec, as_of, after)).scalars())

    def step(self, conn: Connection, spec: BulkSpec, as_of: dt.datetime, after: str | None,
             before: Callable[[list], None] | None = None) -> Step | None:
        """The next batch after `after`, done in the caller's transaction; None when nothing is left.
        `before(keys)` runs once the batch is chosen and before it is applied (the Art. 19 outbox)."""
        if spec.parts:
            return self._parts.step(conn, spec, as_of, after, before)
        if spec.action == "delete" and conn.dialect.name == "postgresql":
            return self._delete_step(conn, spec, as_of, after)
        keys = self.next_batch(conn, spec, as_of, after)
        if not keys:
            return None
        if before is not None:
            before(keys)
        return Step(rows=len(keys), last_key=str(keys[-1]), counts=self.apply(conn, spec, keys), keys=keys)

    def recipients_of(self, conn: Connection, spec: BulkSpec, keys: list) -> list[tuple[str, str, str]]:
        """An erase run's batch: (subject key, recipient, external id) per integration link (Art. 19)."""
        if spec.parts:
            return self._parts.recipients_of(conn, spec, keys)
        return self._erasure.recipients_of(conn, kind=spec.subject_type, keys=keys) if spec.action == "erase" else []

    def erased(self, spec: BulkSpec, keys: list[str]) -> list[str]:
        """Of these subjects of an erase run, the ones erased by now."""
        if spec.parts:
            return self._parts.erased(spec, keys)
        if spec.action != "erase" or not keys:
            return []
        key = column(self.key_column(spec))
        with self._engine.connect() as conn:  # erased: its row holds no identifier, or is gone (offboarding)
            holding = {str(k) for (k,) in conn.execute(select(key).select_from(table(spec.tname)).where(
                link_condition(key, [as_key(k) for k in keys], conn.dialect.name),
                self._erasure.not_erased(spec.subject_type)))}
        return [k for k in keys if k not in holding]

    def _delete_step(self, conn: Connection, spec: BulkSpec, as_of: dt.datetime, after: str | None) -> Step | None:
        """PostgreSQL: one statement per batch, and no key travels to Python and back. The batch is the
        matching rows in (after, its last key]: the same rows the keyed SELECT picks, deleted by an index
        range scan (`IN (batch)` planned a scan of the whole table per batch: 340 ms per 20,000 rows)."""
        bound = select(func.max(self._batch_query(spec, as_of, after).subquery().c.id)).scalar_subquery()
        key = column("id")
        where = and_(self.match(spec, as_of), key <= bound, *([key > as_key(after)] if after is not None else []))
        gone = delete(table(spec.tname, key)).where(where).returning(key).cte("gone")
        rows, last = conn.execute(select(func.count(), func.max(gone.c.id)).select_from(gone)).one()
        return Step(rows=rows, last_key=str(last), counts={spec.tname: {"deleted": rows}}) if rows else None

    def apply(self, conn: Connection, spec: BulkSpec, keys: list) -> dict[str, dict[str, int]]:
        """One batch, in the caller's transaction; returns rows per table and what happened to them."""
        if spec.action == "erase":
            return self._eraser(spec).erase_batch(conn, kind=spec.subject_type, keys=keys)
        if spec.action == "anonymise":
            n = self._erasure.anonymise_rows(conn, tname=spec.tname, keys=keys)
            return {spec.tname: {"anonymised": n}}
        if spec.action == "release":
            return {spec.tname: self._erasure.release_rows(conn, tname=spec.tname, keys=keys)}
        n = conn.execute(delete(table(spec.tname, column("id"))).where(
            link_condition(column("id"), keys, conn.dialect.name))).rowcount
        return {spec.tname: {"deleted": n}}

    def purge_exports(self) -> int:
        """Archives past their TTL (both copies: server and Slack thread) and stray files."""
        return self._exports.expire() if self._exports else 0

    def purge_files(self, spec: BulkSpec, as_of: dt.datetime) -> int:
        """A file policy's work: export archives past their TTL, or sent mail older than `older_than`."""
        if spec.action == "exports":
            return self.purge_exports()
        gone = 0
        for path in self._old_mail(spec, as_of):
            path.unlink(missing_ok=True)
            gone += 1
        return gone

    def _old_mail(self, spec: BulkSpec, as_of: dt.datetime) -> list[Path]:
        """`.eml` files of the mail outbox (no SMTP_URL) older than the policy's `older_than`."""
        if self._outbox is None or not self._outbox.is_dir() or not spec.older_than:
            return []
        limit = cutoff(as_of, spec.older_than).timestamp()
        return sorted(p for p in self._outbox.glob("*.eml") if p.is_file() and p.stat().st_mtime < limit)

    # -- after the run -----------------------------------------------------------------------------
    def residue(self, spec: BulkSpec, as_of: dt.datetime) -> int:
        """Rows of the purged set that still hold personal data: subjects or rows not yet erased, and
        rows of tables the data map deletes that still point at a purged subject (legal holds excepted)."""
        if spec.parts:
            return self._parts.residue(spec, as_of)
        if spec.action in (*FILE_ACTIONS, "delete", "release"):
            return self.count(spec, as_of)
        with self._engine.connect() as conn:
            left = conn.execute(select(func.count()).select_from(table(spec.tname)).where(
                self.match(spec, as_of))).scalar_one()
            if spec.action != "erase":
                return left
            purged = self._keys(spec, as_of, pending=False)
            for plan in self._eraser(spec).plan_many(kind=spec.subject_type, keys=purged, conn=conn):
                if plan.action == "delete":
                    left += plan.rows
        return left


def _day(value: object) -> str | None:
    if value is None:
        return None
    return str(value)[:10]
