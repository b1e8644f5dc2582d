"""Proof of erasure: search every text column of the system database for the former identifiers.

Runs after the erasure committed, with identifiers held in memory for the job only. Rows still
under legal hold for this subject are excluded (they are kept on purpose). Values that identify
the person alone (email, phone, IBAN, national id, card and integration ids) are searched in
every row; a full name only where it can be this person's data (rows linked to this subject,
and tables the data map does not tie to subjects): the same name in another member's rows is a
namesake, counted and reported, not a failure. One query per table.

At scale on PostgreSQL, `gdpr-bot residue index` creates pg_trgm GIN indexes on the text
columns, so each LIKE '%…%' is an index lookup instead of a scan (benchmarks/erasure_speed.py).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Engine, String, Text, and_, case, column, false, func, inspect, not_, or_, select, table, true
from sqlalchemy.sql.elements import ColumnElement

from gdpr.datamap import DataMap
from gdpr.erasure import ErasureEngine, Identifiers
from gdpr.scope import other_rows, subject_rows


@dataclass(frozen=True)
class Hit:
    table: str
    column: str
    rows: int


@dataclass
class Residue:
    hits: list[Hit] = field(default_factory=list)
    namesakes: int = 0  # rows of other subjects that carry the same full name


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def residue_check(engine: Engine, datamap: DataMap, erasure: ErasureEngine, *, kind: str, key: str,
                  identifiers: Identifiers) -> Residue:
    result = Residue()
    if not identifiers.values and not identifiers.names:
        return result
    insp = inspect(engine)
    with engine.connect() as conn:
        for tname in insp.get_table_names():
            cols = [(c["name"], getattr(c["type"], "length", None)) for c in insp.get_columns(tname)
                    if isinstance(c["type"], (String, Text))]
            if cols:
                _scan(conn, datamap, erasure, tname, cols, identifiers, kind, key, result)
    return result


def _like_any(col: str, length: int | None, values: set[str]):  # noqa: ANN202
    # a value longer than the column can never be in it: skip the comparison
    fitting = [v for v in sorted(values) if length is None or len(v) <= length]
    if not fitting:
        return false()
    # ILIKE on the bare column, so PostgreSQL can answer from a pg_trgm GIN index (see ensure_indexes)
    return or_(*[column(col).ilike(f"%{_escape(v)}%", escape="\\") for v in fitting])


def _scan(conn, datamap, erasure, tname, cols, ids, kind, key, result: Residue) -> None:  # noqa: ANN001
    spec = datamap.tables.get(tname)
    own: ColumnElement = true()
    other: ColumnElement = false()  # where a name match is this subject's data / a namesake's
    linked = spec is not None and bool(datamap.links(spec, kind))
    dialect = conn.dialect.name
    if spec is not None:
        # a row linked to the subject through any link (a converted lead's note too) is the subject's
        own = subject_rows(datamap, spec, kind, key, dialect) if linked else false()
        other = other_rows(datamap, spec, kind, key, dialect)
    exclude_held: ColumnElement = true()
    if linked and spec.erasure.hold is not None:
        exclude_held = not_(subject_rows(datamap, spec, kind, key, dialect) & erasure.held(spec))
    parts, labels = [], []
    for c, length in cols:
        unique = _like_any(c, length, ids.values)
        names = _like_any(c, length, ids.names)
        parts.append(func.sum(case((or_(unique, and_(own, names)), 1), else_=0)).label(f"h_{c}"))
        parts.append(func.sum(case((and_(other, names), 1), else_=0)).label(f"n_{c}"))
        labels.append(c)
    any_match = or_(*[or_(_like_any(c, n, ids.values), _like_any(c, n, ids.names)) for c, n in cols])
    row = conn.execute(select(*parts).select_from(table(tname)).where(exclude_held).where(any_match)).mappings().first()
    if not row:
        return
    for c in labels:
        if row[f"h_{c}"]:
            result.hits.append(Hit(tname, c, int(row[f"h_{c}"])))
        result.namesakes += int(row[f"n_{c}"] or 0)


def ensure_indexes(engine: Engine, *, progress=print) -> list[str]:  # noqa: ANN001
    """PostgreSQL: a trigram GIN index on every text column of the system database (idempotent)."""
    if engine.dialect.name != "postgresql":
        return []
    from sqlalchemy import text as sql
    made = []
    insp = inspect(engine)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sql("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
        for tname in insp.get_table_names():
            for c in insp.get_columns(tname):
                if isinstance(c["type"], (String, Text)):
                    name = f"gdpr_trgm_{tname}_{c['name']}"[:63]
                    conn.execute(sql(f'CREATE INDEX CONCURRENTLY IF NOT EXISTS "{name}" ON "{tname}" '
                                     f'USING gin ("{c["name"]}" gin_trgm_ops)'))
                    made.append(name)
                    progress(f"  {name}")
    return made
