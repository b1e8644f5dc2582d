"""config/breaches.yaml: where alerts go, the clock's reminders, the contact point, the sender."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from gdpr.core.yamlconf import ANY, BOOL, Located, Schema

KINDS = {"confidentiality": "Confidentiality (disclosure or access)", "integrity": "Integrity (alteration)",
         "availability": "Availability (loss of access or destruction)"}
SUBJECT_CATEGORIES = {"members": "Club members", "minors": "Members under 18", "leads": "CRM leads (prospects)",
                      "staff": "Club staff", "contacts": "Emergency contacts"}


@dataclass(frozen=True)
class BreachConfig:
    channel: str
    dedicated_channel: bool
    deadline_hours: int
    reminders: tuple[int, ...]
    snooze_minutes: int
    late_after_hours: int
    contact: str
    escalate_to: str | None
    sender: str
    member_batch_size: int


BREACHES: Schema = {**{k: ANY for k in ("version", "channel", "deadline_hours", "reminders", "snooze_minutes",
                                         "late_after_hours", "contact", "escalate_to", "sender", "member_batch_size")},
                    "dedicated_channel": BOOL}


def load_breach_config(path: Path) -> BreachConfig:
    doc = Located(path)
    doc.only(BREACHES)
    raw = doc.data if isinstance(doc.data, dict) else {}
    deadline = doc.require(raw, (), "deadline_hours", int)
    marks = raw.get("reminders", [24, 48, 60, 70])
    if not isinstance(marks, list) or not all(isinstance(h, int) and 0 < h < deadline for h in marks):
        raise doc.error(("reminders",), f"expected a list of hours between 1 and {deadline - 1}")
    for key in ("snooze_minutes", "late_after_hours", "member_batch_size"):
        value = raw.get(key)
        if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
            raise doc.error((key,), "expected a whole number above 0")
    return BreachConfig(channel=doc.require(raw, (), "channel"), dedicated_channel=raw.get("dedicated_channel", False),
                        deadline_hours=deadline, reminders=tuple(sorted(set(marks))),
                        snooze_minutes=raw["snooze_minutes"], late_after_hours=raw["late_after_hours"],
                        contact=doc.require(raw, (), "contact"), escalate_to=raw.get("escalate_to"),
                        sender=doc.require(raw, (), "sender"), member_batch_size=raw["member_batch_size"])
