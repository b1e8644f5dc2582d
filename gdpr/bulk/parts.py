"""A bulk run made of parts (offboarding a club: its members, then its leads), worked through as one run.

Each part is an ordinary erase spec; the run keeps one checkpoint `i:key` (part i, up to its key), so it
stays one run - one approval, one card, one lease, one progress bar - and a resumed run goes on in the
part it was in. Keys leaving the engine (to the Art. 19 outbox) carry their part the same way, so a
member and a lead with the same number are never taken for one subject.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import Connection

from gdpr.bulk.retention import BulkSpec
from gdpr.core.scope import as_key


@dataclass
class Step:
    """One batch done: how many rows (or subjects), the last key, rows per table and what happened."""
    rows: int
    last_key: str
    counts: dict[str, dict[str, int]]
    keys: list | None = None  # the batch's subjects or rows (None where they never reached Python)


class PartEngine(Protocol):
    """What Parts asks of the bulk engine (gdpr.bulk.engine.BulkEngine), one part's plain spec at a time."""

    def count(self, spec: BulkSpec, as_of: dt.datetime, *, after: str | None = None,
              upto: str | None = None) -> int: ...
    def preview(self, spec: BulkSpec, as_of: dt.datetime) -> dict: ...
    def step(self, conn: Connection, spec: BulkSpec, as_of: dt.datetime, after: str | None,
             before: Callable[[list], None] | None = None) -> Step | None: ...
    def recipients_of(self, conn: Connection, spec: BulkSpec, keys: list) -> list[tuple[str, str, str]]: ...
    def erased(self, spec: BulkSpec, keys: list[str]) -> list[str]: ...
    def residue(self, spec: BulkSpec, as_of: dt.datetime) -> int: ...


def split(key: str | None) -> tuple[int, str | None]:
    """'1:204' -> (1, '204'); None -> the start of the first part."""
    if key is None:
        return 0, None
    part, _, rest = key.partition(":")
    return int(part), rest


def by_part(keys: list) -> dict[int, list]:
    out: dict[int, list] = {}
    for key in keys:
        part, rest = split(str(key))
        out.setdefault(part, []).append(as_key(str(rest)))
    return out


class Parts:
    """The engine's work for a spec with parts, delegated part by part to the engine itself."""

    def __init__(self, engine: PartEngine) -> None:
        self.engine = engine

    def count(self, spec: BulkSpec, as_of: dt.datetime, after: str | None, upto: str | None) -> int:
        parts = spec.part_specs()
        (first, after_key), (last, upto_key) = split(after), (split(upto) if upto is not None else (len(parts) - 1, None))
        return sum(self.engine.count(p, as_of, after=after_key if i == first else None,
                                     upto=upto_key if i == last else None)
                   for i, p in enumerate(parts) if first <= i <= last)

    def preview(self, spec: BulkSpec, as_of: dt.datetime) -> dict:
        """The parts' previews summed; each effect says whose rows it is about."""
        total = table_rows = 0
        clubs: dict[str, int] = {}
        effects, per_part = [], {}
        for p in spec.part_specs():
            seen = self.engine.preview(p, as_of)
            total, table_rows = total + seen["total"], table_rows + (seen["table_rows"] or 0)
            per_part[p.subject_type] = seen["total"]
            for club, n in seen["clubs"].items():
                clubs[club] = clubs.get(club, 0) + n
            effects += [{**e, "subject": p.subject_type} for e in seen["effects"]]
        return {"total": total, "table_rows": table_rows, "share": round(total / table_rows, 4) if table_rows else 0,
                "clubs": clubs, "oldest": None, "newest": None, "effects": effects, "parts": per_part}

    def step(self, conn: Connection, spec: BulkSpec, as_of: dt.datetime, after: str | None,
             before: Callable[[list], None] | None) -> Step | None:
        parts = spec.part_specs()
        start, key = split(after)
        for i in range(start, len(parts)):
            tell = None if before is None else (lambda keys, i=i: before(tag(i, keys)))
            step = self.engine.step(conn, parts[i], as_of, key if i == start else None, before=tell)
            if step is not None:
                step.last_key = f"{i}:{step.last_key}"
                step.keys = tag(i, step.keys) if step.keys is not None else None
                return step
        return None

    def recipients_of(self, conn: Connection, spec: BulkSpec, keys: list) -> list[tuple[str, str, str]]:
        parts = spec.part_specs()
        return [(f"{i}:{k}", recipient, external) for i, part_keys in by_part(keys).items()
                for k, recipient, external in self.engine.recipients_of(conn, parts[i], part_keys)]

    def erased(self, spec: BulkSpec, keys: list[str]) -> list[str]:
        parts = spec.part_specs()
        return [k for i, part_keys in by_part(keys).items()
                for k in tag(i, self.engine.erased(parts[i], [str(k) for k in part_keys]))]

    def residue(self, spec: BulkSpec, as_of: dt.datetime) -> int:
        return sum(self.engine.residue(p, as_of) for p in spec.part_specs())


def tag(part: int, keys: list) -> list[str]:
    return [f"{part}:{k}" for k in keys]
