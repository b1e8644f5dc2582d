"""Right of access / portability: gather everything the data map names for one subject.

Rows stream from the database (server-side cursor on PostgreSQL) straight into one CSV per
table and one JSON document, so memory stays flat however many rows a subject has. The
archive also holds a JSON Schema and an HTML summary answering Art. 15(1)(a)-(h).
"""
from __future__ import annotations

import csv
import datetime as dt
import decimal
import json
import secrets
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from sqlalchemy import Engine, column, literal, select, table

from gdpr.core.crypto import write_aes_zip
from gdpr.core.datamap import DataMap, TableSpec
from gdpr.core.scope import Keys, subject_rows
from gdpr.core.templating import Templates
from gdpr.requests.others import KeptBack, Redactor

BATCH = 2000
ACCESS_FORMAT = "gdpr-ops-bot/access-export"
RETURN_FORMAT = "gdpr-ops-bot/club-return"


@dataclass
class ExportFile:
    path: Path
    name: str
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def rows(self) -> int:
        return sum(self.counts.values())


def _plain(value: object) -> object:
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    return value


class Exporter:
    def __init__(self, engine: Engine, datamap: DataMap, templates: Templates, export_dir: Path) -> None:
        self._engine, self._map, self._templates, self._dir = engine, datamap, templates, export_dir

    def build(self, *, request_id: int, kind: str, key: str, passphrase: str) -> ExportFile:
        """Write the encrypted archive for one subject; the file name carries no personal data."""
        self._dir.mkdir(parents=True, exist_ok=True)
        name = f"export-R{request_id}-{secrets.token_hex(4)}.zip"
        work = self._dir / f".work-{request_id}-{secrets.token_hex(4)}"
        work.mkdir(mode=0o700)
        try:
            kept = KeptBack()  # the subject's own copy: other people's data stays out (Art. 15(4))
            counts = self._write_data(work, kind, key, {"format": ACCESS_FORMAT, "version": 1,
                                                        "request": f"R-{request_id}", "subject_type": kind}, kept)
            (work / "schema.json").write_text(json.dumps(self.schema(kind, withhold=True), indent=2))
            (work / "summary.html").write_text(self._summary(request_id, kind, key, counts, kept), encoding="utf-8")
            files = [("summary.html", work / "summary.html"), ("data.json", work / "data.json"),
                     ("schema.json", work / "schema.json")]
            files += [(f"csv/{t}.csv", work / f"{t}.csv") for t in counts]
            write_aes_zip(self._dir / name, files, passphrase)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        return ExportFile(path=self._dir / name, name=name, counts=counts)

    def build_return(self, *, name: str, parts: Sequence[tuple[str, Keys]], header: dict, passphrase: str) -> ExportFile:
        """Many subjects in one archive (a club's, returned at offboarding): per subject type its data.json,
        its schema and a CSV per table, streamed like one subject's; counts are `type/table`."""
        self._dir.mkdir(parents=True, exist_ok=True)
        work = self._dir / f".work-{name}-{secrets.token_hex(4)}"
        work.mkdir(mode=0o700)
        try:
            counts, files = {}, []
            for kind, keys in parts:
                (work / kind).mkdir()
                found = self._write_data(work / kind, kind, keys, {"format": RETURN_FORMAT, "version": 1, **header,
                                                                   "subject_type": kind})
                schema = self.schema(kind)
                schema["properties"]["format"] = {"const": RETURN_FORMAT}
                (work / kind / "schema.json").write_text(json.dumps(schema, indent=2))
                files += [(f"{kind}/data.json", work / kind / "data.json"), (f"{kind}/schema.json", work / kind / "schema.json")]
                files += [(f"{kind}/csv/{t}.csv", work / kind / f"{t}.csv") for t in found]
                counts.update({f"{kind}/{t}": n for t, n in found.items()})
            (work / "manifest.json").write_text(json.dumps({**header, "format": RETURN_FORMAT, "rows": counts}, indent=2))
            write_aes_zip(self._dir / name, [("manifest.json", work / "manifest.json"), *files], passphrase)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        return ExportFile(path=self._dir / name, name=name, counts=counts)

    def _write_data(self, work: Path, kind: str, key: Keys, header: dict, kept: KeptBack | None = None) -> dict[str, int]:
        """data.json and a CSV per table. With `kept` (a subject's own copy) other people's data is withheld or
        redacted as the data map says, and what was is counted there and listed in data.json."""
        counts: dict[str, int] = {}
        redact = Redactor(self.own_details(kind, str(key)), self._map.third_party_patterns) if kept is not None else None
        with open(work / "data.json", "w", encoding="utf-8") as out:
            out.write(json.dumps({**header, "generated_at": dt.datetime.now(dt.UTC).isoformat()})[:-1])
            out.write(', "tables": {')
            for i, spec in enumerate(self._map.tables_for(kind)):
                out.write(("," if i else "") + f"\n{json.dumps(spec.name)}: [")
                counts[spec.name] = self._stream_table(spec, kind, key, out, work / f"{spec.name}.csv", redact, kept)
                out.write("]")
            out.write("\n}")
            if kept is not None:
                out.write(f', "withheld_for_others": {json.dumps(kept.as_json(), ensure_ascii=False)}')
            out.write("}\n")
        return counts

    def own_details(self, kind: str, key: str) -> list[object]:
        """The subject's own name, email and phone (what a redaction of free text leaves: they are theirs)."""
        subject = self._map.subject(kind)
        cols = [c for spec in subject.display.values() for c in ((spec,) if isinstance(spec, str) else spec)]
        with self._engine.connect() as conn:
            row = conn.execute(select(*[column(c) for c in cols]).select_from(table(subject.table)).where(
                column(subject.key) == (int(key) if key.isdigit() else key))).first()
        return list(row) if row else []

    def _stream_table(self, spec: TableSpec, kind: str, key: Keys, out: IO[str], csv_path: Path,
                      redact: Redactor | None = None, kept: KeptBack | None = None) -> int:
        cols = spec.exported_columns(withhold=kept is not None)
        redacted = [i for i, c in enumerate(cols) if c in spec.redacted()] if redact is not None else []
        passages, touched = 0, 0
        order = column(spec.context[0]) if spec.context else column(cols[0])
        query = (select(*[column(c) for c in cols]).select_from(table(spec.name))
                 .where(subject_rows(self._map, spec, kind, key, self._engine.dialect.name)).order_by(order))
        n = 0
        with open(csv_path, "w", newline="", encoding="utf-8") as fh, self._engine.connect() as conn:
            writer = csv.writer(fh)
            writer.writerow(cols)
            result = conn.execution_options(stream_results=True, yield_per=BATCH).execute(query)
            for part in result.partitions():
                for row in part:
                    values = [_plain(v) for v in row]
                    for i in redacted:
                        text = values[i]
                        if isinstance(text, str) and redact is not None:
                            values[i], found = redact(text)
                            passages, touched = passages + found, touched + bool(found)
                    writer.writerow(values)
                    out.write(("," if n else "") + "\n  " + json.dumps(dict(zip(cols, values, strict=True)), ensure_ascii=False))
                    n += 1
        if kept is not None and n and spec.withheld():
            kept.withheld[spec.name] = {"columns": spec.withheld(), "rows": n}
        if kept is not None and passages:
            kept.redacted[spec.name] = {"columns": spec.redacted(), "passages": passages, "rows": touched}
        return n

    def schema(self, kind: str, *, withhold: bool = False) -> dict:
        """The JSON Schema of `data.json` (Art. 20: structured, machine-readable), from the data map; with
        `withhold`, of a subject's own copy (without the columns kept back for others, Art. 15(4))."""
        tables = {}
        for spec in self._map.tables_for(kind):
            props = {c: {"type": ["string", "number", "integer", "boolean", "null"],
                         "description": (f"{spec.columns[c].category}: {spec.columns[c].purpose}"
                                         if c in spec.columns else "context")}
                     for c in spec.exported_columns(withhold=withhold)}
            tables[spec.name] = {"type": "array", "items": {"type": "object", "properties": props,
                                                            "additionalProperties": False}}
        return {"$schema": "https://json-schema.org/draft/2020-12/schema", "title": "Access export",
                "type": "object", "required": ["format", "version", "tables"],
                "properties": {"format": {"const": ACCESS_FORMAT}, "version": {"const": 1},
                               "request": {"type": "string"}, "subject_type": {"type": "string"},
                               "generated_at": {"type": "string", "format": "date-time"},
                               "tables": {"type": "object", "properties": tables},
                               "withheld_for_others": {
                                   "type": "object", "description": "Art. 15(4): columns left out of this copy "
                                   "(withheld: another person's data) and free text where another person's details "
                                   "were replaced with [redacted], per table"}}}

    def _summary(self, request_id: int, kind: str, key: str, counts: dict[str, int], kept: KeptBack | None = None) -> str:
        kept = kept or KeptBack()
        context = {**self.summary_context(request_id=request_id, kind=kind, key=key, counts=counts),
                   "withheld": kept.withheld, "redacted": kept.redacted}
        return self._templates.render("access_summary.html.j2", self._templates.language(context["controller"]["code"]),
                                      **context)[0]

    def summary_context(self, *, request_id: int, kind: str, key: str, counts: dict[str, int]) -> dict:
        """Everything Art. 15(1)(a)-(h) asks for, built from the data map."""
        by_category = self._map.categories([spec for spec in self._map.tables_for(kind) if counts.get(spec.name)])
        used_recipients = {r for entry in by_category.values() for r in entry["recipients"]}
        # an integration is a recipient of this subject only through a link of theirs (Art. 15(1)(c))
        used_recipients -= self._map.per_link_recipients() - self._linked(kind, key)
        subject = self._map.subject(kind)
        controller = self.controller(kind, key)
        return {
            "request_id": request_id, "generated_on": dt.date.today(), "subject_label": subject.label,
            "controller": controller, "source": subject.source, "processor": self._map.processor,
            "authority": self._map.authority(controller.get("country")),
            "categories": {k: {f: sorted(v) for f, v in d.items()} for k, d in sorted(by_category.items())},
            "recipients": [self._map.recipients[r] for r in sorted(used_recipients)],
            "counts": counts, "disclosures": self._map.disclosures,
        }

    def _linked(self, kind: str, key: str) -> set[str]:
        """The recipients this subject has a link row with (its integrations)."""
        found: set[str] = set()
        with self._engine.connect() as conn:
            for spec in self._map.tables_for(kind):
                if spec.recipients:
                    found |= {str(p) for (p,) in conn.execute(
                        select(column(spec.recipients["provider"])).select_from(table(spec.name)).where(
                            subject_rows(self._map, spec, kind, key, self._engine.dialect.name)).distinct())}
        return found

    def controller(self, kind: str, key: str) -> dict:
        """The subject's club (the controller): name, contact, country, code."""
        ctl, subject = self._map.controllers, self._map.subject(kind)
        subj, clubs = table(subject.table), table(ctl.table)
        country = column(ctl.country, _selectable=clubs) if ctl.country else literal(None)
        query = (select(column(ctl.name, _selectable=clubs), column(ctl.contact_email, _selectable=clubs), country,
                        column(ctl.code, _selectable=clubs))
                 .select_from(clubs.join(subj, column(ctl.key, _selectable=clubs) == column(subject.club, _selectable=subj)))
                 .where(column(subject.key, _selectable=subj) == (int(key) if key.isdigit() else key)))
        with self._engine.connect() as conn:
            row = conn.execute(query).first()
        return {"name": row[0] if row else "your club", "contact": (row[1] if row else None) or "the club's reception",
                "country": row[2] if row else None, "code": str(row[3]) if row else None}
