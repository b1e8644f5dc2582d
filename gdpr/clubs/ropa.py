"""The record of processing activities of the processor (Art. 30(2)), generated from what the bot already
knows: the data map (every table and column category, their purposes, legal bases and retention), the
clubs it processes for (the controllers), the recipients and sub-processors (the integrations, Slack
itself), transfers and the security measures from the data map's disclosures. Each generation that
differs from the last is kept as a new version with what changed, so the record has a history."""
from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Engine, column, select, table
from sqlalchemy.exc import IntegrityError

from gdpr.core import models as m
from gdpr.core.datamap import DataMap
from gdpr.core.db import Database

# Slack carries requests, cards and files: a sub-processor of the processor, named whatever the config says
SLACK = {"name": "Slack Technologies (Salesforce)", "purpose": "the DPO's approvals, request status, encrypted "
         "exports in threads; subjects masked", "country": "US (EU-US Data Privacy Framework)"}


@dataclass(frozen=True)
class Version:
    number: int
    created_at: dt.datetime
    record: dict
    changes: list[str]


def build_record(datamap: DataMap, system: Engine, now: dt.datetime, keys: dict[str, list[str]] | None = None) -> dict:
    """The record as it stands (plain JSON values, sorted: the same inputs give the same record); `keys`: the
    public keys that verify what the processor signs, by purpose (certificates, offboarding statements)."""
    categories = datamap.categories(list(datamap.tables.values()))
    disclosures = datamap.disclosures
    return {
        "processor": {**datamap.processor, "dpo": disclosures.get("dpo", {})},
        "controllers": _controllers(datamap, system),
        "categories_of_processing": {
            name: {k: sorted(v) for k, v in sorted(entry.items())} for name, entry in sorted(categories.items())},
        "tables": {spec.name: sorted({c.category for c in spec.columns.values()}) for spec in
                   sorted(datamap.tables.values(), key=lambda t: t.name)},
        "recipients": {k: v for k, v in sorted(datamap.recipients.items())},
        "subprocessors": sorted([*disclosures.get("subprocessors", []), SLACK], key=lambda s: s["name"]),
        "transfers": disclosures.get("transfers", ""),
        "security_measures": list(disclosures.get("security_measures", [])),
        **({"signing_keys": {"algorithm": "Ed25519", **{p: list(k) for p, k in sorted(keys.items())}}} if keys else {}),
        "generated_on": now.date().isoformat(),
    }


def _controllers(datamap: DataMap, system: Engine) -> list[dict]:
    ctl = datamap.controllers
    clubs = table(ctl.table, column(ctl.code), column(ctl.name), column(ctl.contact_name), column(ctl.contact_email))
    with system.connect() as conn:
        rows = conn.execute(select(clubs.c[ctl.code], clubs.c[ctl.name], clubs.c[ctl.contact_name],
                                   clubs.c[ctl.contact_email]).order_by(clubs.c[ctl.code])).all()
    return [{"code": str(c), "name": n, "contact": cn, "email": e} for c, n, cn, e in rows]


def changes(before: dict | None, after: dict) -> list[str]:
    """What changed between two versions, in words (sections compared by their keys and names)."""
    if before is None:
        return ["first version"]
    out = []
    for section, key in (("categories_of_processing", None), ("tables", None), ("recipients", None),
                         ("controllers", "code"), ("subprocessors", "name")):
        old, new = before.get(section) or {}, after.get(section) or {}
        if key:
            old, new = {e[key]: e for e in old}, {e[key]: e for e in new}
        for name in sorted(set(new) - set(old)):
            out.append(f"{section}: added {name}")
        for name in sorted(set(old) - set(new)):
            out.append(f"{section}: removed {name}")
        for name in sorted(set(old) & set(new)):
            if old[name] != new[name]:
                out.append(f"{section}: changed {name}")
    for section in ("processor", "transfers", "security_measures", "signing_keys"):
        if before.get(section) != after.get(section):
            out.append(f"{section}: changed")
    return out


class RecordOfProcessing:
    def __init__(self, db: Database, datamap: DataMap, system: Engine, clock: Callable[[], dt.datetime],
                 keys: Callable[[], dict[str, list[str]]] | None = None) -> None:
        self.db, self.datamap, self.system, self.clock, self.keys = db, datamap, system, clock, keys

    def current(self) -> Version:
        """The record now: the latest version, or a new one when anything changed since (with what)."""
        now = self.clock()
        record = build_record(self.datamap, self.system, now, self.keys() if self.keys else None)
        body = {k: v for k, v in record.items() if k != "generated_on"}
        digest = hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()
        r = m.RopaVersion
        with self.db.session() as s:
            last = s.execute(select(r).order_by(r.number.desc()).limit(1)).scalar()
            if last is not None and last.digest == digest:
                return Version(last.number, last.created_at, json.loads(last.record), json.loads(last.changes))
            found = changes(json.loads(last.record) if last else None, record)
            number = (last.number + 1) if last else 1
        try:
            with self.db.session() as s:
                s.add(r(number=number, created_at=now, digest=digest, changes=json.dumps(found),
                        record=json.dumps(record, sort_keys=True, default=str)))
        except IntegrityError:  # another process wrote this version at the same moment: theirs is the record
            return self.current()
        return Version(number, now, record, found)
