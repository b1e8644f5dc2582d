"""Which breach (or reminder) a button on a breach alert names. The listeners, one per file, are
breach_notify, breach_assess, breach_members_send and breach_snooze; the DPO's right to act is
checked server-side (breach.manage), in the domain, and refusals are audited."""
from __future__ import annotations

from gdpr.core.errors import BreachNotFound


def value_of(body: dict) -> str:
    return (body.get("actions") or [{}])[0].get("value", "")


def breach_id_of(value: str) -> int:
    head = value.split(":", 1)[0]
    if not head.isdigit():
        raise BreachNotFound("That button does not belong to a breach.")
    return int(head)
