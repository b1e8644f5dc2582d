"""Proof of erasure: search every text column of the system database for the former identifiers.

Runs after the erasure committed, with the identifiers of this job only. Rows still under legal hold
for this subject are excluded (they are kept on purpose). Values that identify the person alone
(email, phone, IBAN, national id, card and integration ids) are searched in every row; a full name
only where it can be this person's data (rows linked to this subject, and tables the data map does
not tie to subjects): the same name in another member's rows is a namesake, counted and reported,
not a failure.

One pass per table for all identifiers at once: each row's text columns are joined and lower-cased
once (JSON columns as their text) and tested against every identifier in one `LIKE ANY (…)` (on
PostgreSQL; SQLite runs one regular expression); only the rows that match are then looked at column
by column, with one regular expression per identifier. A phone matches in any format (its last nine
digits, with any separators between them: `+32 470 12 34 56`, `0470/12.34.56`), an IBAN with or
without the spaces between its groups: in free text (text and JSON columns, and columns of 100
characters or more) whatever the separators, elsewhere as stored or as digits only.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from sqlalchemy import (JSON, Engine, String, Text, and_, any_, bindparam, case, cast, column, false, func, inspect,
                        not_, or_, select, table, true)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.sql.elements import ColumnElement

from gdpr.datamap import DataMap
from gdpr.erasure import ErasureEngine, Identifiers
from gdpr.scope import other_rows, subject_rows

PHONE = re.compile(r"^\+?[\d\s().\-/]{8,}$")
IBAN = re.compile(r"^[a-z]{2}\d{2}(?: ?[a-z0-9]){10,30}$")
GAP = "[ .()/+-]{0,3}"  # what may stand between a phone's digits: spaces, dots, dashes, slashes, brackets


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


def compact(value: str) -> str | None:
    """A phone's last nine digits, an IBAN without its spaces; None for anything else."""
    digits = re.sub(r"\D", "", value)
    if PHONE.match(value) and len(digits) >= 8:
        return digits[-9:]
    if IBAN.match(value):
        return re.sub(r"[^0-9a-z]", "", value)
    return None


def _like(value: str) -> str:
    return "%" + value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


FREE_TEXT = 1000  # varchar(1000) and longer, text and JSON hold free text: phones in any format are looked for there
SEPARATORS = " .-/()+"  # the characters GAP allows, removed before a free-text column is compared


def residue_check(engine: Engine, datamap: DataMap, erasure: ErasureEngine, *, kind: str, key: str,
                  identifiers: Identifiers) -> Residue:
    result = Residue()
    if not identifiers.values and not identifiers.names:
        return result
    insp = inspect(engine)
    with engine.connect() as conn:
        for tname in insp.get_table_names():
            cols = [(c["name"], _free(c["type"])) for c in insp.get_columns(tname)
                    if isinstance(c["type"], (String, Text, JSON))]
            if cols:
                _scan(conn, datamap, erasure, tname, cols, identifiers, kind, key, result)
    return result


def _free(sql_type: object) -> bool:
    return isinstance(sql_type, (Text, JSON)) or (getattr(sql_type, "length", None) or FREE_TEXT) >= FREE_TEXT


def _joined(conn, cols: list[str]) -> ColumnElement:  # noqa: ANN001
    """The columns' text, lower-cased and joined (NULL as empty)."""
    out = _text(conn, column(cols[0]))
    for c in cols[1:]:
        out = out.concat(" \x1f ").concat(_text(conn, column(c)))
    return out


def _any_match(conn, cols: list[tuple[str, bool]], ids: Identifiers) -> ColumnElement:  # noqa: ANN001
    """Whether a row holds any identifier anywhere: one pass over its text. A superset of the per-column
    matches below, so a row it lets through is looked at column by column."""
    row = _joined(conn, [c for c, _ in cols])
    if conn.dialect.name != "postgresql":
        return _matches(conn, row, "|".join(r for r in (alternation(ids.values), alternation(ids.names)) if r))
    cores = sorted({c for c in (compact(v) for v in ids.values) if c})
    literal = row.like(any_(bindparam("residue_values", [_like(v) for v in sorted(ids.values | ids.names | set(cores))],
                                      type_=ARRAY(Text))))
    free = [c for c, is_free in cols if is_free]
    if not cores or not free:
        return literal
    spaced = func.translate(_joined(conn, free), SEPARATORS, "")
    return or_(literal, spaced.like(any_(bindparam("residue_cores", [_like(c) for c in cores], type_=ARRAY(Text)))))


def _text(conn, col: ColumnElement) -> ColumnElement:  # noqa: ANN001
    return func.coalesce(func.lower(cast(col, Text)), "")


def _matches(conn, text: ColumnElement, regex: str | None) -> ColumnElement:  # noqa: ANN001
    if regex is None:
        return false()
    if conn.dialect.name == "postgresql":
        return text.op("~")(regex)
    return func.gdpr_regexp(regex, text)  # SQLite: the engine registers it (gdpr.db)


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
    names = alternation(ids.names)
    anywhere = alternation(ids.values)  # free text: a phone in any format
    as_stored = "|".join(f"(?:{re.escape(v)})|(?:{re.escape(compact(v) or v)})" for v in sorted(ids.values)) or None
    parts, labels = [], []
    for c, is_free in cols:
        text, unique = _text(conn, column(c)), anywhere if is_free else as_stored
        parts.append(func.sum(case((or_(_matches(conn, text, unique), and_(own, _matches(conn, text, names))), 1),
                                   else_=0)).label(f"h_{c}"))
        parts.append(func.sum(case((and_(other, _matches(conn, text, names)), 1), else_=0)).label(f"n_{c}"))
        labels.append(c)
    row = conn.execute(select(*parts).select_from(table(tname)).where(exclude_held)
                       .where(_any_match(conn, cols, ids))).mappings().first()
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
