"""Proof of erasure: search every text column of the system database for the former identifiers.

Runs after the erasure committed, with the identifiers of this job only. Rows still under legal hold
for this subject are excluded (they are kept on purpose). Values that identify the person alone
(email, phone, IBAN, national id, card and integration ids) are searched in every row; a full name
only where it can be this person's data (rows linked to this subject, and tables the data map does
not tie to subjects): the same name in another member's rows is a namesake, counted and reported,
not a failure.

One pass per table for all identifiers at once: every identifier becomes one alternative of a single
regular expression, matched against each row's text columns joined and lower-cased (JSON columns as
their text), so the cost is one sequential read of the table whatever the number of identifiers;
only rows that match are then looked at column by column. A phone matches in any format (its last
nine digits, with any separators between them: `+32 470 12 34 56`, `0470/12.34.56`), an IBAN with or
without the spaces between its groups.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from sqlalchemy import JSON, Engine, String, Text, and_, case, cast, column, false, func, inspect, not_, or_, select, \
    table, true
from sqlalchemy.sql.elements import ColumnElement

from gdpr.datamap import DataMap
from gdpr.erasure import ErasureEngine, Identifiers
from gdpr.scope import other_rows, subject_rows

PHONE = re.compile(r"^\+?[\d\s().\-/]{8,}$")
IBAN = re.compile(r"^[a-z]{2}\d{2}(?: ?[a-z0-9]){10,30}$")
GAP = "[^0-9a-z]{0,3}"  # what may stand between a phone's digits: spaces, dots, dashes, slashes, a bracket


@dataclass(frozen=True)
class Hit:
    table: str
    column: str
    rows: int


@dataclass
class Residue:
    hits: list[Hit] = field(default_factory=list)
    namesakes: int = 0  # rows of other subjects that carry the same full name


def pattern(value: str) -> str:
    """One identifier (lower-cased) as a regular expression over lower-cased text, valid in Python and in
    PostgreSQL's advanced regular expressions."""
    digits = re.sub(r"\D", "", value)
    if PHONE.match(value) and len(digits) >= 8:
        return GAP.join(digits[-9:])
    if IBAN.match(value):
        return " ?".join(re.sub(r"[^0-9a-z]", "", value))
    return re.escape(value)


def alternation(values: set[str]) -> str | None:
    return "|".join(f"(?:{pattern(v)})" for v in sorted(values)) or None


def residue_check(engine: Engine, datamap: DataMap, erasure: ErasureEngine, *, kind: str, key: str,
                  identifiers: Identifiers) -> Residue:
    result = Residue()
    unique, names = alternation(identifiers.values), alternation(identifiers.names)
    if unique is None and names is None:
        return result
    insp = inspect(engine)
    with engine.connect() as conn:
        for tname in insp.get_table_names():
            cols = [c["name"] for c in insp.get_columns(tname) if isinstance(c["type"], (String, Text, JSON))]
            if cols:
                _scan(conn, datamap, erasure, tname, cols, unique, names, kind, key, result)
    return result


def _text(conn, col: ColumnElement) -> ColumnElement:  # noqa: ANN001
    return func.coalesce(func.lower(cast(col, Text)), "")


def _matches(conn, text: ColumnElement, regex: str | None) -> ColumnElement:  # noqa: ANN001
    if regex is None:
        return false()
    if conn.dialect.name == "postgresql":
        return text.op("~")(regex)
    return func.gdpr_regexp(regex, text)  # SQLite: the engine registers it (gdpr.db)


def _scan(conn, datamap, erasure, tname, cols, unique, names, kind, key, result: Residue) -> None:  # noqa: ANN001
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
    either = "|".join(r for r in (unique, names) if r)
    row_text = _text(conn, column(cols[0]))
    for c in cols[1:]:  # the row's text columns joined (NULL as empty), so one match tells a row to look at
        row_text = row_text.concat(" \x1f ").concat(func.coalesce(_text(conn, column(c)), ""))
    parts, labels = [], []
    for c in cols:
        text = _text(conn, column(c))
        parts.append(func.sum(case((or_(_matches(conn, text, unique), and_(own, _matches(conn, text, names))), 1),
                                   else_=0)).label(f"h_{c}"))
        parts.append(func.sum(case((and_(other, _matches(conn, text, names)), 1), else_=0)).label(f"n_{c}"))
        labels.append(c)
    row = conn.execute(select(*parts).select_from(table(tname)).where(exclude_held)
                       .where(_matches(conn, row_text, either))).mappings().first()
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
