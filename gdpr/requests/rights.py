"""The platform's side of restriction (Art. 18) and rectification (Art. 16), as the data map allows them.

A restriction sets the subject's `restriction` column (since when the platform only stores the subject's data)
and lifting clears it; a rectification writes the club's corrected values into the subject's `rectifiable`
columns, each value checked against the column it goes into. Both are idempotent: what is already in effect
is left as it is (a retried job, or the ledger replayed after a restore, changes nothing twice)."""
from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import ColumnElement, Date, DateTime, Engine, String, and_, column, inspect, or_, select, table, update

from gdpr.core.datamap import DataMap, SubjectSpec
from gdpr.core.errors import UsageError

MAX_FIELDS = 10
_EMAIL = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")  # what a column name looks like


class PlatformRights:
    def __init__(self, engine: Engine, datamap: DataMap) -> None:
        self._engine, self._map = engine, datamap
        self._types: dict[str, dict[str, tuple[str, int | None]]] = {}

    def _column_types(self, name: str) -> dict[str, tuple[str, int | None]]:
        if name not in self._types:  # reflected once per table
            self._types[name] = _reflect(self._engine, name)
        return self._types[name]

    def _subject(self, kind: str, need: str) -> SubjectSpec:
        subject = self._map.subject(kind)
        if need == "restriction" and not subject.restriction:
            raise UsageError(f"The data map names no restriction column for a {subject.label}: the platform cannot "
                             f"mark one restricted (set `subjects.{kind}.restriction`).")
        if need == "rectifiable" and not subject.rectifiable:
            raise UsageError(f"The data map lets no column of a {subject.label} be corrected here: the club corrects "
                             "it in the platform itself.")
        return subject

    @staticmethod
    def _key(subject: SubjectSpec, key: str) -> ColumnElement[bool]:
        return column(subject.key) == (int(key) if key.isdigit() else key)

    def _restriction(self, kind: str) -> tuple[SubjectSpec, str]:
        subject = self._subject(kind, "restriction")
        return subject, str(subject.restriction)

    def restricted_since(self, kind: str, key: str) -> dt.datetime | None:
        subject, name = self._restriction(kind)
        with self._engine.connect() as conn:
            return conn.execute(select(column(name, DateTime)).select_from(table(subject.table))
                                .where(self._key(subject, key))).scalar()

    def restrict(self, kind: str, key: str, at: dt.datetime) -> bool:
        """Processing restricted from `at` (Art. 18(1)); False when it already was (its first time stays)."""
        (subject, name), at = self._restriction(kind), at.astimezone(dt.UTC).replace(tzinfo=None)
        col = column(name)
        with self._engine.begin() as conn:
            return bool(conn.execute(update(table(subject.table, col)).where(self._key(subject, key), col.is_(None))
                                     .values({name: at})).rowcount)

    def lift(self, kind: str, key: str) -> bool:
        """The restriction lifted (Art. 18(3)); False when there was none."""
        subject, name = self._restriction(kind)
        col = column(name)
        with self._engine.begin() as conn:
            return bool(conn.execute(update(table(subject.table, col)).where(self._key(subject, key), col.is_not(None))
                                     .values({name: None})).rowcount)

    def field_types(self, kind: str) -> dict[str, tuple[str, int | None]]:
        """Each rectifiable column as `date`, `email` or `text` with its length (what the API's schema says of a
        correction, so that a value the schema allows is one `check` takes). None when nothing is rectifiable."""
        subject = self._map.subject(kind)
        if not subject.rectifiable:
            return {}
        types = self._column_types(subject.table)
        return {f: ("email", types[f][1]) if f in subject.lookup.get("email", ()) else types.get(f, ("text", None))
                for f in subject.rectifiable}

    def check(self, kind: str, changes: dict[str, str]) -> dict[str, str]:
        """The club's corrections, each for a column the data map lets be corrected and fitting it (a date is a
        date, an email an address, a text no longer than its column); UsageError names the first that is not,
        never its value."""
        subject = self._subject(kind, "rectifiable")
        if not changes:
            raise UsageError("Say what to correct: `field=value`, several separated by `;`. Fields: "
                             + ", ".join(subject.rectifiable) + ".")
        if len(changes) > MAX_FIELDS:
            raise UsageError(f"At most {MAX_FIELDS} fields in one rectification.")
        types = self._column_types(subject.table)
        out = {}
        for name, raw in changes.items():
            field, value = str(name).strip().lower(), " ".join(str(raw).split())
            if field not in subject.rectifiable:
                named = f"`{field}`" if _NAME.match(field) else "That field"  # a value typed by mistake is not echoed
                raise UsageError(f"{named} cannot be corrected here. Fields: {', '.join(subject.rectifiable)}"
                                 " (anything else: the club corrects it in the platform).")
            kind_of, length = types.get(field, ("text", None))
            if not value:
                raise UsageError(f"Give the corrected value of `{field}`.")
            if kind_of == "date":
                try:
                    dt.date.fromisoformat(value)
                except ValueError:
                    raise UsageError(f"`{field}` is a date: write it as 2026-03-01.") from None
            elif length is not None and len(value) > length:
                raise UsageError(f"`{field}` holds at most {length} characters.")
            if field in subject.lookup.get("email", ()) and not _EMAIL.match(value):
                raise UsageError(f"`{field}` is an email address: that is not one.")
            out[field] = value
        return out

    def rectify(self, kind: str, key: str, values: dict[str, str]) -> list[str]:
        """Write the corrected values; returns the columns that changed (none: already in effect)."""
        subject = self._subject(kind, "rectifiable")
        types = self._column_types(subject.table)
        typed = {f: dt.date.fromisoformat(v) if types.get(f, ("text",))[0] == "date" else v for f, v in values.items()}
        cols = [column(f) for f in typed]
        with self._engine.begin() as conn:
            row = conn.execute(select(*cols).select_from(table(subject.table)).where(self._key(subject, key))).first()
            if row is None:
                return []
            changed = [f for f, now in zip(typed, row, strict=True) if _plain(now) != _plain(typed[f])]
            if changed:
                differs = or_(*[or_(column(f).is_(None), column(f) != typed[f]) for f in changed])
                conn.execute(update(table(subject.table, *cols)).where(and_(self._key(subject, key), differs))
                             .values({f: typed[f] for f in changed}))
        return changed

    def receivers(self, kind: str, fields: list[str]) -> set[str]:
        """The recipients of these columns of the subject's table (who a rectification is told to, Art. 19)."""
        spec = self._map.tables[self._map.subject(kind).table]
        return {r for f in fields if f in spec.columns for r in spec.columns[f].recipients}


def _plain(value: object) -> str | None:
    """A value as text, to compare what a row holds with a correction (SQLite hands dates back as text)."""
    if value is None:
        return None
    return (value.date() if isinstance(value, dt.datetime) else value).isoformat() \
        if isinstance(value, (dt.date, dt.datetime)) else str(value)


def _reflect(engine: Engine, name: str) -> dict[str, tuple[str, int | None]]:
    """Each column as `date`, `text` (with its length) or `other`."""
    found: dict[str, tuple[str, int | None]] = {}
    for col in inspect(engine).get_columns(name):
        kind = col["type"]
        if isinstance(kind, (Date, DateTime)):
            found[col["name"]] = ("date", None)
        elif isinstance(kind, String):
            found[col["name"]] = ("text", kind.length)
        else:
            found[col["name"]] = ("other", None)
    return found
