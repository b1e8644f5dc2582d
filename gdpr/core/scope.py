"""Which rows belong to a subject: one SQL condition per table, over every link the data map knows.

A member who started as a CRM lead is one subject: the lead's notes and consents are the member's
data as much as the visits are. Lookup, export, preview, erasure, residue check, ledger and bulk
runs all select a subject's rows through `subject_rows`, so none of them can miss a link.
"""
from __future__ import annotations

from sqlalchemy import Integer, Select, String, any_, column, false, func, literal, not_, or_, select, table, true
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.sql.elements import ColumnElement

from gdpr.core.datamap import DataMap, Link, TableSpec

Keys = str | list | Select


def as_key(key: str) -> int | str:
    return int(key) if key.isdigit() else key


def link_condition(col: ColumnElement, keys: Keys, dialect: str) -> ColumnElement:
    """col matches one key, a batch of keys (one array parameter on PostgreSQL), or a subquery."""
    if isinstance(keys, str):
        return col == as_key(keys)
    if isinstance(keys, list):
        if dialect == "postgresql":
            kind = Integer if all(isinstance(k, int) for k in keys) else String
            return col == any_(literal(keys, ARRAY(kind)))
        return col.in_(keys)
    return col.in_(keys)


def subject_rows(datamap: DataMap, spec: TableSpec, kind: str, keys: Keys, dialect: str) -> ColumnElement:
    """Rows of `spec` that belong to the subject(s) `keys` of type `kind`, through any link."""
    conds = [link_rows(link, keys, dialect) for link in datamap.links(spec, kind)]
    return or_(*conds) if len(conds) > 1 else conds[0]


def other_rows(datamap: DataMap, spec: TableSpec, kind: str, keys: Keys, dialect: str) -> ColumnElement:
    """The complement of `subject_rows`, with a NULL link counted as someone else's (never unknown)."""
    if not datamap.links(spec, kind):
        return true()
    return not_(func.coalesce(subject_rows(datamap, spec, kind, keys, dialect), false()))


def link_rows(link: Link, keys: Keys, dialect: str) -> ColumnElement:
    """Rows whose `link.column` points at the subject(s): directly, or at a record that became them."""
    if link.via is None or link.via_column is None:
        return link_condition(column(link.column), keys, dialect)
    earlier = select(column(link.via.key)).select_from(table(link.via.table)).where(
        link_condition(column(link.via_column), keys, dialect))
    if dialect == "postgresql" and isinstance(keys, str):
        # one subject: its earlier records as an array computed once, so `member_id = … OR lead_id =
        # ANY(…)` is two index lookups (a BitmapOr) instead of a scan of the whole table
        return column(link.column) == any_(func.array(earlier.scalar_subquery()))
    return column(link.column).in_(earlier)
