"""Proof of erasure: search every text column of the system database for the former identifiers.

Runs after the erasure committed, with identifiers held in memory for the job only. Rows still
under legal hold for this subject are excluded (they are kept on purpose). One query per table,
counting matches per column; PostgreSQL can serve the LIKEs from pg_trgm indexes where an
operator created them, and otherwise scans each table once.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, String, Text, case, column, func, inspect, literal, not_, or_, select, table

from gdpr.datamap import DataMap
from gdpr.erasure import ErasureEngine, Identifiers, _key


@dataclass(frozen=True)
class Hit:
    table: str
    column: str
    rows: int


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def residue_check(engine: Engine, datamap: DataMap, erasure: ErasureEngine, *, kind: str, key: str,
                  identifiers: Identifiers) -> list[Hit]:
    if not identifiers.values:
        return []
    patterns = [f"%{_escape(v)}%" for v in sorted(identifiers.values)]
    insp = inspect(engine)
    hits: list[Hit] = []
    with engine.connect() as conn:
        for tname in insp.get_table_names():
            cols = [c["name"] for c in insp.get_columns(tname) if isinstance(c["type"], (String, Text))]
            if not cols:
                continue
            hits += _scan(conn, datamap, erasure, tname, cols, patterns, kind, key)
    return hits


def _scan(conn, datamap, erasure, tname, cols, patterns, kind, key) -> list[Hit]:  # noqa: ANN001
    def matches(c: str):  # noqa: ANN202
        return or_(*[func.lower(column(c)).like(p, escape="\\") for p in patterns])

    query = select(*[func.sum(case((matches(c), 1), else_=0)).label(c) for c in cols]).select_from(table(tname))
    spec = datamap.tables.get(tname)
    if spec is not None and kind in spec.links and spec.erasure.hold is not None:
        held = erasure.held(spec)
        query = query.where(not_((column(spec.links[kind]) == _key(key)) & held))
    query = query.where(or_(*[matches(c) for c in cols]))
    row = conn.execute(query).mappings().first()
    return [Hit(tname, c, int(row[c])) for c in cols if row and row[c]]


__all__ = ["Hit", "residue_check", "literal"]
