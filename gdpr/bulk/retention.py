"""Retention policies (config/retention.yaml) and the bulk specs they and `/gdpr crm purge` run.

A spec says which rows a bulk run matches and what it does to them; it holds no personal data
and is stored with the run, so a retried or resumed run does exactly what was approved.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

from apscheduler.triggers.cron import CronTrigger

from gdpr.core.datamap import DataMap
from gdpr.core.errors import UsageError
from gdpr.core.yamlconf import ANY, NAMES, Located, Schema

ACTIONS = {
    "erase": "anonymise each subject everywhere by the data map's erasure rules",
    "delete": "delete the rows",
    "anonymise": "apply the table's column rules from the data map to the rows (the rows stay)",
    "exports": "delete the bot's own export archives past EXPORT_TTL_DAYS",
    "outbox": "delete sent mail (.eml files in OUTBOX_DIR) older than older_than",
    "release": "rows kept under a legal hold for subjects already erased, once the hold has ended: the table's rule",
}
DURATION = re.compile(r"^(\d{1,4})(d|w|mo|y)$")
UNITS = {"d": "days", "w": "weeks", "mo": "months", "y": "years"}
NAME = re.compile(r"^[a-z][a-z0-9_-]{0,40}$")


def _parts(duration: str) -> tuple[int, str] | None:
    found = DURATION.match(duration)
    return (int(found.group(1)), found.group(2)) if found else None


def parse_duration(text: str) -> str:
    """'30d', '12w', '24mo', '7y' (normalised); UsageError otherwise."""
    value = str(text).strip().lower()
    parts = _parts(value)
    if parts is None or parts[0] == 0:
        raise UsageError(f"`{str(text)[:20]}` is not a duration: write a number and a unit, "
                         "like `30d`, `12w`, `24mo` or `7y`.")
    return value


def cutoff(as_of: dt.datetime, older_than: str) -> dt.datetime:
    """The moment `older_than` before `as_of`, in calendar terms (24mo from 31 March is 31 March)."""
    n, unit = _parts(older_than) or (0, "d")
    if unit in ("d", "w"):
        return as_of - dt.timedelta(days=n * (7 if unit == "w" else 1))
    months = n * (12 if unit == "y" else 1)
    year, month = divmod(as_of.month - 1 - months, 12)
    year, month = as_of.year + year, month + 1
    for day in (as_of.day, 30, 29, 28):
        try:
            return as_of.replace(year=year, month=month, day=day)
        except ValueError:
            continue
    raise AssertionError("unreachable")


def describe_duration(older_than: str) -> str:
    n, unit = _parts(older_than) or (0, "d")
    word = {"d": "day", "w": "week", "mo": "month", "y": "year"}[unit]
    return f"{n} {word}{'s' if n != 1 else ''}"


@dataclass(frozen=True)
class BulkSpec:
    """What a bulk run matches and does. `where` is equality on columns (a value or a list of values)."""
    name: str
    action: str
    table: str | None = None
    subject: str | None = None
    where: dict[str, list[str]] = field(default_factory=dict)
    club_id: str | None = None
    club_code: str | None = None
    age_column: str | None = None
    older_than: str | None = None
    batch_size: int = 1000
    max_share: float = 0.2
    parts: list[dict] = field(default_factory=list)  # offboard: one erase spec per subject type, in order
    offboarding: bool = False  # a part of a club's offboarding: the club's holds lift, its rows are deleted
    alone: bool = False  # leave out records that became another subject of the club (erased with it)
    choice: str | None = None  # offboard: the controller's choice (return-and-delete | return-only | delete-only)
    chosen_by: str | None = None  # who made it for the club (its GDPR contact, as recorded)

    def to_json(self) -> dict:
        return asdict(self)

    def part_specs(self) -> list[BulkSpec]:
        return [BulkSpec.from_json(p) for p in self.parts]

    @property
    def erases(self) -> bool:
        """Subjects are erased (one subject type, or each part's): the Art. 19 outbox tells their recipients."""
        return self.action in ("erase", "offboard")

    @property
    def tname(self) -> str:
        """The table a table action works on (erase: the subject's table); the loader checked it exists."""
        if self.table is None:
            raise ValueError(f"policy {self.name} works on no table")
        return self.table

    @property
    def subject_type(self) -> str:
        """The subject type an erase action erases; the loader checked it exists."""
        if self.subject is None:
            raise ValueError(f"policy {self.name} erases no subject")
        return self.subject

    @classmethod
    def from_json(cls, data: dict) -> BulkSpec:
        return cls(**data)

    def describe(self) -> str:
        parts = [f"{k} = {' or '.join(v)}" for k, v in self.where.items()]
        if self.club_code:
            parts.append(f"club {self.club_code}")
        if self.parts:
            parts.append("its " + " and ".join(f"{p['subject']}s" for p in self.parts))
        if self.older_than:
            parts.append(f"{self.age_column} older than {describe_duration(self.older_than)}")
        return ", ".join(parts) or "all rows"


@dataclass(frozen=True)
class Policy:
    name: str
    description: str
    basis: str
    schedule: str
    approval: str  # required | auto
    spec: BulkSpec

    def trigger(self) -> CronTrigger:
        return cron_trigger(self.schedule)


DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat", "sun")


def cron_trigger(schedule: str) -> CronTrigger:
    """A standard crontab line (UTC). APScheduler 3 numbers weekdays from Monday = 0, cron from Sunday = 0
    (and 7): the day-of-week field's numbers are turned into names first, so '1' means Monday as in cron."""
    fields = schedule.split()
    if len(fields) == 5:  # a wrong count is left to APScheduler's own error
        fields[4] = re.sub(r"(?<![/\d])([0-7])(?!\d)", lambda m: DAYS[int(m.group(1))], fields[4])
    return CronTrigger.from_crontab(" ".join(fields), timezone=dt.UTC)


@dataclass(frozen=True)
class CrmPurge:
    """What `/gdpr crm purge` may remove: leads of these statuses, aged on this column."""
    subject: str
    table: str
    status_column: str
    age_column: str
    statuses: tuple[str, ...]
    default_status: str


@dataclass(frozen=True)
class RetentionConfig:
    path: Path
    policies: dict[str, Policy]
    crm_purge: CrmPurge
    batch_size: int
    max_share: float
    pause_ms: int = 0


RETENTION: Schema = {
    "version": ANY,
    "settings": {"batch_size": ANY, "max_share": ANY, "pause_ms": ANY},
    "crm_purge": {k: ANY for k in ("subject", "status_column", "statuses", "default_status", "age_column")},
    "policies": {NAMES: {**{k: ANY for k in ("description", "basis", "action", "table", "subject", "age_column",
                                             "older_than", "schedule", "approval", "batch_size", "max_share")},
                         "where": {NAMES: ANY}}},
}


def load_retention(path: Path, datamap: DataMap) -> RetentionConfig:
    """Parse and validate against the data map; errors name file, line and key."""
    doc = Located(path)
    doc.only(RETENTION)
    raw = doc.data if isinstance(doc.data, dict) else {}
    settings = raw.get("settings") or {}
    batch_size = _int(doc, ("settings", "batch_size"), settings.get("batch_size", 1000), 1, 50_000)
    max_share = settings.get("max_share", 0.2)
    if not isinstance(max_share, (int, float)) or not 0 < max_share <= 1:
        raise doc.error(("settings", "max_share"), "expected a share between 0 and 1, like 0.2")
    crm = _crm(doc, raw.get("crm_purge") or {}, datamap)
    policies = {}
    for name, entry in (doc.require(raw, (), "policies", dict)).items():
        if not NAME.match(str(name)):
            raise doc.error(("policies", name), "policy names are lowercase letters, digits, '-' and '_'")
        policies[name] = _policy(doc, name, entry, datamap, batch_size, float(max_share))
    pause_ms = _int(doc, ("settings", "pause_ms"), settings.get("pause_ms", 0), 0, 60_000)
    return RetentionConfig(path=path, policies=policies, crm_purge=crm, batch_size=batch_size,
                           max_share=float(max_share), pause_ms=pause_ms)


def _int(doc: Located, at: tuple, value: object, low: int, high: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise doc.error(at, f"expected a whole number from {low} to {high}")
    return value


def _crm(doc: Located, raw: dict, datamap: DataMap) -> CrmPurge:
    at = ("crm_purge",)
    subject = raw.get("subject", "lead")
    if subject not in datamap.subjects:
        raise doc.error(at + ("subject",), f"unknown subject type '{subject}' (the data map has "
                                           f"{', '.join(sorted(datamap.subjects))})")
    statuses = tuple(str(s) for s in raw.get("statuses", ["rejection"]))
    default = str(raw.get("default_status", statuses[0] if statuses else ""))
    if default not in statuses:
        raise doc.error(at + ("default_status",), f"'{default}' is not one of statuses {list(statuses)}")
    return CrmPurge(subject=subject, table=datamap.subject(subject).table, status_column=str(raw.get("status_column", "status")),
                    age_column=str(raw.get("age_column", "status_changed_at")), statuses=statuses,
                    default_status=default)


def _policy(doc: Located, name: str, raw: object, datamap: DataMap, batch_size: int, max_share: float) -> Policy:
    at = ("policies", name)
    if not isinstance(raw, dict):
        raise doc.error(at, "expected a mapping")
    action = raw.get("action", "erase" if "subject" in raw else None)
    if action not in ACTIONS:
        raise doc.error(at + ("action",), f"unknown action '{action}' (one of {', '.join(ACTIONS)})")
    basis = doc.require(raw, at, "basis")
    schedule = doc.require(raw, at, "schedule")
    try:
        cron_trigger(schedule)
    except ValueError as exc:
        raise doc.error(at + ("schedule",), f"not a cron schedule ('m h dom mon dow'): {exc}") from None
    approval = raw.get("approval", "required")
    if approval not in ("required", "auto"):
        raise doc.error(at + ("approval",), "expected 'required' or 'auto'")
    spec = _spec(doc, at, name, action, raw, datamap, batch_size, max_share)
    return Policy(name=name, description=str(raw.get("description", name)), basis=basis, schedule=schedule,
                  approval=approval, spec=spec)


def _spec(doc: Located, at: tuple, name: str, action: str, raw: dict, datamap: DataMap,
          batch_size: int, max_share: float) -> BulkSpec:
    subject, table = raw.get("subject"), raw.get("table")
    if action == "erase":
        if subject not in datamap.subjects:
            raise doc.error(at + ("subject",), f"unknown subject type '{subject}'")
        table = datamap.subject(subject).table
    elif action in ("delete", "anonymise", "release"):
        if not isinstance(table, str):
            raise doc.error(at, "missing required key 'table'")
        if action == "release" and (table not in datamap.tables or datamap.tables[table].erasure.hold is None):
            raise doc.error(at + ("table",), f"'{table}' has no legal hold in the data map, so nothing is released")
        if action == "anonymise" and table not in datamap.tables:
            raise doc.error(at + ("table",), f"'{table}' is not in the data map, so it has no column rules")
        if action == "anonymise" and not any(c.erasure in ("erase", "replace") for c in datamap.tables[table].columns.values()):
            raise doc.error(at + ("table",), f"'{table}' has no column the data map erases or replaces")
    older_than = raw.get("older_than")
    if action == "outbox" and older_than is None:
        raise doc.error(at, "missing required key 'older_than' (how long sent mail is kept)")
    if older_than is not None:
        try:
            older_than = parse_duration(str(older_than))
        except UsageError as exc:
            raise doc.error(at + ("older_than",), str(exc)) from None
        if "age_column" not in raw and action != "outbox":
            raise doc.error(at, "missing required key 'age_column' (older_than needs a date column)")
    where = raw.get("where") or {}
    if not isinstance(where, dict):
        raise doc.error(at + ("where",), "expected a mapping of column: value (or list of values)")
    return BulkSpec(name=name, action=action, table=table, subject=subject if action == "erase" else None,
                    where={str(k): [str(x) for x in (v if isinstance(v, list) else [v])] for k, v in where.items()},
                    age_column=raw.get("age_column"), older_than=older_than,
                    batch_size=_int(doc, at + ("batch_size",), raw.get("batch_size", batch_size), 1, 50_000),
                    max_share=float(raw.get("max_share", max_share)))


def check_against_schema(config: RetentionConfig, live: dict[str, dict]) -> None:
    """Every table and column a policy names exists in the system database (`live`: its tables' columns,
    from `live_columns`)."""
    doc = Located(config.path)
    tables = set(live)
    for name, policy in config.policies.items():
        spec, at = policy.spec, ("policies", name)
        if spec.table is None:
            continue
        if spec.table not in tables:
            raise doc.error(at + ("table",), f"unknown table '{spec.table}' in the system database")
        columns = set(live[spec.table])
        for key, col in [("age_column", spec.age_column)] + [(("where", c), c) for c in spec.where]:
            if col is not None and col not in columns:
                path = at + (key if isinstance(key, tuple) else (key,))
                raise doc.error(path, f"unknown column '{col}' in table '{spec.table}'")
        if spec.action in ("delete", "anonymise", "release") and "id" not in columns:
            raise doc.error(at + ("table",), f"table '{spec.table}' has no id column to work through in batches")
    crm = config.crm_purge  # `/gdpr crm purge` reads these columns: a typo must fail here, not at the first purge
    if crm.table not in tables:
        raise doc.error(("crm_purge", "subject"), f"the table '{crm.table}' of subject '{crm.subject}' is not in the "
                                                  "system database")
    columns = set(live[crm.table])
    for key in ("age_column", "status_column"):
        if getattr(crm, key) not in columns:
            raise doc.error(("crm_purge", key), f"unknown column '{getattr(crm, key)}' in table '{crm.table}'")


def crm_purge_spec(config: RetentionConfig, options: dict[str, str], clubs: dict[str, str]) -> BulkSpec:
    """The spec of `/gdpr crm purge ...`; UsageError (with what is allowed) for an unknown status, club or duration."""
    crm = config.crm_purge
    status = options.get("status", crm.default_status)
    if status not in crm.statuses:
        raise UsageError(f"`{status[:30]}` is not a status `/gdpr crm purge` may remove. "
                         f"Allowed: {', '.join(f'`{s}`' for s in crm.statuses)}.")
    club = options.get("club")
    if club is not None and club not in clubs:
        raise UsageError(f"There is no club `{club[:40]}`. Clubs: {', '.join(f'`{c}`' for c in sorted(clubs))}.")
    older = parse_duration(options["older-than"]) if "older-than" in options else None
    return BulkSpec(name="crm-purge", action="erase", table=crm.table, subject=crm.subject,
                    where={crm.status_column: [status]}, club_id=clubs.get(club) if club else None, club_code=club,
                    age_column=crm.age_column, older_than=older, batch_size=config.batch_size,
                    max_share=1.0)  # always approved by the DPO, whatever its share
