"""Finding data subjects by email, phone or member number, as the data map describes them."""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, replace
from functools import cache

from sqlalchemy import ColumnElement, Engine, TableClause, and_, column, func, literal, or_, select, table
from sqlalchemy.sql.expression import ColumnClause

from gdpr.core.datamap import DataMap, SubjectSpec
from gdpr.core.errors import AmbiguousSubject, SubjectNotFound, UsageError
from gdpr.core.masking import mask_email, mask_name, mask_phone

MAX_IDENTITY = 200
EMAIL = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[A-Za-z]{2,}$")
SLACK_LINK = re.compile(r"^<(?:mailto:|tel:)?([^|>]*)(?:\|([^>]*))?>$")


@dataclass(frozen=True)
class Identity:
    how: str  # email | phone | number
    value: str


@dataclass(frozen=True)
class Candidate:
    """A matching subject. Holds personal data in memory only; render it masked unless permitted."""
    kind: str
    key: str
    number: str | None
    club_id: str
    club_code: str
    name: str
    email: str | None
    phone: str | None
    became: str | None = None  # the key of the subject this record became (a lead converted into a member)
    erased: bool = False  # the record was erased: shown as such, never by what its row now holds

    def masked(self) -> dict[str, str]:
        if self.erased:
            return self.plain()
        return {"number": self.number or "—", "club": self.club_code, "name": mask_name(self.name),
                "email": mask_email(self.email), "phone": mask_phone(self.phone)}

    def plain(self) -> dict[str, str]:
        if self.erased:
            return {"number": "erased", "club": self.club_code, "name": "—", "email": "—", "phone": "—"}
        return {"number": self.number or "—", "club": self.club_code, "name": self.name or "—",
                "email": self.email or "—", "phone": self.phone or "—"}


def parse_identity(raw: str, patterns: list[str]) -> Identity:
    """Email, phone or member number; Slack's <mailto:..|..> and <tel:..|..> wrappers are unwrapped."""
    text = raw.strip()
    if not text or len(text) > MAX_IDENTITY:
        raise UsageError("Give an email address, a phone number or a member number.")
    link = SLACK_LINK.match(text)
    if link:
        text = (link.group(2) or link.group(1)).strip()
    if EMAIL.match(text):
        return Identity("email", text.lower())
    if any(re.match(p, text, re.I) for p in patterns):
        return Identity("number", text.upper())
    digits = re.sub(r"[\s\-/().]", "", text)
    if re.fullmatch(r"\+?\d{8,15}", digits):
        return Identity("phone", digits.lstrip("+"))
    raise UsageError("That is not an email address, a phone number or a member number.")


def _digits(col: ColumnElement) -> ColumnElement:
    expr = col
    for ch in (" ", "-", "+", "/", "(", ")", "."):
        expr = func.replace(expr, ch, "")
    return expr


class SubjectDirectory:
    """Looks subjects up in the system database through the data map."""

    def __init__(self, engine: Engine, datamap: DataMap) -> None:
        self._engine = engine
        self._map = datamap

    def patterns(self) -> list[str]:
        return [s.number_pattern for s in self._map.subjects.values() if s.number_pattern]

    def find(self, identity: Identity, *, kinds: tuple[str, ...], club_code: str | None = None,
             limit: int = 20) -> list[Candidate]:
        found: list[Candidate] = []
        for kind in kinds:
            found.extend(self._find_kind(self._map.subject(kind), identity, club_code, limit))
        # a lead that became one of these members is that member, not a second subject
        keys = {(c.kind, c.key) for c in found}
        return [c for c in found if not (c.became and any((k, c.became) in keys for k in self._successors(c.kind)))][:limit]

    def resolve(self, identity: Identity, *, kind: str, club_code: str | None = None) -> Candidate:
        """Exactly one subject, or SubjectNotFound / AmbiguousSubject (with masked candidates)."""
        matches = self.find(identity, kinds=(kind,), club_code=club_code)
        if not matches:
            raise SubjectNotFound(f"No {self._map.subject(kind).label} matches that {identity.how}"
                                  + (f" in club {club_code}" if club_code else "") + ".")
        if len(matches) > 1:
            raise AmbiguousSubject(f"{len(matches)} subjects match that {identity.how}. "
                                   "Repeat the command with the member number.", matches)
        if matches[0].became:
            raise self._became(matches[0])
        return matches[0]

    def _became(self, record: Candidate) -> UsageError:
        """A record that became another subject is answered as that subject: one person, one request."""
        for kind in self._successors(record.kind):
            later = self.load(kind, record.became or "")
            if later is not None:
                label, ref = self._map.subject(kind).label, later.number or "the member"
                return UsageError(f"That {self._map.subject(record.kind).label} became {label} {ref}: open the request "
                                  f"for {ref} (its {self._map.subject(record.kind).label} records are part of it).")
        return UsageError(f"That {self._map.subject(record.kind).label} became another subject.")

    def _successors(self, kind: str) -> dict[str, str]:
        """{subject type: column} a record of `kind` points at when it became that subject."""
        spec = self._map.tables.get(self._map.subject(kind).table)
        return {k: c for k, c in (spec.links.items() if spec else ()) if k != kind}

    def club_key(self, code: str) -> str | None:
        """A club's key in the platform from its code (None: no such club)."""
        ctl = self._map.controllers
        with self._engine.connect() as conn:
            key = conn.execute(select(_col(ctl.table, ctl.key)).select_from(_tbl(ctl.table))
                               .where(_col(ctl.table, ctl.code) == code)).scalar()
        return None if key is None else str(key)

    def load(self, kind: str, key: str) -> Candidate | None:
        """One subject by its key, marked `erased` when its row holds no identifier any more."""
        spec = self._map.subject(kind)
        rows = self._query(spec, _col(spec.table, spec.key) == _cast_key(key), None, 1)
        if not rows:
            return None
        table_spec = self._map.tables.get(spec.table)
        if table_spec is None:
            return rows[0]
        cols = [c for c, rule in table_spec.columns.items() if rule.identifier]
        with self._engine.connect() as conn:
            row = conn.execute(select(*[_col(spec.table, c) for c in cols]).select_from(_tbl(spec.table))
                               .where(_col(spec.table, spec.key) == _cast_key(key))).mappings().first()
        erased = row is not None and table_spec.holds_no_identifier(dict(row), key)
        return replace(rows[0], erased=True) if erased else rows[0]

    def record_views(self, candidates: list[Candidate], *, viewer: str) -> int:
        """Write a VIEW into each subject's own change history, where the data map says it lives."""
        rows = 0
        now = dt.datetime.now()
        with self._engine.begin() as conn:
            for kind in sorted({c.kind for c in candidates}):
                log = self._map.subject(kind).view_log
                if log is None:
                    continue
                tbl = table(log["table"], *[column(log[k]) for k in ("link", "at", "action", "actor")])
                values = [{log["link"]: _cast_key(c.key), log["at"]: now, log["action"]: "VIEW",
                           log["actor"]: f"slack:{viewer}"} for c in candidates if c.kind == kind]
                conn.execute(tbl.insert(), values)  # one executemany per subject type
                rows += len(values)
        return rows

    def _find_kind(self, spec: SubjectSpec, identity: Identity, club_code: str | None, limit: int) -> list[Candidate]:
        cols = spec.lookup.get(identity.how, ())
        if not cols:
            return []
        if identity.how == "email":
            cond = or_(*[func.lower(_col(spec.table, c)) == identity.value for c in cols])
        elif identity.how == "phone":
            cond = or_(*[_digits(_col(spec.table, c)).like(f"%{identity.value[-9:]}") for c in cols])
        else:
            cond = or_(*[func.upper(_col(spec.table, c)) == identity.value for c in cols])
        return self._query(spec, cond, club_code, limit)

    def _query(self, spec: SubjectSpec, cond: ColumnElement, club_code: str | None, limit: int) -> list[Candidate]:
        ctl = self._map.controllers
        subj, clubs = _tbl(spec.table), _tbl(ctl.table)
        disp = spec.display
        name_cols = [column(c, _selectable=subj) for c in disp.get("name", ())]
        fields = [column(spec.key, _selectable=subj).label("k"), column(spec.club, _selectable=subj).label("club_id"),
                  column(ctl.code, _selectable=clubs).label("club_code"),
                  (column(spec.number, _selectable=subj) if spec.number else literal(None)).label("num"),
                  column(disp["email"][0], _selectable=subj).label("email") if "email" in disp else literal(None).label("email"),
                  column(disp["phone"][0], _selectable=subj).label("phone") if "phone" in disp else literal(None).label("phone")]
        fields += [c.label(f"n{i}") for i, c in enumerate(name_cols)]
        later = next(iter(self._successors(spec.kind).values()), None)
        fields.append((column(later, _selectable=subj) if later else literal(None)).label("became"))
        join_on = column(spec.club, _selectable=subj) == column(ctl.key, _selectable=clubs)
        where = [cond]
        if club_code:
            where.append(column(ctl.code, _selectable=clubs) == club_code)
        query = select(*fields).select_from(subj.join(clubs, join_on)).where(and_(*where)).limit(limit)
        with self._engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
        return [Candidate(kind=spec.kind, key=str(r["k"]), number=r["num"], club_id=str(r["club_id"]),
                          club_code=r["club_code"], email=r["email"], phone=r["phone"],
                          became=str(r["became"]) if r["became"] is not None else None,
                          name=" ".join(str(r[f"n{i}"]) for i in range(len(name_cols)) if r[f"n{i}"]))
                for r in rows]


@cache
def _tbl(tname: str) -> TableClause:  # one FROM object per table name, so columns share it
    return table(tname)


def _col(tname: str, cname: str) -> ColumnClause:
    return column(cname, _selectable=_tbl(tname))


def _cast_key(key: str) -> int | str:
    return int(key) if key.isdigit() else key
