"""`/gdpr breach register`: the whole Art. 33(5) register as an AES-256 zip (JSON, a CSV of breaches,
and every breach's timeline), like an export: the passphrase goes to the requester only."""
from __future__ import annotations

import csv
import datetime as dt
import json
import secrets
import shutil
from pathlib import Path

from gdpr.breaches.service import REF, BreachService
from gdpr.core import models as m
from gdpr.core.crypto import write_aes_zip

FIELDS = ["status", "reported_by", "reported_at", "detected_at", "aware_at", "kinds", "description",
          "data_categories", "subject_categories", "approx_people", "approx_records", "clubs", "consequences",
          "measures", "contact", "risk", "notify_reasoning", "members_decision", "members_reasoning",
          "delay_reason", "remedial_actions", "decision_reasoning", "phase", "closed_at", "closed_by",
          "members_total", "members_done"]


def _value(value: object) -> object:
    return value.isoformat() if isinstance(value, (dt.date, dt.datetime)) else value


def breach_record(service: BreachService, breach: m.Breach) -> dict:
    return {"ref": f"{REF}{breach.id}", **{f: _value(getattr(breach, f)) for f in FIELDS},
            "deadline": service.deadline(breach).isoformat(),
            "notices": [{"club": n.club_id, "phase": n.phase, "status": n.status, "attempts": n.attempts,
                         "sent_at": _value(n.sent_at), "late_reason": n.late_reason}
                        for n in service.notices(breach.id)],
            "timeline": [{"at": _value(e.at), "actor": e.actor, "step": e.kind, "text": e.text}
                         for e in service.events(breach.id)]}


def build_register(service: BreachService, export_dir: Path, passphrase: str) -> tuple[Path, int]:
    """Write the encrypted register; returns (path, breaches). The name carries no personal data."""
    export_dir.mkdir(parents=True, exist_ok=True)
    work = export_dir / f".work-register-{secrets.token_hex(4)}"
    work.mkdir(mode=0o700)
    try:
        records = [breach_record(service, b) for b in service.all()]
        doc = {"format": "gdpr-ops-bot/breach-register", "version": 1,
               "generated_at": dt.datetime.now(dt.UTC).isoformat(), "breaches": records}
        (work / "register.json").write_text(json.dumps(doc, indent=2, ensure_ascii=False), encoding="utf-8")
        with open(work / "register.csv", "w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(["ref", *FIELDS])
            for r in records:
                writer.writerow([r["ref"], *[json.dumps(r[f]) if isinstance(r[f], list) else r[f] for f in FIELDS]])
        dest = export_dir / f"export-breach-register-{secrets.token_hex(4)}.zip"
        write_aes_zip(dest, [("register.json", work / "register.json"), ("register.csv", work / "register.csv")],
                      passphrase)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return dest, len(records)
