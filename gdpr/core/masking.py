"""Masking of personal data for staff who may not see it in full."""
from __future__ import annotations

BULLET = "•"  # not '*', which Slack's mrkdwn would read as bold


def mask_word(word: str) -> str:
    return word[:1] + BULLET * 3 if word else ""  # fixed width: the length is not shown either


def mask_name(name: str | None) -> str:
    if not name:
        return "—"
    return " ".join(mask_word(w) for w in name.split())


def mask_email(email: str | None) -> str:
    if not email or "@" not in email:
        return "—"
    local, _, domain = email.partition("@")
    host, dot, tld = domain.rpartition(".")
    return f"{local[:1]}{BULLET * 3}@{host[:1]}{BULLET * 3}{dot}{tld}"


def mask_phone(phone: str | None) -> str:
    digits = [c for c in (phone or "") if c.isdigit()]
    if len(digits) < 4:
        return "—"
    return f"{BULLET * 6}{''.join(digits[-2:])}"
