"""One outbox, for everything that must reach someone outside (a recipient's API, a club's inbox).

A row is written in the same unit of work as the decision that calls for it, then delivered by a job:
the job *claims* it (pending, or retrying whose time has come → sending, with a lease of its own),
sends it, and *settles* it (sent, or retrying after a backoff kept in the database, or given up).
Only a claimed row can be settled, so two deliveries of one message send it once. A sender that died
mid-send leaves a row in `sending` past its lease; `due` hands it out again (recipients deduplicate on
the idempotency key), along with rows whose delivery message the queue may have lost.

Any mapped class with id, status, attempts, next_attempt_at and last_error takes part; what else a
settlement writes (an audit event, a timeline entry) goes in the caller's session, with it.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from gdpr.core.db import Database, changed

PENDING, SENDING, RETRYING, SENT = "pending", "sending", "retrying", "sent"
SENDABLE = (PENDING, RETRYING)
MAX_BACKOFF = dt.timedelta(minutes=15)
# One send is bounded by its timeouts (HTTP 10 s, SMTP 15 s); a claim held past this lease belongs to a sender
# that died, and the row is handed out again (with the same idempotency key).
SEND_LEASE_FLOOR = dt.timedelta(seconds=60)


def send_lease(job_lease_seconds: int) -> dt.timedelta:
    """How long a claimed row stays with its sender: the job lease, never shorter than the floor."""
    return max(dt.timedelta(seconds=job_lease_seconds), SEND_LEASE_FLOOR)


def backoff(attempts: int, base_s: float) -> dt.timedelta:
    """base, 2·base, 4·base, ... after the 1st, 2nd, 3rd failed attempt; at most 15 minutes."""
    return min(dt.timedelta(seconds=base_s * 2 ** max(attempts - 1, 0)), MAX_BACKOFF)


class Outbox:
    def __init__(self, db: Database, clock: Callable[[], dt.datetime], *,
                 sending_for: dt.timedelta = SEND_LEASE_FLOOR) -> None:
        self.db, self.clock, self.sending_for = db, clock, sending_for

    def claim(self, model: Any, item_id: int) -> Any | None:
        """Take a row that is due for sending; None when another delivery has it, it is not due yet,
        or it is settled. The returned copy is detached (read it after the session closed)."""
        now = self.clock()
        with self.db.session() as s:
            won = changed(s.execute(update(model).where(
                model.id == item_id, model.status.in_(SENDABLE),
                or_(model.next_attempt_at.is_(None), model.next_attempt_at <= now))
                .values(status=SENDING, attempts=model.attempts + 1,
                        next_attempt_at=now + self.sending_for)))
            if not won:
                return None
            item = s.get(model, item_id)
            s.expunge(item)
            return item

    def settle(self, s: Session, model: Any, item_id: int, status: str, **values: object) -> bool:
        """sending → `status` in the caller's unit of work; False if this delivery no longer holds it."""
        return changed(s.execute(update(model).where(model.id == item_id, model.status == SENDING)
                         .values(status=status, **values))) == 1

    def sent(self, s: Session, model: Any, item_id: int, **values: object) -> bool:
        return self.settle(s, model, item_id, SENT, last_error=None, next_attempt_at=None, **values)

    def retry_later(self, s: Session, model: Any, item_id: int, *, error: str, delay: dt.timedelta) -> bool:
        return self.settle(s, model, item_id, RETRYING, last_error=error[:200],
                           next_attempt_at=self.clock() + delay)

    def due(self, model: Any, *, grace: dt.timedelta) -> list[int]:
        """Rows whose delivery may have been lost: senders that died (their lease passed) are due at
        once; pending or retrying rows once they have been due for longer than `grace`."""
        now = self.clock()
        with self.db.session() as s:
            revived = list(s.execute(update(model).where(model.status == SENDING, model.next_attempt_at < now)
                                     .values(status=RETRYING, next_attempt_at=now).returning(model.id)).scalars())
            waiting = s.execute(select(model.id).where(
                model.status.in_(SENDABLE),
                or_(model.next_attempt_at.is_(None), model.next_attempt_at < now - grace))).scalars()
            return sorted(set(revived) | set(waiting))
