"""Right to be forgotten: anonymise one subject throughout the system, driven by the data map.

One transaction per subject, a handful of set-based statements per table (never one UPDATE
per row). Rows under legal hold are left untouched. Idempotent: a subject already erased is
recognised and nothing is run again.
"""
from __future__ import annotations

import copy
import datetime as dt
import hashlib
import hmac
import json
from collections.abc import Callable
from dataclasses import dataclass, field

from cryptography.fernet import Fernet, MultiFernet
from sqlalchemy import (
    Connection,
    Date,
    DateTime,
    Delete,
    Engine,
    Select,
    String,
    TableClause,
    Update,
    and_,
    case,
    cast,
    column,
    delete,
    func,
    inspect,
    literal,
    not_,
    or_,
    select,
    table,
    text,
    update,
)
from sqlalchemy.sql import FromClause
from sqlalchemy.sql.elements import ColumnElement

from gdpr.core.datamap import DataMap, HoldSpec, TableSpec
from gdpr.core.scope import Keys, as_key, link_condition, link_rows, other_rows, subject_rows
from gdpr.erasure.anonymity import Anonymity, AnonymitySpec, base_levels

__all__ = ["ErasureEngine", "ErasurePlan", "ErasureReport", "Identifiers", "as_key", "link_condition"]

MIN_IDENTIFIER = 5  # shorter values (initials, "x") would match everywhere


@dataclass
class TablePlan:
    table: str
    action: str  # delete | update | unlink | keep (an update that changes nothing: every column kept)
    rows: int
    held: int = 0
    hold_reason: str | None = None
    hold_until: dt.date | None = None


@dataclass
class ErasurePlan:
    kind: str
    tables: list[TablePlan]
    recipients: list[str]
    warnings: list[str]
    already_erased: bool = False

    def summary(self) -> dict:
        """A plain, PII-free view for cards and the audit log."""
        return {"tables": {t.table: {"action": t.action, "rows": t.rows, "held": t.held} for t in self.tables
                           if t.rows or t.held},
                "holds": [{"table": t.table, "reason": t.hold_reason, "rows": t.held,
                           "until": t.hold_until.isoformat() if t.hold_until else None} for t in self.tables if t.held],
                "recipients": self.recipients, "warnings": self.warnings, "already_erased": self.already_erased}


@dataclass
class Identifiers:
    """The subject's former identifiers, for the residue check of one erasure job: never logged or queued,
    never stored in the clear. `values` identify the person alone (email, phone, IBAN, ids); `names` may be
    shared: full names (namesakes) and any value another subject also holds as its own (a family's email).
    `seal` encrypts them for the job's ledger row, so a job that dies after the erasure committed can
    still prove it; the row forgets them when the job ends."""
    values: set[str] = field(default_factory=set)
    names: set[str] = field(default_factory=set)

    def seal(self, box: Fernet | MultiFernet) -> str:
        return box.encrypt(json.dumps({"values": sorted(self.values), "names": sorted(self.names)}).encode()).decode()

    @classmethod
    def unseal(cls, box: Fernet | MultiFernet, token: str) -> Identifiers:
        data = json.loads(box.decrypt(token.encode()))
        return cls(values=set(data["values"]), names=set(data["names"]))

    def add(self, value: object, *, name: bool = False) -> None:
        norm = str(value).strip().lower() if value is not None else ""
        if len(norm) >= MIN_IDENTIFIER:
            (self.names if name else self.values).add(norm)

    def fingerprint(self, secret: bytes) -> str:
        """A keyed hash of all identifiers together: proves which erasure this was, reveals nothing."""
        return hmac.new(secret, "\x1f".join(sorted(self.values | self.names)).encode(), hashlib.sha256).hexdigest()


@dataclass
class ErasureReport:
    counts: dict[str, dict[str, int]]
    already_erased: bool = False
    recovered: bool = False  # the erasure committed in an attempt that died; counts from its ledger row
    namesakes: int = 0  # set by the residue check: other people's rows with the same full name

    @property
    def rows(self) -> int:
        return sum(c.get("erased", 0) for c in self.counts.values())


class ErasureEngine:
    """Reads go through `engine`; the erasure's one transaction through `writer` (by default the same).
    On SQLite they differ: the writer takes the write lock up front, and reads must never wait on it."""

    def __init__(self, engine: Engine, datamap: DataMap, today: Callable[[], dt.date] = dt.date.today, *,
                 writer: Engine | None = None) -> None:
        self._engine, self._writer, self._map, self._today = engine, writer or engine, datamap, today
        self._types: dict[str, dict[str, object]] = {}
        self._offboarding = False

    @property
    def datamap(self) -> DataMap:
        return self._map

    def for_offboarding(self) -> ErasureEngine:
        """The same engine for a club's offboarding (Art. 28(3)(g)): the club's data was returned to it, so
        the retention duties that were the club's are its own now - holds lift, except one the data map
        marks as binding the processor (`binds: processor`) - and every row of its subjects is deleted,
        not anonymised: nothing of the club stays at the processor."""
        other = copy.copy(self)
        other._offboarding = True
        return other

    def _hold(self, spec: TableSpec) -> HoldSpec | None:
        hold = spec.erasure.hold
        if hold is not None and self._offboarding and hold.binds != "processor":
            return None
        return hold

    def _rows(self, spec: TableSpec) -> str:
        return "delete" if self._offboarding else spec.erasure.rows

    # -- SQL building blocks ---------------------------------------------------------------------
    def _col_types(self, tname: str) -> dict[str, object]:
        if tname not in self._types:
            self._types[tname] = {c["name"]: c["type"] for c in inspect(self._engine).get_columns(tname)}
        return self._types[tname]

    def held(self, spec: TableSpec, today: dt.date | None = None) -> ColumnElement | None:
        """Rows still under the table's legal hold (no date counts as held: the hold has not started)."""
        hold = self._hold(spec)
        if hold is None:
            return None
        today = today or self._today()
        cutoff = today.replace(year=today.year - hold.years) if not (today.month == 2 and today.day == 29) \
            else dt.date(today.year - hold.years, 2, 28)
        since = column(hold.since)
        return or_(since.is_(None), since > cutoff)

    def _where(self, spec: TableSpec, kind: str, key: Keys, *, held: bool) -> ColumnElement:
        link = self.rows_of(spec, kind, key)
        cond = self.held(spec)
        if cond is None:
            return link if not held else and_(link, literal(False))
        return and_(link, cond if held else not_(cond))

    def rows_of(self, spec: TableSpec, kind: str, keys: Keys) -> ColumnElement:
        """The subject's rows of this table, through every link (a converted lead's included)."""
        return subject_rows(self._map, spec, kind, keys, self._writer.dialect.name)

    def _value(self, spec: TableSpec, name: str) -> object:
        col = spec.columns[name]
        target = column(name)
        if col.erasure == "erase":
            return None
        if col.erasure == "mask":
            return func.substr(target, 1, 2)
        if col.erasure == "generalise":
            kind = self._col_types(spec.name)[name]
            if isinstance(kind, (Date, DateTime)):  # to the first day of its year or month
                if self._engine.dialect.name == "postgresql":
                    return cast(func.date_trunc(col.to, target), DateTime if isinstance(kind, DateTime) else Date)
                return (func.datetime if isinstance(kind, DateTime) else func.date)(target, f"start of {col.to}")
            return func.substr(target, 1, 2)
        template = col.replace_with or ""
        if "{id}" in template:
            before, _, after = template.partition("{id}")
            return literal(before, String) + cast(column("id"), String) + literal(after, String)
        return literal(template, String)

    def _assignments(self, spec: TableSpec, kind: str, key: Keys) -> dict[str, object]:
        values = {c: self._value(spec, c) for c, rule in spec.columns.items() if rule.erasure != "keep"}
        values.update({c: None for c in spec.erasure.clear})
        if self._rows(spec) == "unlink":  # cut only the links that point at this subject
            for link in self._map.links(spec, kind):
                values[link.column] = case((link_rows(link, key, self._writer.dialect.name), None),
                                           else_=column(link.column))
        return values

    # -- what the DPO sees before approving --------------------------------------------------------
    def plan(self, *, kind: str, key: str, only: list[str] | None = None) -> ErasurePlan:
        """What erasing the subject would do (`only`: in these tables alone)."""
        tables, warnings, recipients = [], [], []
        with self._engine.connect() as conn:
            for spec in self._map.tables_for(kind):
                if only is not None and spec.name not in only:
                    continue
                tables.append(self._plan_table(conn, spec, kind, key))
                for message, when in spec.erasure.warn:
                    n = conn.execute(select(func.count()).select_from(table(spec.name)).where(
                        self.rows_of(spec, kind, key)).where(literal_sql(when))).scalar_one()
                    if n:
                        warnings.append(message)
            recipients = sorted({p for p, _ in self._recipients(conn, kind, key)})
        return ErasurePlan(kind=kind, tables=tables, recipients=recipients, warnings=warnings,
                           already_erased=self.is_erased(kind=kind, key=key))

    def _plan_table(self, conn: Connection, spec: TableSpec, kind: str, key: Keys) -> TablePlan:
        count = lambda cond: conn.execute(select(func.count()).select_from(table(spec.name)).where(cond)).scalar_one()  # noqa: E731
        action = self._rows(spec)
        if action == "update" and not self._assignments(spec, kind, key):
            action = "keep"  # nothing in its rows is erased or anonymised: said as it is, never "anonymised"
        plan = TablePlan(table=spec.name, action=action, rows=count(self._where(spec, kind, key, held=False)))
        hold = self._hold(spec)
        if hold is not None:
            plan.held = count(self._where(spec, kind, key, held=True))
            plan.hold_reason = hold.reason
            if plan.held:
                held_rows = self._where(spec, kind, key, held=True)
                latest = conn.execute(select(func.max(column(hold.since))).select_from(table(spec.name)).where(
                    held_rows)).scalar()
                starts_now = hold.starts_at_erasure and conn.execute(  # a row with no date yet gets today's
                    select(func.count()).select_from(table(spec.name)).where(held_rows)
                    .where(column(hold.since).is_(None))).scalar_one()
                dates = [d for d in (_as_date(latest), self._today() if starts_now else None) if d is not None]
                plan.hold_until = _add_years(max(dates) if dates else self._today(), hold.years)
        return plan

    def _recipients(self, conn: Connection, kind: str, key: str) -> list[tuple[str, str]]:
        out = []
        for spec in self._map.tables_for(kind):
            if spec.recipients:
                rows = conn.execute(select(column(spec.recipients["provider"]), column(spec.recipients["external_id"]))
                                    .select_from(table(spec.name)).where(self.rows_of(spec, kind, key)))
                out += [(str(p), str(e)) for p, e in rows]
        return out

    def recipients_of(self, conn: Connection, *, kind: str, keys: list) -> list[tuple[str, str, str]]:
        """(subject key, provider, external id) for every integration link of these subjects (bulk runs)."""
        out = []
        for spec in self._map.tables_for(kind):
            if not spec.recipients:
                continue
            for link in self._map.links(spec, kind):
                tbl = table(spec.name)
                provider = column(spec.recipients["provider"], _selectable=tbl)
                external = column(spec.recipients["external_id"], _selectable=tbl)
                owner = column(link.column, _selectable=tbl)
                source: FromClause = tbl
                if link.via is not None and link.via_column is not None:  # a link row of a record that became the subject
                    earlier = table(link.via.table)
                    source = tbl.join(earlier, owner == column(link.via.key, _selectable=earlier))
                    owner = column(link.via_column, _selectable=earlier)
                rows = conn.execute(select(owner, provider, external).select_from(source)
                                    .where(link_condition(owner, keys, conn.dialect.name)))
                out += [(str(k), str(p), str(e)) for k, p, e in rows]
        return out

    def recipients(self, *, kind: str, key: str) -> list[tuple[str, str]]:
        """(provider, external id) for every integration the subject is linked to."""
        with self._engine.connect() as conn:
            return self._recipients(conn, kind, key)

    # -- identifiers, before and after -------------------------------------------------------------
    def identifiers(self, *, kind: str, key: str) -> Identifiers:
        ids = Identifiers()
        name_cols = {c for s in self._map.subjects.values() for c in s.display.get("name", ())}
        with self._engine.connect() as conn:
            for spec in self._map.tables_for(kind):
                cols = [c for c, rule in spec.columns.items() if rule.identifier]
                if not cols:
                    continue
                has_id = "id" in self._col_types(spec.name)
                rows = conn.execute(select(*[column(c) for c in cols], *([column("id").label("_row")] if has_id else []))
                                    .select_from(table(spec.name)).where(self.rows_of(spec, kind, key)))
                names = [c for c in cols if c in name_cols]
                for row in rows.mappings():
                    live = {c: row[c] for c in cols if not spec.is_replacement(c, row[c], row.get("_row"))}
                    ids.add(" ".join(str(live[c]) for c in names if live.get(c)) if names else None, name=True)
                    for c in cols:
                        if c not in names and c in live:
                            ids.add(live[c])
            shared = self._shared_with_others(conn, kind, key, ids.values)
        ids.values -= shared
        ids.names |= shared
        return ids

    def _shared_with_others(self, conn: Connection, kind: str, key: str, values: set[str]) -> set[str]:
        """Values that another subject holds in its own row (a family email, a shared phone)."""
        shared: set[str] = set()
        if not values:
            return shared
        for other in self._map.subjects.values():
            spec = self._map.tables.get(other.table)
            if spec is None:
                continue
            lowered = [func.lower(column(c)) for c, rule in spec.columns.items() if rule.identifier]
            if not lowered:
                continue
            # one read of the table for all its identifier columns; the subject's own records (its row, a
            # lead that became it) are not someone else's
            query = select(*lowered).select_from(table(other.table)).where(
                or_(*[col.in_(sorted(values)) for col in lowered]),
                other_rows(self._map, spec, kind, key, self._writer.dialect.name))
            shared.update(v for row in conn.execute(query) for v in row if v in values)
        return shared

    def is_erased(self, *, kind: str, key: str) -> bool:
        """The subject's own row holds no identifier any more (each is NULL or its replacement)."""
        subject = self._map.subject(kind)
        spec = self._map.tables[subject.table]
        cols = [c for c, rule in spec.columns.items() if rule.identifier]
        with self._engine.connect() as conn:
            row = conn.execute(select(column(subject.key), *[column(c) for c in cols]).select_from(table(spec.name))
                               .where(column(subject.key) == as_key(key))).mappings().first()
        return row is None or spec.holds_no_identifier(dict(row), row[subject.key])

    # -- the erasure itself ------------------------------------------------------------------------
    def erase(self, *, kind: str, key: str) -> ErasureReport:
        """All or nothing, in one transaction; returns rows erased / kept under hold per table."""
        if self.is_erased(kind=kind, key=key):
            return ErasureReport(counts={}, already_erased=True)
        counts: dict[str, dict[str, int]] = {}
        for spec in self._map.tables_for(kind):
            self._col_types(spec.name)  # reflect before taking the write lock
        with self._writer.begin() as conn:
            if self._writer.dialect.name == "postgresql":
                counts = self._erase_in_one_statement(conn, kind, key)
            else:
                for spec in self._map.tables_for(kind):
                    counts[spec.name] = self._erase_table(conn, spec, kind, key)
            self._reach_k(conn, kind, key, counts)
        return ErasureReport(counts=counts)

    def erase_tables(self, *, kind: str, key: str, tables: list[str]) -> dict[str, dict[str, int]]:
        """Erase the subject's rows in these tables only, by their rules, in one transaction (an upheld
        objection: the data processed on legitimate interests goes, the rest stays). Run again, it finds
        nothing more to do."""
        specs = [spec for spec in self._map.tables_for(kind) if spec.name in tables]
        for spec in specs:
            self._col_types(spec.name)  # reflect before taking the write lock
        with self._writer.begin() as conn:
            return {spec.name: self._erase_table(conn, spec, kind, key) for spec in specs}

    # -- k-anonymity of what stays -----------------------------------------------------------------
    def anonymity(self, tname: str) -> Anonymity | None:
        """The k-anonymity check of a table whose data map section asks for one."""
        spec = self._map.tables[tname]
        rule = spec.anonymity
        if rule is None:
            return None
        types = self._col_types(tname)
        rules = {n: (c.erasure, c.to) for n, c in spec.columns.items()}
        kinds = [k for k, s in self._map.subjects.items() if s.table == tname]
        anonymised = not_(or_(*[self.not_erased(k) for k in kinds])) if kinds else literal(False)
        return Anonymity(tname, AnonymitySpec(min_k=rule.min_k, quasi=rule.quasi, steps=rule.steps,
                                              base=base_levels(rule.quasi, rules, types)), types, anonymised)

    def _reach_k(self, conn: Connection, kind: str, key: Keys, counts: dict[str, dict[str, int]]) -> None:
        """Inside the erasure's transaction: coarsen the subject's anonymised rows until each reaches the
        table's min_k; the smallest k reached goes into the counts (measured, reported, audited)."""
        for spec in self._map.tables_for(kind):
            check = self.anonymity(spec.name) if self._rows(spec) == "update" else None
            if check is None:
                continue
            ids = [i for (i,) in conn.execute(select(column("id")).select_from(table(spec.name))
                                              .where(self.rows_of(spec, kind, key)))]
            reached = check.enforce(conn, ids)
            if reached:
                counts.setdefault(spec.name, {})["k"] = min(reached.values())

    # -- many subjects at once (bulk runs) -----------------------------------------------------------
    def not_erased(self, kind: str) -> ColumnElement:
        """On the subject's table: rows still holding an identifier (neither NULL nor its replacement)."""
        spec = self._map.tables[self._map.subject(kind).table]
        return self._still_holding(spec, [n for n, rule in spec.columns.items() if rule.identifier])

    def not_anonymised(self, tname: str) -> ColumnElement:
        """Rows of a table whose erased or replaced columns still hold a value."""
        spec = self._map.tables[tname]
        return self._still_holding(spec, [n for n, r in spec.columns.items() if r.erasure in ("erase", "replace")])

    def _still_holding(self, spec: TableSpec, names: list[str]) -> ColumnElement:
        conds = []
        for name in names:
            col = column(name)
            if spec.columns[name].erasure == "replace":
                conds.append(and_(col.isnot(None), col != self._value(spec, name)))
            else:
                conds.append(col.isnot(None))
        return or_(*conds) if conds else literal(True)

    def hold_ended(self, tname: str, today: dt.date, *, pending: bool = True) -> ColumnElement:
        """Rows of `tname` kept under its hold for a subject since erased, whose hold has ended by
        `today` (with `pending`, only those the table's rule has not been applied to yet)."""
        spec = self._map.tables[tname]
        dialect = self._writer.dialect.name
        erased = [subject_rows(self._map, spec, kind, self._erased_keys(kind), dialect)
                  for kind in self._map.subjects if self._map.links(spec, kind)]
        held = self.held(spec, today)
        if held is None:
            raise ValueError(f"{tname} has no legal hold, so none of its holds ends")
        if spec.erasure.hold is not None and spec.erasure.hold.unlink:  # held rows were cut from their subject
            erased.append(and_(*[column(c).is_(None) for c in spec.links.values()]))
        cond = and_(or_(*erased), not_(held))
        if pending and spec.erasure.rows == "update":
            cond = and_(cond, self.not_anonymised(tname))
        return cond

    def _erased_keys(self, kind: str) -> Select:
        subject = self._map.subject(kind)
        return select(column(subject.key)).select_from(table(subject.table)).where(not_(self.not_erased(kind)))

    def release_rows(self, conn: Connection, *, tname: str, keys: list) -> dict[str, int]:
        """A hold has ended: these rows get the table's own rule (delete, or its column rules)."""
        spec = self._map.tables[tname]
        if spec.erasure.rows == "delete":
            tbl = table(tname, column("id"))
            n = conn.execute(delete(tbl).where(link_condition(column("id"), keys, conn.dialect.name))).rowcount
            return {"deleted": n}
        return {"anonymised": self.anonymise_rows(conn, tname=tname, keys=keys)}

    def anonymise_rows(self, conn: Connection, *, tname: str, keys: list) -> int:
        """Apply a table's column rules to these rows (a legal hold that has ended, say)."""
        spec = self._map.tables[tname]
        values = {c: self._value(spec, c) for c, rule in spec.columns.items() if rule.erasure != "keep"}
        tbl = table(tname, *[column(c) for c in self._col_types(tname)])
        return conn.execute(update(tbl).where(link_condition(column("id"), keys, conn.dialect.name)).values(values)).rowcount

    def plan_many(self, *, kind: str, keys: Select, conn: Connection | None = None) -> list[TablePlan]:
        """What erasing every subject `keys` selects would do, per table (the bulk preview)."""
        if conn is None:
            with self._engine.connect() as own:
                return self.plan_many(kind=kind, keys=keys, conn=own)
        return [self._plan_table(conn, spec, kind, keys) for spec in self._map.tables_for(kind)]

    def column_types(self, tname: str) -> dict[str, object]:
        return self._col_types(tname)

    def erase_batch(self, conn: Connection, *, kind: str, keys: list) -> dict[str, dict[str, int]]:
        """Erase these subjects inside the caller's transaction (which also holds the checkpoint).
        The caller selected only subjects not yet erased, so nothing is erased twice."""
        self._cut_pointers(conn, kind, keys)
        if conn.dialect.name == "postgresql":
            counts = self._erase_in_one_statement(conn, kind, keys)
        else:
            counts = {spec.name: self._erase_table(conn, spec, kind, keys) for spec in self._map.tables_for(kind)}
        self._reach_k(conn, kind, keys, counts)
        return counts

    def _statement(self, spec: TableSpec, kind: str, key: Keys) -> tuple[TableClause, Delete | Update | None]:
        """The one DELETE or UPDATE for this table (None when no column changes)."""
        tbl = table(spec.name, *[column(c) for c in self._col_types(spec.name)])
        where = self._where(spec, kind, key, held=False)
        if self._rows(spec) == "delete":
            return tbl, delete(tbl).where(where)
        values = self._assignments(spec, kind, key)
        return tbl, (update(tbl).where(where).values(values) if values else None)

    def _held_statement(self, spec: TableSpec, kind: str, key: Keys) -> Update | None:
        """Rows under hold keep only what the legal basis needs (`hold.keeps`): the rest of their columns
        get the table's rules now; with `starts_at_erasure` an empty `since` gets today (the hold starts).
        None when the hold keeps the whole row as it is."""
        hold = self._hold(spec)
        if hold is None:
            return None
        kept = spec.columns if hold.keeps is None else hold.keeps
        values = {c: self._value(spec, c) for c, rule in spec.columns.items() if rule.erasure != "keep" and c not in kept}
        if hold.starts_at_erasure:  # e.g. an agreement still in force is withdrawn by the erasure, today
            today = self._today()
            start = dt.datetime.combine(today, dt.time()) if isinstance(self._col_types(spec.name)[hold.since], DateTime) \
                else today
            values[hold.since] = func.coalesce(column(hold.since), literal(start))
        if hold.unlink:  # cut from the subject: what stays joins back to no emptied subject row
            values.update({c: None for c in spec.links.values()})
        if not values:
            return None
        tbl = table(spec.name, *[column(c) for c in self._col_types(spec.name)])
        return update(tbl).where(self._where(spec, kind, key, held=True)).values(values)

    def _erase_in_one_statement(self, conn: Connection, kind: str, key: Keys) -> dict[str, dict[str, int]]:
        """PostgreSQL: every table's DELETE/UPDATE as a data-modifying CTE of a single statement, so the
        erasure costs one round trip however many tables the data map has."""
        specs = self._map.tables_for(kind)
        counts: list = []
        for i, spec in enumerate(specs):
            tbl, stmt = self._statement(spec, kind, key)
            if stmt is None:
                counts.append(literal(0).label(f"e{i}"))
            else:
                cte = stmt.returning(literal(1).label("one")).cte(f"erase_{i}")
                counts.append(select(func.count()).select_from(cte).scalar_subquery().label(f"e{i}"))
            held: ColumnElement[int] = literal(0)
            if self._hold(spec) is not None:
                held = select(func.count()).select_from(tbl).where(
                    self._where(spec, kind, key, held=True)).scalar_subquery()
            counts.append(held.label(f"h{i}"))
            trimmed = self._held_statement(spec, kind, key)
            if trimmed is not None:  # held rows: disjoint from the rows above, so one statement may touch both
                cte = trimmed.returning(literal(1).label("one")).cte(f"trim_{i}")
                counts.append(select(func.count()).select_from(cte).scalar_subquery().label(f"t{i}"))
        row = conn.execute(select(*counts)).mappings().one()
        return {spec.name: self._counts(spec, row[f"e{i}"], row[f"h{i}"], row.get(f"t{i}"))
                for i, spec in enumerate(specs)}

    def _erase_table(self, conn: Connection, spec: TableSpec, kind: str, key: Keys) -> dict[str, int]:
        tbl, stmt = self._statement(spec, kind, key)
        erased = conn.execute(stmt).rowcount if stmt is not None else 0
        held = 0
        if self._hold(spec) is not None:
            held = conn.execute(select(func.count()).select_from(tbl).where(
                self._where(spec, kind, key, held=True))).scalar_one()
        trimmed = self._held_statement(spec, kind, key)
        return self._counts(spec, erased, held, conn.execute(trimmed).rowcount if trimmed is not None else None)

    def _counts(self, spec: TableSpec, erased: int, held: int, trimmed: int | None) -> dict[str, int]:
        """Per table: rows erased (by the table's rule), rows kept under hold, and of those how many were
        reduced to what the legal basis needs."""
        out = {"erased": erased, "held": held, self._rows(spec): erased}
        hold = self._hold(spec)
        if trimmed is not None and hold and hold.keeps is not None:
            out["held_reduced"] = trimmed  # only where columns went (dating a consent's withdrawal reduces nothing)
        return out

    def _cut_pointers(self, conn: Connection, kind: str, keys: Keys) -> None:
        """Offboarding deletes subject rows: other rows of the subject's table that point at them through a
        `clear` column (a ward's guardian) lose the pointer first."""
        subject = self._map.subject(kind)
        spec = self._map.tables.get(subject.table)
        if not self._offboarding or spec is None:
            return
        for name in spec.erasure.clear:
            col = column(name)
            conn.execute(update(table(spec.name, col)).where(link_condition(col, keys, conn.dialect.name))
                         .values({name: None}))


def literal_sql(fragment: str) -> ColumnElement:
    """An operator-written SQL condition from the data map (trusted config, never user input)."""
    return text(f"({fragment})")  # type: ignore[return-value]


def _as_date(value: object) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str) and value:
        return dt.date.fromisoformat(value[:10])
    return None


def _add_years(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)
