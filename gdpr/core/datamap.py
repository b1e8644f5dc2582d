"""The data map (config/datamap.yaml): the only place that knows the platform's tables."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from gdpr.core.yamlconf import ANY, BOOL, INT, NAMES, Located, Schema

CATEGORIES = {"identity", "contact", "financial", "health", "behavioural", "contractual", "consent",
              "free_text", "integration", "location"}
ERASURE_RULES = {"erase", "mask", "generalise", "replace", "keep"}
# Art. 15(4): a column holding another person's data is left out of the subject's copy (withhold), or, free
# text, handed over with what names or reaches someone else replaced (redact).
THIRD_PARTY = ("withhold", "redact")
COLUMN_FIELDS = ("purpose", "basis", "retention", "recipients")

# A quasi-identifier's generalisation levels, as the data map writes them (gdpr/erasure/anonymity.py applies them)
DATE_LEVELS = ("day", "month", "year", "decade")
NONE = "none"


def parse_level(name: str, level: object) -> str:
    """A step's level for a column, as written in the data map (ValueError says what is wrong)."""
    text_level = str(level)
    if text_level in (NONE, "null", "None"):
        return NONE
    if text_level in DATE_LEVELS[1:] or text_level.isdigit():
        return text_level
    raise ValueError(f"'{name}': month, year, decade, a prefix length or none, not '{text_level}'")


@dataclass(frozen=True)
class ColumnSpec:
    name: str
    category: str
    purpose: str
    basis: str
    retention: str
    recipients: tuple[str, ...]
    erasure: str
    replace_with: str | None = None
    identifier: bool = False
    to: str = "year"  # generalise: a date to its 'year' or its 'month'
    third_party: str | None = None  # withhold | redact: another person's data, kept from the subject's copy


@dataclass(frozen=True)
class HoldSpec:
    reason: str
    years: int
    since: str
    keeps: tuple[str, ...] | None = None  # what the legal basis needs; None: the whole row is kept as it is
    starts_at_erasure: bool = False  # a row with no `since` date gets the erasure's date: its hold starts then
    unlink: bool = False  # held rows are cut from the subject (links NULL): nothing joins them back to it
    binds: str = "controller"  # whose legal duty: the club's (lifted when it leaves) or the processor's own


@dataclass(frozen=True)
class ErasureSpec:
    rows: str = "update"  # update | delete | unlink
    hold: HoldSpec | None = None
    clear: tuple[str, ...] = ()  # update: unmapped columns set to NULL too (a link to another person)
    warn: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class AnonymityRule:
    """The data map's `anonymity`: quasi-identifier columns (the first partitions: the club), the k each
    anonymised row must reach, and the coarsening steps tried in order until it does."""
    min_k: int
    quasi: tuple[str, ...]
    steps: tuple[dict[str, str], ...]


@dataclass(frozen=True)
class TableSpec:
    name: str
    links: dict[str, str]
    columns: dict[str, ColumnSpec]
    context: tuple[str, ...]
    exclude: tuple[str, ...]
    erasure: ErasureSpec = ErasureSpec()
    recipients: dict[str, str] | None = None  # {provider: column, external_id: column}
    anonymity: AnonymityRule | None = None  # k-anonymity of what erasure keeps (gdpr/erasure/engine/anonymity.py)

    def is_replacement(self, name: str, value: object, row_id: object) -> bool:
        """True when value is what erasure writes into this column (so it identifies nobody)."""
        rule = self.columns[name]
        if rule.erasure != "replace" or value is None:
            return False
        return value == (rule.replace_with or "").replace("{id}", str(row_id))

    def holds_no_identifier(self, row: dict, row_id: object) -> bool:
        """A row of a subject's own table whose identifier columns are each NULL or their replacement: the
        subject was erased."""
        return all(row[c] is None or self.is_replacement(c, row[c], row_id)
                   for c, rule in self.columns.items() if rule.identifier)

    def exported_columns(self, *, withhold: bool = False) -> list[str]:
        """Columns exported: context first, then the personal ones; never excluded ones. With `withhold` (a
        subject's own copy, Art. 15(4)) not those holding another person's data either."""
        return list(self.context) + [c for c, spec in self.columns.items() if c not in self.context
                                     and not (withhold and spec.third_party == "withhold")]

    def withheld(self) -> list[str]:
        return [c for c, spec in self.columns.items() if spec.third_party == "withhold"]

    def redacted(self) -> list[str]:
        return [c for c, spec in self.columns.items() if spec.third_party == "redact"]


@dataclass(frozen=True)
class SubjectSpec:
    kind: str
    label: str
    table: str
    key: str
    club: str
    number: str | None
    number_pattern: str | None
    lookup: dict[str, tuple[str, ...]]
    display: dict[str, tuple[str, ...]]
    source: str
    view_log: dict[str, str] | None = None
    restriction: str | None = None  # Art. 18: the subject table's column holding since when processing is restricted
    rectifiable: tuple[str, ...] = ()  # Art. 16: the subject table's columns a club's instruction may correct


@dataclass(frozen=True)
class Link:
    """How a table's rows belong to a subject: its own key in `column`, or (`via` set) the key of a
    subject of another type that became this one (a CRM lead converted into the member), whose own
    row points at this subject through `via_column`."""
    column: str
    via: SubjectSpec | None = None
    via_column: str | None = None


@dataclass(frozen=True)
class ControllerSpec:
    table: str
    key: str
    code: str
    name: str
    contact_name: str
    contact_email: str
    country: str | None = None


@dataclass(frozen=True)
class ConsentSpec:
    """Where the platform records agreements (one row per subject and agreement given), their types, and
    the integration links an agreement of purpose `integration` permits (named after its provider)."""
    table: str
    agreement: str  # the column pointing at the agreement type
    version: str
    channel: str
    granted_at: str
    withdrawn_at: str
    types: dict[str, str]  # table, key, code, title, purpose, current_version
    links_table: str  # the integration links (their provider and subject link come from the table's map)
    links_active: str
    withdrawable: tuple[str, ...] = ("marketing", "profiling", "integration")  # purposes resting on consent


@dataclass
class DataMap:
    path: Path
    subjects: dict[str, SubjectSpec]
    tables: dict[str, TableSpec]
    recipients: dict[str, dict]
    controllers: ControllerSpec
    non_personal_tables: dict[str, str] = field(default_factory=dict)
    disclosures: dict = field(default_factory=dict)
    consent: ConsentSpec | None = None
    third_party_patterns: tuple[str, ...] = ()  # what else names another person in free text (regular expressions)

    @property
    def processor(self) -> dict[str, str]:
        """The platform's one name and role, for exports and breach notices alike."""
        return self.disclosures["processor"]

    def authority(self, country: str | None) -> dict[str, str]:
        """The supervisory authority of a club's country (or the default one)."""
        found = self.disclosures["supervisory_authorities"]
        return found.get(str(country or "").upper()) or found[found["default"]]

    def categories(self, specs: list[TableSpec]) -> dict[str, dict[str, set[str]]]:
        """Per column category of these tables: its tables, purposes, legal bases, retention, recipients and
        the subject types it concerns (for exports' Art. 15 information and the record of processing)."""
        found: dict[str, dict[str, set[str]]] = {}
        for spec in specs:
            for col in spec.columns.values():
                entry = found.setdefault(col.category, {k: set() for k in ("tables", "purposes", "bases", "retention",
                                                                           "recipients", "subjects")})
                entry["tables"].add(spec.name)
                entry["purposes"].add(col.purpose)
                entry["bases"].add(col.basis)
                entry["retention"].add(col.retention)
                entry["recipients"].update(col.recipients)
                entry["subjects"].update(spec.links)
        return found

    def on_interests(self, kind: str) -> list[TableSpec]:
        """The subject's tables processed on legitimate interests alone (Art. 6(1)(f) for every column):
        what an objection under Art. 21(1), once upheld, stops (Art. 17(1)(c): those rows are erased)."""
        return [t for t in self.tables_for(kind) if t.columns and
                all(c.basis.startswith("Art. 6(1)(f)") for c in t.columns.values())]

    def tables_for(self, kind: str) -> list[TableSpec]:
        """Every table holding rows of a subject of this type, directly or through a record that became it."""
        return [t for t in self.tables.values() if self.links(t, kind)]

    def links(self, spec: TableSpec, kind: str) -> list[Link]:
        """All the ways a row of `spec` belongs to a subject of type `kind` (one subject, every link)."""
        found = [Link(spec.links[kind])] if kind in spec.links else []
        for other in self.predecessors(kind):
            if other.kind in spec.links and spec.name != other.table:
                found.append(Link(spec.links[other.kind], via=other, via_column=self.tables[other.table].links[kind]))
        return found

    def per_link_recipients(self) -> set[str]:
        """Recipients that receive a subject's data only through a link row of theirs (an integration the
        member agreed to): the recipients of the tables that name one (`recipients: {provider: ...}`)."""
        return {r for t in self.tables.values() if t.recipients for c in t.columns.values() for r in c.recipients}

    def predecessors(self, kind: str) -> list[SubjectSpec]:
        """Subject types whose own row can point at a subject of `kind` (a lead's converted_member_id)."""
        return [s for s in self.subjects.values() if s.kind != kind and s.table in self.tables
                and kind in self.tables[s.table].links]

    def subject(self, kind: str) -> SubjectSpec:
        return self.subjects[kind]


_COLUMN = {**{k: ANY for k in ("category", "purpose", "basis", "retention", "recipients", "erasure",
                               "replace_with", "to", "third_party")}, "identifier": BOOL}
DATAMAP: Schema = {
    "version": ANY,
    "recipients": {NAMES: {"name": ANY, "purpose": ANY}},
    "subjects": {NAMES: {"label": ANY, "table": ANY, "key": ANY, "club": ANY, "number": ANY, "number_pattern": ANY,
                         "lookup": {"email": ANY, "phone": ANY, "number": ANY}, "display": {NAMES: ANY},
                         "source": ANY, "view_log": {k: ANY for k in ("table", "link", "at", "action", "actor")},
                         "restriction": ANY, "rectifiable": ANY}},
    "tables": {NAMES: {"links": {NAMES: ANY}, "columns": {NAMES: _COLUMN}, "defaults": _COLUMN, "context": ANY,
                       "exclude": ANY, "recipients": {"provider": ANY, "external_id": ANY},
                       "erasure": {"rows": ANY, "clear": ANY, "warn": {"message": ANY, "when": ANY},
                                   "hold": {**{k: ANY for k in ("reason", "since", "keeps")}, "years": INT,
                                            "starts_at_erasure": BOOL, "unlink": BOOL, "binds": ANY}},
                       "anonymity": {"min_k": INT, "quasi": ANY, "steps": ANY}}},
    "controllers": {k: ANY for k in ("table", "key", "code", "name", "contact_name", "contact_email", "country")},
    "non_personal_tables": {NAMES: ANY},
    "third_party_patterns": ANY,
    "consent": {"table": ANY, "agreement": ANY, "version": ANY, "channel": ANY, "granted_at": ANY, "withdrawn_at": ANY,
                "withdrawable": ANY, "types": {k: ANY for k in ("table", "key", "code", "title", "purpose",
                                                                "current_version")},
                "integration_links": {"table": ANY, "active": ANY}},
    "disclosures": {"processor": {"name": ANY, "role": ANY}, "profiling": ANY, "automated_decisions": ANY,
                    "transfers": ANY, "dpo": {"name": ANY, "email": ANY}, "security_measures": ANY,
                    "subprocessors": ANY, "supervisory_authorities": {"default": ANY,
                                                                  NAMES: {"name": ANY, "address": ANY, "url": ANY}}},
}


def load_datamap(path: Path) -> DataMap:
    """Load and structurally validate the data map; errors name file, line and key."""
    doc = Located(path)
    doc.only(DATAMAP)
    data = doc.data
    if not isinstance(data, dict):
        raise doc.error((), "expected a mapping at the top level")
    recipients = doc.require(data, (), "recipients", dict)
    subjects = {k: _subject(doc, k, v) for k, v in doc.require(data, (), "subjects", dict).items()}
    tables = {k: _table(doc, k, v, recipients, subjects) for k, v in doc.require(data, (), "tables", dict).items()}
    for kind, subject in subjects.items():  # a restriction's column and the rectifiable ones: mapped on its table
        own = tables.get(subject.table)
        for what, names in (("restriction", [subject.restriction] if subject.restriction else []),
                            ("rectifiable", list(subject.rectifiable))):
            for name in names:
                if own is None or name not in own.columns:
                    raise doc.error(("subjects", kind, what), f"'{name}' is not a mapped column of {subject.table}")
    ctl = doc.require(data, (), "controllers", dict)
    controllers = ControllerSpec(**{f: doc.require(ctl, ("controllers",), f) for f in
                                    ("table", "key", "code", "name", "contact_name", "contact_email")},
                                 country=ctl.get("country"))
    return DataMap(path=path, subjects=subjects, tables=tables, recipients=recipients, controllers=controllers,
                   non_personal_tables=data.get("non_personal_tables") or {}, disclosures=_disclosures(doc, data),
                   consent=_consent(doc, data.get("consent"), tables), third_party_patterns=_patterns(doc, data))


def _patterns(doc: Located, data: dict) -> tuple[str, ...]:
    raw = data.get("third_party_patterns") or []
    if not isinstance(raw, list):
        raise doc.error(("third_party_patterns",), "a list of regular expressions")
    for i, pattern in enumerate(raw):
        try:
            re.compile(str(pattern))
        except re.error as exc:
            raise doc.error(("third_party_patterns", i), f"not a regular expression: {exc}") from None
    return tuple(str(p) for p in raw)


def _consent(doc: Located, raw: dict | None, tables: dict[str, TableSpec]) -> ConsentSpec | None:
    if raw is None:
        return None
    at = ("consent",)
    fields = {k: doc.require(raw, at, k) for k in ("table", "agreement", "version", "channel", "granted_at",
                                                   "withdrawn_at")}
    types = doc.require(raw, at, "types", dict)
    links = doc.require(raw, at, "integration_links", dict)
    for key in ("table", "key", "code", "title", "purpose", "current_version"):
        doc.require(types, at + ("types",), key)
    for name, where in ((fields["table"], at + ("table",)), (doc.require(links, at + ("integration_links",), "table"),
                                                              at + ("integration_links", "table"))):
        if name not in tables:
            raise doc.error(where, f"'{name}' is not a table of this data map")
    if not tables[links["table"]].recipients:
        raise doc.error(at + ("integration_links", "table"), "that table has no `recipients` (provider, external_id)")
    return ConsentSpec(**fields, types={k: str(v) for k, v in types.items()}, links_table=links["table"],
                       links_active=doc.require(links, at + ("integration_links",), "active"),
                       withdrawable=tuple(raw.get("withdrawable") or ("marketing", "profiling", "integration")))


def _disclosures(doc: Located, data: dict) -> dict:
    at = ("disclosures",)
    raw = doc.require(data, (), "disclosures", dict)
    processor = doc.require(raw, at, "processor", dict)
    for key in ("name", "role"):
        doc.require(processor, at + ("processor",), key)
    authorities = doc.require(raw, at, "supervisory_authorities", dict)
    default = doc.require(authorities, at + ("supervisory_authorities",), "default")
    if default not in authorities:
        raise doc.error(at + ("supervisory_authorities", "default"), f"'{default}' has no entry of its own")
    for country, entry in authorities.items():
        if country != "default":
            for key in ("name", "address", "url"):
                doc.require(entry, at + ("supervisory_authorities", country), key)
    return raw


def _names(value: object) -> tuple[str, ...]:
    return tuple(value) if isinstance(value, list) else (str(value),)


def _subject(doc: Located, kind: str, raw: dict) -> SubjectSpec:
    at = ("subjects", kind)
    lookup = doc.require(raw, at, "lookup", dict)
    for how in lookup:
        if how not in {"email", "phone", "number"}:
            raise doc.error(at + ("lookup", how), "lookup keys are email, phone and number")
    return SubjectSpec(kind=kind, label=raw.get("label", kind), table=doc.require(raw, at, "table"),
                       key=doc.require(raw, at, "key"), club=doc.require(raw, at, "club"),
                       number=raw.get("number"), number_pattern=raw.get("number_pattern"),
                       lookup={k: _names(v) for k, v in lookup.items()},
                       display={k: _names(v) for k, v in doc.require(raw, at, "display", dict).items()},
                       source=str(raw.get("source", "")), view_log=_view_log(doc, at, raw.get("view_log")),
                       restriction=raw.get("restriction"), rectifiable=_names(raw.get("rectifiable") or []))


def _view_log(doc: Located, at: tuple, raw: dict | None) -> dict[str, str] | None:
    if raw is None:
        return None
    return {k: doc.require(raw, at + ("view_log",), k) for k in ("table", "link", "at", "action", "actor")}


def _table(doc: Located, name: str, raw: dict, recipients: dict, subjects: dict) -> TableSpec:
    at = ("tables", name)
    links = doc.require(raw, at, "links", dict)
    for kind in links:
        if kind not in subjects:
            raise doc.error(at + ("links", kind), f"unknown subject type '{kind}' (known: {', '.join(subjects)})")
    defaults = raw.get("defaults") or {}
    columns = {}
    for col, spec in doc.require(raw, at, "columns", dict).items():
        columns[col] = _column(doc, at + ("columns", col), col, spec or {}, defaults, recipients)
    erasure = _erasure(doc, at, raw.get("erasure"))
    for kept in (erasure.hold.keeps or ()) if erasure.hold else ():
        if kept not in columns:
            raise doc.error(at + ("erasure", "hold", "keeps"), f"'{kept}' is not one of the table's personal columns")
    context = tuple(raw.get("context") or ())
    return TableSpec(name=name, links=dict(links), columns=columns, context=context,
                     exclude=tuple(raw.get("exclude") or ()), erasure=erasure,
                     recipients=_recipients(doc, at, raw.get("recipients")),
                     anonymity=_anonymity(doc, at, raw.get("anonymity"), set(columns) | set(context)))


def _anonymity(doc: Located, at: tuple, raw: dict | None, known: set[str]) -> AnonymityRule | None:
    if raw is None:
        return None
    at = at + ("anonymity",)
    quasi = doc.require(raw, at, "quasi", list)
    for name in quasi:
        if name not in known:
            raise doc.error(at + ("quasi",), f"'{name}' is neither a column nor context of the table")
    steps = []
    for i, step in enumerate(raw.get("steps") or []):
        if not isinstance(step, dict) or not step:
            raise doc.error(at + ("steps", i), "expected {column: level}")
        for name, level in step.items():
            if name not in quasi[1:]:
                raise doc.error(at + ("steps", i), f"'{name}' is not a quasi column that may be coarsened "
                                "(the first one partitions the table)")
            try:
                step[name] = parse_level(name, level)
            except ValueError as exc:
                raise doc.error(at + ("steps", i), str(exc)) from None
        steps.append(dict(step))
    min_k = int(raw.get("min_k", 10))
    if min_k < 2:
        raise doc.error(at + ("min_k",), "min_k below 2 protects nobody")
    return AnonymityRule(min_k=min_k, quasi=tuple(quasi), steps=tuple(steps))


ROW_RULES = {"update", "delete", "unlink"}


def _erasure(doc: Located, at: tuple, raw: dict | None) -> ErasureSpec:
    if raw is None:
        raise doc.error(at, "missing 'erasure' (rows: update | delete | unlink): every mapped table needs a rule")
    at = at + ("erasure",)
    rows = raw.get("rows", "update")
    if rows not in ROW_RULES:
        raise doc.error(at + ("rows",), f"unknown rule '{rows}' (known: {', '.join(sorted(ROW_RULES))})")
    hold = None
    if raw.get("hold") is not None:
        h = raw["hold"]
        keeps = h.get("keeps")
        if keeps is not None and not isinstance(keeps, list):
            raise doc.error(at + ("hold", "keeps"), "expected a list of the columns the legal basis needs")
        hold = HoldSpec(reason=doc.require(h, at + ("hold",), "reason"), years=doc.require(h, at + ("hold",), "years", int),
                        since=doc.require(h, at + ("hold",), "since"),
                        keeps=tuple(str(c) for c in keeps) if keeps is not None else None,
                        starts_at_erasure=bool(h.get("starts_at_erasure", False)), unlink=bool(h.get("unlink", False)),
                        binds=str(h.get("binds", "controller")))
        if hold.binds not in ("controller", "processor"):
            raise doc.error(at + ("hold", "binds"), f"'{hold.binds}': whose duty it is, controller or processor")
    warn = tuple((doc.require(w, at + ("warn", i), "message"), doc.require(w, at + ("warn", i), "when"))
                 for i, w in enumerate(raw.get("warn") or []))
    return ErasureSpec(rows=rows, hold=hold, warn=warn, clear=tuple(str(c) for c in raw.get("clear") or ()))


def _recipients(doc: Located, at: tuple, raw: dict | None) -> dict[str, str] | None:
    if raw is None:
        return None
    return {k: doc.require(raw, at + ("recipients",), k) for k in ("provider", "external_id")}


def _column(doc: Located, at: tuple, name: str, spec: dict, defaults: dict, recipients: dict) -> ColumnSpec:
    merged = {**defaults, **spec}
    category = doc.require(merged, at, "category")
    if category not in CATEGORIES:
        raise doc.error(at + ("category",), f"unknown category '{category}' (known: {', '.join(sorted(CATEGORIES))})")
    erasure = merged.get("erasure", "erase")
    if erasure not in ERASURE_RULES:
        raise doc.error(at + ("erasure",), f"unknown erasure rule '{erasure}'")
    for f in COLUMN_FIELDS:
        if f not in merged:
            raise doc.error(at, f"missing '{f}' (set it on the column or in the table's defaults)")
    for r in merged["recipients"]:
        if r not in recipients:
            raise doc.error(at + ("recipients",), f"unknown recipient '{r}'")
    if erasure == "replace" and not merged.get("replace_with"):
        raise doc.error(at, "erasure 'replace' needs 'replace_with'")
    third_party = merged.get("third_party")
    if third_party is not None and third_party not in THIRD_PARTY:
        raise doc.error(at + ("third_party",), f"one of {', '.join(THIRD_PARTY)}, not '{third_party}'")
    if third_party == "redact" and category != "free_text":
        raise doc.error(at + ("third_party",), "redact is for free text (category free_text); withhold the column")
    to = merged.get("to", "year")
    if to not in ("year", "month"):
        raise doc.error(at + ("to",), f"generalise 'to' is 'year' or 'month', not '{to}'")
    return ColumnSpec(name=name, category=category, purpose=merged["purpose"], basis=merged["basis"],
                      retention=merged["retention"], recipients=tuple(merged["recipients"]), erasure=erasure,
                      replace_with=merged.get("replace_with"), identifier=bool(merged.get("identifier", False)), to=to,
                      third_party=third_party)
