"""The append-only, hash-chained audit log.

Each event's hash is an HMAC (keyed with SECRET_KEY) over the previous hash and the
event's canonical content, so editing, deleting or reordering any event breaks the chain,
and someone with write access to the table but not the key cannot forge a new one.
Events name subjects only by a keyed pseudonym (HMAC of the subject's internal key), never by their
name, email or other identifiers in the clear. A keyed pseudonym is still personal data (Art. 4(5)
GDPR: pseudonymised data is data on an identifiable person for whoever holds the key), so the log is
protected like the rest of the state database, and an erased subject's pseudonym points at a row that
no longer identifies anyone.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from gdpr.core.models import AuditEvent, AuditHead

GENESIS = "0" * 64


def subject_pseudonym(secret: bytes, subject_type: str, subject_key: str) -> str:
    """A keyed pseudonym for a subject: stable, not reversible without the key and the system DB."""
    return hmac.new(secret, f"subject:{subject_type}:{subject_key}".encode(), hashlib.sha256).hexdigest()[:32]


def _canonical(details: dict) -> str:
    return json.dumps(details, sort_keys=True, separators=(",", ":"), default=str)


def _event_hash(secret: bytes, prev_hash: str, seq: int, at: str, actor: str, action: str,
                request_id: int | None, subject_ref: str | None, details: str) -> str:
    body = "\x1f".join([prev_hash, str(seq), at, actor, action, str(request_id or ""), subject_ref or "", details])
    return hmac.new(secret, body.encode(), hashlib.sha256).hexdigest()


class AuditLog:
    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def record(self, session: Session, *, actor: str, action: str, request_id: int | None = None,
               subject_ref: str | None = None, **details: Any) -> int:
        """Append one event inside the caller's unit of work; returns its sequence number."""
        return self.record_many(session, [Event(actor, action, request_id, subject_ref, details)])

    def record_many(self, session: Session, events: Sequence[Event]) -> int:
        """Append events in order inside the caller's unit of work, in three statements whatever their
        number; returns the last one's sequence number."""
        # The UPDATE takes the head's row lock (PostgreSQL) / the write lock (SQLite) first,
        # so concurrent appends serialise and the chain never forks.
        session.execute(update(AuditHead).where(AuditHead.id == 1).values(seq=AuditHead.seq + len(events)))
        head = session.execute(
            select(AuditHead).where(AuditHead.id == 1).execution_options(populate_existing=True)
        ).scalar_one()
        seq, last, rows = head.seq - len(events), head.last_hash, []
        for event in events:
            seq += 1
            at = dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")
            body = _canonical(event.details)
            digest = _event_hash(self._secret, last, seq, at, event.actor, event.action, event.request_id,
                                 event.subject_ref, body)
            rows.append({"seq": seq, "at": at, "actor": event.actor, "action": event.action,
                         "request_id": event.request_id, "subject_ref": event.subject_ref, "details": body,
                         "prev_hash": last, "hash": digest})
            last = digest
        session.execute(insert(AuditEvent), rows)
        head.last_hash = last
        session.flush()
        return seq


@dataclass(frozen=True)
class Event:
    """One event to append: who did what, about which request and subject (by pseudonym), with what."""
    actor: str
    action: str
    request_id: int | None
    subject_ref: str | None
    details: dict[str, Any]


@dataclass
class VerifyReport:
    events: int
    problems: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_chain(session: Session, keys: Sequence[bytes]) -> VerifyReport:
    """Walk the chain in order; report edited, deleted, inserted or reordered events. `keys`: the key ring,
    newest first (events written before a rotation are checked with the key they were written with)."""
    problems: list[str] = []
    prev, expected_seq, count = GENESIS, 1, 0
    rows = session.execute(select(AuditEvent).order_by(AuditEvent.seq)).scalars()
    for ev in rows:
        count += 1
        if ev.seq != expected_seq:
            problems.append(f"event {ev.seq}: expected sequence {expected_seq} (an event was deleted or reordered)")
        if ev.prev_hash != prev:
            problems.append(f"event {ev.seq}: previous-hash link broken (deleted, inserted or reordered)")
        if not any(_event_hash(key, ev.prev_hash, ev.seq, ev.at, ev.actor, ev.action, ev.request_id,
                               ev.subject_ref, ev.details) == ev.hash for key in keys):
            problems.append(f"event {ev.seq}: content does not match its hash (edited)")
        prev, expected_seq = ev.hash, ev.seq + 1
    head = session.get(AuditHead, 1)
    if head is not None and (head.seq != expected_seq - 1 or head.last_hash != prev):
        problems.append(f"chain ends at event {expected_seq - 1} but the head records event {head.seq} "
                        "(events were deleted from the end)")
    return VerifyReport(events=count, problems=problems)
