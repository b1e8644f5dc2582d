"""The Slack replay guard: a signed request is acted on once. Its key (a hash of its timestamp and
signature) goes into the state DB, whose primary key refuses the second insert, on any replica, across
a Redis outage or restart. Bolt refuses requests older than Slack's 5-minute window, so keys older than
that are pruned. If the state DB cannot be reached the request is refused (Unchecked): nothing it asked
could have been done anyway, and a replay must never get through."""
from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable

from sqlalchemy import delete, insert
from sqlalchemy.exc import IntegrityError

from gdpr.core import models as m
from gdpr.core.db import Database
from gdpr.core.errors import GdprError

WINDOW = dt.timedelta(minutes=5)
PRUNE_EVERY = 200  # inserts between two prunes of this process


class Unchecked(GdprError):
    """The guard could not check the request (the state DB did not answer)."""


class SeenRequests:
    def __init__(self, db: Database, clock: Callable[[], dt.datetime]) -> None:
        self.db, self.clock, self._count = db, clock, 0

    def first_time(self, signature: str, timestamp: str) -> bool:
        """True the first time this signed request is seen; False for a replay; Unchecked if unknown."""
        key, now = hashlib.sha256(f"{timestamp}:{signature}".encode()).hexdigest(), self.clock()
        try:  # one Core INSERT on the ack's path (no ORM unit of work: this runs before every ack)
            with self.db.engine.begin() as conn:
                conn.execute(insert(m.SeenSlackRequest).values(key=key, seen_at=now))
        except IntegrityError:
            return False
        except Exception as exc:  # the state DB is down: refuse rather than risk a replay
            raise Unchecked("The bot cannot check this request right now; try again in a minute.") from exc
        self._count += 1
        if self._count % PRUNE_EVERY == 1:
            self.prune(now)
        return True

    def prune(self, now: dt.datetime | None = None) -> int:
        with self.db.session() as s:
            gone = s.execute(delete(m.SeenSlackRequest).where(m.SeenSlackRequest.seen_at < (now or self.clock()) - WINDOW))
            return int(gone.rowcount or 0)  # type: ignore[attr-defined]
