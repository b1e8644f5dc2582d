"""`gdpr-bot datamap check`: the data map against the live schema, plus a hunt for unmapped personal data."""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from sqlalchemy import Engine, column, select, table, types

from gdpr.core import models as m
from gdpr.core.datamap import DataMap
from gdpr.core.db import live_columns
from gdpr.core.names import first_names
from gdpr.core.yamlconf import Located

PERSONAL_NAME = re.compile(
    r"(name|e_?mail|phone|mobile|^tel|birth|dob|address|street|postcode|zip|city|iban|bic|bank|account_no|ssn|"
    r"national|passport|gender|photo|avatar|ip_addr|note|comment|health|weight|maiden|nationality|salary)", re.I)
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$", re.I)
PHONE = re.compile(r"^\+?[\d][\d\s\-/().]{7,}$")
IBAN = re.compile(r"^[A-Z]{2}\d{2}\s?[A-Z0-9]{4}(\s?[A-Z0-9]{2,4}){2,7}$")
ADDRESS = re.compile(r"\b(straat|laan|weg|rue|avenue|street|st\.|road|plein|steenweg|dreef)\b.*\d|\d+.*\b(straat|laan|weg|rue|avenue|street|road)\b", re.I)
SAMPLE = 200
# The bot's own state (on the embedded default it shares the database): never the platform's data.
BOT_TABLES = frozenset(m.Base.metadata.tables) | {"alembic_version"}


@dataclass
class CheckReport:
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def check_datamap(dm: DataMap, engine: Engine) -> CheckReport:
    report = CheckReport()
    live = live_columns(engine)
    _check_named(dm, live, report)
    for mapped in dm.tables.values():
        for cname, col in mapped.columns.items():
            if col.category == "free_text" and col.third_party is None:
                report.warnings.append(f"{mapped.name}.{cname} is free text: it may name other people; set "
                                       "`third_party: redact` so a subject's copy leaves them out (Art. 15(4))")
    for tname, cols in live.items():
        if tname in dm.non_personal_tables or tname in BOT_TABLES:
            continue
        spec = dm.tables.get(tname)
        known = set() if spec is None else set(spec.columns) | set(spec.context) | set(spec.exclude)
        for cname, ctype in cols.items():
            if cname in known:
                continue
            why = _looks_personal(engine, tname, cname, ctype)
            if why:
                where = f"table '{tname}' is not in the data map" if spec is None else "column is not mapped"
                report.errors.append(f"{tname}.{cname} looks personal ({why}) but {where}")
    return report


def named_errors(dm: DataMap, live: dict[str, dict]) -> list[str]:
    """Only the tables and columns the data map names that the live schema (`live_columns`) lacks (cheap:
    every process checks this at start; `check_datamap` also samples unmapped columns for personal data)."""
    report = CheckReport()
    _check_named(dm, live, report)
    return report.errors


def _check_named(dm: DataMap, live: dict, report: CheckReport) -> None:
    """Each problem once, as `file:line: key: message` (a missing table is one problem, not one per column)."""
    doc = Located(dm.path)
    found: dict[str, None] = {}

    def need(tname: str, cname: str, what: str) -> None:
        at = tuple(what.split("."))
        if tname not in live:
            found[str(doc.error(at, f"table '{tname}' does not exist in the system database"))] = None
        elif cname not in live[tname]:
            where = next((at + (k, cname) for k in ("columns", "links", "context", "exclude", "lookup", "display")
                          if at + (k, cname) in doc.lines), at)
            found[str(doc.error(where, f"column '{tname}.{cname}' does not exist"))] = None

    for t in dm.tables.values():
        extra = [t.erasure.hold.since] if t.erasure.hold else []
        extra += list(t.recipients.values()) if t.recipients else []
        for name in list(t.links.values()) + list(t.columns) + list(t.context) + list(t.exclude) + extra:
            need(t.name, name, f"tables.{t.name}")
    for s in dm.subjects.values():
        cols = [s.key, s.club] + [c for cs in s.lookup.values() for c in cs] + [c for cs in s.display.values() for c in cs]
        for name in cols:
            need(s.table, name, f"subjects.{s.kind}")
        if s.view_log:
            for key in ("link", "at", "action", "actor"):
                need(s.view_log["table"], s.view_log[key], f"subjects.{s.kind}.view_log")
    c = dm.controllers
    for name in (c.key, c.code, c.name, c.contact_name, c.contact_email):
        need(c.table, name, "controllers")
    for tname in dm.non_personal_tables:
        if tname not in live:
            found[str(doc.error(("non_personal_tables",), f"table '{tname}' does not exist"))] = None
    report.errors.extend(found)


def _looks_personal(engine: Engine, tname: str, cname: str, ctype: types.TypeEngine) -> str | None:
    if PERSONAL_NAME.search(cname):
        return "by its name"
    values = _sample(engine, tname, cname)
    if not values:
        return None
    if isinstance(ctype, (types.Date, types.DateTime)):
        cutoff = dt.date.today().replace(year=dt.date.today().year - 16)
        old = [v for v in values if isinstance(v, (dt.date, dt.datetime)) and
               (v.date() if isinstance(v, dt.datetime) else v) < cutoff]
        return "sampled values look like dates of birth" if len(old) > 0.5 * len(values) else None
    texts = [str(v).strip() for v in values if isinstance(v, str)]
    return _text_verdict(texts) if texts else None


def _text_verdict(texts: list[str]) -> str | None:
    n = len(texts)
    tests = [
        ("emails", lambda v: bool(EMAIL.match(v))),
        ("phone numbers", lambda v: bool(PHONE.match(v))),
        ("IBANs", lambda v: bool(IBAN.match(v.upper()))),
        ("addresses", lambda v: bool(ADDRESS.search(v))),
        ("names", lambda v: v.split()[0].lower() in first_names() if v.split() else False),
    ]
    for label, test in tests:
        if sum(1 for v in texts if test(v)) > 0.3 * n:
            return f"sampled values look like {label}"
    return None


def _sample(engine: Engine, tname: str, cname: str) -> list:
    col = column(cname)
    query = select(col).select_from(table(tname)).where(col.is_not(None)).limit(SAMPLE)
    with engine.connect() as conn:
        return [r[0] for r in conn.execute(query)]
