"""k-anonymity of what an erasure keeps: measured, not assumed.

An anonymised row still carries quasi-identifiers (its club, a birth year, a postcode region, a join
month): values that are harmless alone and single a person out together. The data map lists them per
table (`anonymity: {min_k, quasi, steps}`). At erasure, inside its transaction, each anonymised row's k
is counted - how many rows of its partition (the first quasi column: the club) are compatible with what
it keeps - and while k < min_k the row is coarsened by the next step (a birth year to its decade, a
month to its year, a value to nothing). A row that runs out of steps keeps only its partition.

How rows are compared (the same definition here, in the erasure and in the tests that measure it):
* an anonymised row A keeps a value per quasi column, or NULL (nothing: no constraint);
* a live row r is compatible when, generalised to the level of A's value, it equals A's value;
* another anonymised row r is compatible when both values, generalised to the coarser of their two
  levels, agree (NULL in r: anything). A kept value's level is read from the value itself as the
  coarsest level it is a fixed point of (1980-01-01 may be a year or a decade) - exactly what a reader
  of the table who knows these rules can tell, so k is what such a reader faces.
Coarsening a row never makes another anonymised row incompatible with it, so a later erasure never
lowers the k of an earlier one below what it was measured at.
"""
from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast as cast_type

from sqlalchemy import (
    Date,
    DateTime,
    Integer,
    TableClause,
    and_,
    case,
    cast,
    column,
    func,
    literal,
    select,
    table,
    true,
    update,
)
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import TypeEngine

from gdpr.core.datamap import NONE, parse_level


@dataclass(frozen=True)
class AnonymitySpec:
    min_k: int
    quasi: tuple[str, ...]  # the first one partitions the table (rows are compared within it)
    steps: tuple[dict[str, str], ...]  # each: {column: level}, applied cumulatively, in order
    base: dict[str, str]  # what the column rules leave: a date level, a prefix length ("2"), or "exact"

    def levels(self, step: int) -> dict[str, str]:
        """Each quasi column's level after steps 1..step (0: what the column rules leave)."""
        out = dict(self.base)
        for change in self.steps[:step]:
            out.update(change)
        return out

    def ladder(self, name: str) -> list[str]:
        """The levels a column's kept value can be at, finest first (never 'none')."""
        seen = [self.base[name]] + [s[name] for s in self.steps if name in s]
        return [lv for lv in dict.fromkeys(seen) if lv != NONE]


def coarsen(value: object, level: str) -> object:
    """A value at a coarser level: dates to the first day of their month, year or decade; text to a prefix."""
    if value is None or level == NONE:
        return None
    if isinstance(value, (dt.date, dt.datetime)):
        day = value.date() if isinstance(value, dt.datetime) else value
        if level == "month":
            return day.replace(day=1)
        if level == "year":
            return day.replace(month=1, day=1)
        if level == "decade":
            return dt.date(day.year - day.year % 10, 1, 1)
        return day
    if level.isdigit():
        return str(value)[: int(level)]
    return value


def _kept_level(spec: AnonymitySpec, name: str, value: object) -> str:
    """The coarsest level a kept value is a fixed point of (what a reader of the row can tell)."""
    norm = coarsen(value, "day")
    found = spec.ladder(name)[0]
    for level in spec.ladder(name):
        if coarsen(norm, level) == norm:
            found = level
    return found


def _coarser(spec: AnonymitySpec, name: str, a: str, b: str) -> str:
    ladder = spec.ladder(name)
    rank = {lv: i for i, lv in enumerate(ladder)}
    if name not in spec.base or spec.base[name] == "exact":
        return "exact"
    if a.isdigit() and b.isdigit():  # prefixes: the shorter is the coarser
        return a if int(a) <= int(b) else b
    return a if rank.get(a, 0) >= rank.get(b, 0) else b


Levels = tuple[tuple[int, str], ...]  # (quasi column index, level) of each value a row keeps


def _at_levels(values: tuple, levels: Levels) -> tuple:
    """A row's values at these levels (a live row's, to compare with a signature's)."""
    return tuple(coarsen(values[i], lv) if lv != "exact" else values[i] for i, lv in levels)


class Partition:
    """The rows of one partition (one club): live rows as they are, anonymised rows as they are kept.
    Anonymised rows are counted per distinct kept tuple (coarsened rows share a handful of tuples), and
    live rows per signature of levels - in Python, or by the database in one query for the signatures an
    erasure needs - so a k costs the distinct tuples, not the rows."""

    def __init__(self, spec: AnonymitySpec) -> None:
        self.spec = spec
        self.live: list[tuple] = []  # the live rows' quasi values, read into Python (`measure`)
        self.live_counted: dict[tuple[Levels, tuple], int] | None = None  # or counted by the database (`enforce`)
        self.anonymised: dict[int, tuple] = {}  # row id -> its kept quasi values
        self._kinds: Counter = Counter()  # kept tuple -> how many anonymised rows keep exactly that
        self._counts: dict[tuple, Counter] = {}
        self._levels: dict[tuple[str, object], str] = {}

    def keep(self, row_id: int, kept: tuple) -> None:
        """An anonymised row keeps these values (now, or instead of what it kept before)."""
        before = self.anonymised.get(row_id)
        if before is not None:
            self._kinds[before] -= 1
        self.anonymised[row_id] = kept
        self._kinds[kept] += 1

    def signature(self, kept: tuple) -> tuple[Levels, tuple]:
        """What a live row must equal to be compatible with these kept values: ((column index, level) of
        each kept value, the kept values at those levels)."""
        names = self.spec.quasi
        levels = tuple((i, self._level(n, v)) for i, (n, v) in enumerate(zip(names, kept, strict=True)) if v is not None)
        return levels, _at_levels(kept, levels)

    def k(self, kept: tuple) -> int:
        """How many rows of the partition are compatible with these kept values (the row itself included
        when it is in the partition as anonymised)."""
        names = self.spec.quasi
        levels, key = self.signature(kept)
        total = self.live_counted[(levels, key)] if self.live_counted is not None else self._live_counts(levels)[key]
        for values, count in self._kinds.items():
            if count and all(values[i] is None or self._agree(names[i], kept[i], lv, values[i]) for i, lv in levels):
                total += count
        return total

    def _level(self, name: str, value: object) -> str:
        if (name, value) not in self._levels:
            self._levels[(name, value)] = _kept_level(self.spec, name, value)
        return self._levels[(name, value)]

    def _agree(self, name: str, mine: object, my_level: str, theirs: object) -> bool:
        level = _coarser(self.spec, name, my_level, self._level(name, theirs))
        if level == "exact":
            return mine == theirs
        return coarsen(mine, level) == coarsen(theirs, level)

    def _live_counts(self, levels: tuple) -> Counter:
        if levels not in self._counts:
            self._counts[levels] = Counter(_at_levels(row, levels) for row in self.live)
        return self._counts[levels]


class Anonymity:
    """Reads a table's partitions and coarsens anonymised rows until each reaches min_k."""

    def __init__(self, tname: str, spec: AnonymitySpec, types: dict[str, object], anonymised: ColumnElement) -> None:
        self.tname, self.spec, self.types, self.anonymised = tname, spec, types, anonymised

    def _table(self) -> TableClause:  # an ad-hoc table clause typed from the reflected schema
        cols = [column("id", Integer)] + [column(n, self.types[n]) for n in self.spec.quasi]  # type: ignore[arg-type]
        return table(self.tname, *cols)

    def partitions(self, conn: Connection, groups: Sequence[object], *, live: bool = True) -> dict[object, Partition]:
        """The partitions holding these groups (club ids), read once each (without live rows: the
        anonymised ones only, their live rows left to `count_live`)."""
        tbl, names = self._table(), self.spec.quasi
        query = select(tbl.c.id, *[tbl.c[n] for n in names], self.anonymised.label("_anon")).where(
            tbl.c[names[0]].in_(list(groups)))
        rows = conn.execute(query if live else query.where(self.anonymised))
        out: dict[object, Partition] = {g: Partition(self.spec) for g in groups}
        for row in rows:
            values = tuple(_norm(v) for v in row[1:1 + len(names)])
            part = out[values[0]]
            if row._anon:
                part.keep(row.id, values)
            else:
                part.live.append(values)
        return out

    def enforce(self, conn: Connection, ids: Sequence[int]) -> dict[int, int]:
        """Coarsen these (just anonymised) rows step by step until each reaches min_k; returns {id: k}."""
        if not ids:
            return {}
        tbl, names = self._table(), self.spec.quasi
        mine = {r.id: tuple(_norm(v) for v in r[1:]) for r in
                conn.execute(select(tbl.c.id, *[tbl.c[n] for n in names]).where(tbl.c.id.in_(list(ids))))}
        parts = self.partitions(conn, sorted({v[0] for v in mine.values()}, key=str), live=False)
        for group, part in parts.items():
            wanted = {part.signature(self._at(values, step)) for values in mine.values() if values[0] == group
                      for step in range(len(self.spec.steps) + 1)}
            part.live_counted = self.count_live(conn, group, sorted(wanted, key=repr), list(part.anonymised.values()))
        chosen: dict[int, int] = {}
        result: dict[int, int] = {}
        for row_id, values in sorted(mine.items()):
            part = parts[values[0]]
            for step in range(len(self.spec.steps) + 1):
                kept = self._at(values, step)
                part.keep(row_id, kept)
                result[row_id] = part.k(kept)
                chosen[row_id] = step
                if result[row_id] >= self.spec.min_k:
                    break
        for step in sorted(set(chosen.values()) - {0}):
            rows = [i for i, s in chosen.items() if s == step]
            conn.execute(update(tbl).where(tbl.c.id.in_(rows)).values(self._assignments(conn, step)))
        return result

    def count_live(self, conn: Connection, group: object, wanted: Sequence[tuple[Levels, tuple]],
                   anonymised: Sequence[tuple], chunk: int = 100) -> dict[tuple[Levels, tuple], int]:
        """How many live rows of the partition each signature matches: the database counts every row of the
        partition (one pass per `chunk` signatures, a SUM of each condition over the quasi columns alone,
        which `residue index`'s index on them answers without reading the table), less the partition's
        `anonymised` rows (their stored values) that match, counted here."""
        tbl, names, out = self._table(), self.spec.quasi, {}
        for start in range(0, len(wanted), chunk):
            part = wanted[start:start + chunk]
            sums = [func.coalesce(func.sum(case((and_(true(), *[
                self._matches(tbl.c[names[i]], lv, value) for (i, lv), value in zip(levels, key, strict=True)]), 1),
                else_=0)), 0) for levels, key in part]
            counts = conn.execute(select(*sums).where(tbl.c[names[0]] == group)).one()
            out.update(zip(part, (int(c) for c in counts), strict=True))
        for levels, key in wanted:
            out[(levels, key)] -= sum(1 for values in anonymised if _at_levels(values, levels) == key)
        return out

    def _matches(self, col: ColumnElement, level: str, value: object) -> ColumnElement[bool]:
        """A live row's value is `value` at `level`, as `coarsen(_norm(v), level) == value` decides. A date is
        a half-open range of its period (nothing computed per row: a partition is read whole)."""
        kind = cast_type(TypeEngine, self.types[col.name])
        if isinstance(value, dt.date) and isinstance(kind, (Date, DateTime)):
            return and_(col >= literal(value, Date()), col < literal(_period_end(value, level), Date()))
        if level.isdigit():
            return func.substr(col, 1, int(level)) == literal(value, kind)
        return col == literal(value, kind)

    def measure(self, conn: Connection) -> dict[int, int]:
        """k of every anonymised row of the table, as it stands."""
        tbl = self._table()
        groups = [g for (g,) in conn.execute(select(tbl.c[self.spec.quasi[0]]).distinct())]
        out = {}
        for part in self.partitions(conn, groups).values():
            for row_id, kept in part.anonymised.items():
                out[row_id] = part.k(kept)
        return out

    def _at(self, values: tuple, step: int) -> tuple:
        levels = self.spec.levels(step)
        return tuple(v if levels[n] in ("exact",) else coarsen(v, levels[n]) for n, v in zip(self.spec.quasi, values, strict=True))

    def _assignments(self, conn: Connection, step: int) -> dict[str, object]:
        """SQL that brings a row's quasi columns to the levels of `step` (from any finer level)."""
        levels = self.spec.levels(step)
        out: dict[str, object] = {}
        for name in self.spec.quasi:
            if levels[name] == self.spec.base[name]:
                continue
            out[name] = _sql_coarsen(conn.dialect.name, column(name), levels[name], self.types[name])
        return out


def _norm(value: object) -> object:
    """Dates and timestamps compare as days (SQLite may hand back text)."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, str) and len(value) >= 10 and value[4] == "-" and value[7] == "-" and value[:4].isdigit():
        try:
            return dt.date.fromisoformat(value[:10])
        except ValueError:
            return value
    return value


def _period_end(start: dt.date, level: str) -> dt.date:
    """The first day after the period of this level that starts on `start` (exact: the day)."""
    if level == "month":
        return dt.date(start.year + start.month // 12, start.month % 12 + 1, 1)
    if level in ("year", "decade"):
        return dt.date(start.year + (10 if level == "decade" else 1), 1, 1)
    return start + dt.timedelta(days=1)


def _sql_coarsen(dialect: str, col: ColumnElement, level: str, kind: object) -> object:
    if level == NONE:
        return None
    if level.isdigit():
        return func.substr(col, 1, int(level))
    is_ts = isinstance(kind, DateTime)
    if dialect == "postgresql":
        made: ColumnElement
        if level == "decade":
            year = cast(func.extract("year", col), Integer)
            made = func.make_date(year - year % 10, 1, 1)
        else:
            made = cast(func.date_trunc(level, col), Date)
        return cast(made, DateTime) if is_ts else made
    if level == "decade":
        year = cast(func.strftime("%Y", col), Integer)
        text_day = func.printf("%04d-01-01", year - year % 10)
    else:
        text_day = func.date(col, f"start of {level}")
    return func.datetime(text_day) if is_ts else func.date(text_day)


def base_levels(quasi: Sequence[str], rules: dict[str, tuple[str, str]], types: dict[str, object]) -> dict[str, str]:
    """What the column rules leave of each quasi column: {column: (erasure rule, its `to`)} -> a level."""
    out = {}
    for name in quasi:
        rule, to = rules.get(name, ("keep", "year"))
        if rule != "generalise":
            out[name] = "exact"
        else:
            out[name] = to if isinstance(types.get(name), (Date, DateTime)) else "2"
    return out


__all__ = ["Anonymity", "AnonymitySpec", "Partition", "base_levels", "coarsen", "parse_level"]
