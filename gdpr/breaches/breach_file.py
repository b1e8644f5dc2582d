"""`/gdpr breach file B-12`: one breach documented for a supervisory authority (Art. 33(5): "the facts
relating to the personal data breach, its effects and the remedial action taken"), signed and encrypted.

The file holds the register entry, the whole timeline, every notice sent to a club (its Message-ID, when,
to which club, the phase, and why it was late where it was), the members told (how many and when: never who), the clubs' instructions, and each decision with its reasons. It is signed with the processor's
Ed25519 key for breach files (`breach-file`: published with the others, `gdpr-bot verify` checks it against
a pinned key) and put in an AES-256 zip whose passphrase goes to the DPO only, like the register."""
from __future__ import annotations

import datetime as dt
import secrets
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from gdpr.breaches.register_file import breach_record
from gdpr.breaches.service import REF, BreachService
from gdpr.core import models as m
from gdpr.core.crypto import canonical, sign_document, write_aes_zip
from gdpr.core.keyring import KeyRing

PURPOSE = "breach-file"
KIND = "gdpr-ops-bot breach file"
DECISIONS = {  # the register's decisions, each with the field that holds its reasons
    "risk": ("risk", "notify_reasoning", "Art. 33(1) and Art. 34(1): the risk to people, and whether clubs are told"),
    "members": ("members_decision", "members_reasoning", "Art. 34: whether the people concerned are told"),
    "delay": (None, "delay_reason", "Art. 33(1): the reasons for a notification later than 72 hours"),
    "close": ("remedial_actions", "decision_reasoning", "Art. 33(5): the remedial action taken"),
}


def _iso(value: dt.datetime | None) -> str | None:
    if value is None:
        return None
    return (value if value.tzinfo else value.replace(tzinfo=dt.UTC)).isoformat()


def statement(service: BreachService, breach: m.Breach, clubs: dict[str, tuple[str, str]],
              now: dt.datetime) -> dict[str, Any]:
    """What is documented; `clubs`: club key -> (code, name)."""
    def club(key: str) -> dict[str, str]:
        code, name = clubs.get(str(key), (str(key), str(key)))
        return {"club": code, "name": name}

    entry = breach_record(service, breach)
    notices = [{**club(n.club_id), "phase": n.phase, "status": n.status, "message_id": n.message_id,
                "sent_at": _iso(n.sent_at), "attempts": n.attempts, "late_reason": n.late_reason}
               for n in sorted(service.notices(breach.id), key=lambda n: (n.phase, clubs.get(n.club_id, ("",))[0]))]
    decisions = []
    for name, (value, reason, article) in DECISIONS.items():
        if getattr(breach, reason) or (value and getattr(breach, value) not in (None, "unassessed")):
            decisions.append({"decision": name, "value": getattr(breach, value) if value else None,
                              "reasons": getattr(breach, reason), "article": article})
    steps = {e.kind: e for e in service.events(breach.id)}
    instructed = [club(k) for k in breach.members_instructed or []]
    return {
        "file": KIND, "version": 1, "breach": f"{REF}{breach.id}", "generated_at": _iso(now),
        "article": "Art. 33(5) GDPR",
        "register_entry": {k: v for k, v in entry.items() if k not in ("notices", "timeline")},
        "deadline": entry["deadline"],
        "timeline": entry["timeline"],
        "notices_to_clubs": notices,
        "members_told": {"decision": breach.members_decision, "status": breach.members_status,
                         "total": breach.members_total, **_members_sent(service, breach.id),
                         "approved_at": _iso(steps["members_send"].at) if "members_send" in steps else None},
        "clubs_instructions": {"members_notified_on_the_instruction_of": instructed,
                               "recorded_at": _iso(steps["members"].at) if "members" in steps else None},
        "decisions": decisions,
    }


def _members_sent(service: BreachService, breach_id: int) -> dict[str, Any]:
    """How many members were told and between which times (who they are stays in the bot's database)."""
    n = m.BreachMemberNotice
    with service.db.session() as s:
        total, first, last = s.execute(select(func.count(), func.min(n.sent_at), func.max(n.sent_at))
                                       .where(n.breach_id == breach_id)).one()
    return {"sent": total, "first_sent_at": _iso(first), "last_sent_at": _iso(last)}


def build_file(service: BreachService, ring: KeyRing, breach_id: int, clubs: Callable[[list[str]], dict[str, tuple[str, str]]],
               export_dir: Path, passphrase: str) -> Path:
    """The signed statement (canonical JSON, the bytes `gdpr-bot verify` checks) in an AES-256 zip; the name
    carries no personal data."""
    breach = service.get(breach_id)
    doc = sign_document(statement(service, breach, clubs([str(c) for c in breach.clubs]), service.clock()),
                        ring.signer(PURPOSE))
    export_dir.mkdir(parents=True, exist_ok=True)
    work = export_dir / f".work-breach-{secrets.token_hex(4)}"
    work.mkdir(mode=0o700)
    name = f"{REF}{breach.id}.json"
    try:
        (work / name).write_bytes(canonical(doc) + b"\n")
        dest = export_dir / f"export-breach-file-{REF}{breach.id}-{secrets.token_hex(4)}.zip"
        write_aes_zip(dest, [(name, work / name)], passphrase)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return dest
