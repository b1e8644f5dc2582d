"""Who is told of a breach under Art. 34: the members the DPO names, on the controllers' instruction.

As processor the platform tells members only when a club (the controller) instructs it to (Art. 28(3),
34). So the DPO records which affected clubs gave that instruction, and names the members concerned:
by member number, or by a query (members with records in a data-map table within a date range).
The count is previewed before anything is sent; there is no 'everyone in the club' default.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import asdict, dataclass

from sqlalchemy import Date, DateTime, Engine, and_, column, exists, inspect, literal_column, select, table
from sqlalchemy.sql.elements import ColumnElement

from gdpr.core.datamap import DataMap
from gdpr.core.errors import UsageError

MAX_NUMBERS = 5000


@dataclass(frozen=True)
class MemberTarget:
    """How the DPO named the members to tell. Member numbers are what the DPO pastes, and identify people:
    they are resolved to the members' internal keys (`resolve_numbers`) before the target is kept, so the
    register holds references and a count - the same as every request's subject key - never a number."""
    numbers: tuple[str, ...] = ()  # as pasted: in memory only
    table: str | None = None  # members with rows in this table, dated in [since, until]
    column: str | None = None
    since: str | None = None  # ISO dates
    until: str | None = None
    keys: tuple[str, ...] = ()  # the named members' internal keys (what is kept)
    named: int = 0  # how many numbers the DPO named (some may match nobody)

    def to_json(self) -> dict:
        if self.numbers:
            raise ValueError("member numbers are resolved to keys before a target is kept")
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(self).items() if k != "numbers"}

    @classmethod
    def from_json(cls, data: dict) -> MemberTarget:
        return cls(**{**data, "numbers": tuple(data.get("numbers") or ()), "keys": tuple(data.get("keys") or ())})

    def describe(self) -> str:
        """For the register and the thread: how members were named, never who."""
        if self.numbers or self.keys or self.named:
            named = self.named or len(self.numbers)
            return f"{named} member number(s) named by the DPO ({len(self.keys) or named} member(s) found)"
        return f"members with {self.table} records dated {self.since} to {self.until}"


def dated_tables(datamap: DataMap, engine: Engine) -> dict[str, str]:
    """{table: its date column} for member tables a query can name (the first mapped date column)."""
    out, insp = {}, inspect(engine)
    for spec in datamap.tables_for("member"):
        if "member" not in spec.links or spec.name == datamap.subject("member").table:
            continue
        types = {c["name"]: c["type"] for c in insp.get_columns(spec.name)}
        dated = [c for c in list(spec.columns) + list(spec.context) if isinstance(types.get(c), (Date, DateTime))]
        if dated:
            out[spec.name] = dated[0]
    return out


def read_target(*, numbers_text: str, table_name: str | None, since: str | None, until: str | None,
                pattern: str | None, tables: dict[str, str]) -> MemberTarget:
    """The DPO's naming, validated; UsageError says what is wrong (never echoes what was pasted)."""
    numbers = tuple(dict.fromkeys(t.upper() for t in re.split(r"[\s,;]+", numbers_text or "") if t))
    if numbers and table_name:
        raise UsageError("Name the members one way: member numbers, or a table and dates.")
    if numbers:
        bad = [n for n in numbers if pattern and not re.fullmatch(pattern, n, re.I)]
        if bad:
            raise UsageError(f"{len(bad)} entr{'y is' if len(bad) == 1 else 'ies are'} not a member number.")
        if len(numbers) > MAX_NUMBERS:
            raise UsageError(f"At most {MAX_NUMBERS} member numbers at once; use a query for more.")
        return MemberTarget(numbers=numbers)
    if not table_name:
        raise UsageError("Name the members concerned: member numbers, or a table and dates.")
    if table_name not in tables:
        raise UsageError(f"`{table_name[:40]}` is not a table members can be selected by.")
    if not since or not until or since > until:
        raise UsageError("Give a start date and an end date (start first).")
    return MemberTarget(table=table_name, column=tables[table_name], since=since, until=until)


def resolve_numbers(engine: Engine, datamap: DataMap, target: MemberTarget) -> MemberTarget:
    """Numbers as pasted -> the members' internal keys (a target by table and dates is kept as it is)."""
    if not target.numbers:
        return target
    subject = datamap.subject("member")
    if subject.number is None:
        raise UsageError("The data map names no member number column, so members cannot be named by number.")
    keys: list[str] = []
    with engine.connect() as conn:
        for i in range(0, len(target.numbers), 1000):
            chunk = list(target.numbers[i:i + 1000])
            keys += [str(k) for (k,) in conn.execute(select(column(subject.key)).select_from(table(subject.table))
                                                     .where(column(subject.number).in_(chunk)))]
    return MemberTarget(keys=tuple(sorted(set(keys), key=lambda k: (len(k), k))), named=len(target.numbers))


def target_condition(datamap: DataMap, target: MemberTarget) -> ColumnElement:
    """On the members table: the members the target names."""
    subject = datamap.subject("member")
    if target.keys or target.named:
        return column(subject.key).in_([int(k) if k.isdigit() else k for k in target.keys])
    if target.numbers:  # a target recorded before numbers were resolved to keys
        if subject.number is None:
            raise UsageError("The data map names no member number column, so members cannot be named by number.")
        return column(subject.number).in_(list(target.numbers))
    spec = datamap.tables[target.table or ""]
    rows = table(spec.name)
    start = dt.date.fromisoformat(target.since or "")
    end = dt.date.fromisoformat(target.until or "") + dt.timedelta(days=1)
    when = column(target.column or "", _selectable=rows)
    # the outer members row, by name: a second FROM here would make the EXISTS true for everyone
    link = column(spec.links["member"], _selectable=rows) == literal_column(f"{subject.table}.{subject.key}")
    return exists(select(1).select_from(rows).where(and_(link, when >= start, when < end)))
