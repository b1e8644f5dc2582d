"""The Slack replay guard: a signed request is acted on once. Its key (a hash of its timestamp and
signature) goes into the state DB, whose primary key refuses the second insert, on any replica, across
a Redis outage or restart. Bolt refuses requests older than Slack's 5-minute window, so keys older than
that are pruned. If the state DB cannot be reached the request is refused (Unchecked): nothing it asked
could have been done anyway, and a replay must never get through.

The guard is on the path of every ack, so its keys are written in groups: requests that arrive while a
group is being committed wait and go together in the next one (one INSERT ... ON CONFLICT DO NOTHING
RETURNING, one commit), as a database groups its own commits. Each request is still answered only after
its key is durably committed; the group only shares the round trips, the connection and the flush
(measured in benchmarks/ack_latency.py: one transaction per request made the guard, not the bot's work,
the bound on the ack's throughput)."""
from __future__ import annotations

import datetime as dt
import hashlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Connection, delete, text
from sqlalchemy.dialects import sqlite

from gdpr.core import models as m
from gdpr.core.db import Database
from gdpr.core.errors import GdprError

log = logging.getLogger(__name__)

WINDOW = dt.timedelta(minutes=5)
PRUNE_EVERY = 200  # inserts between two prunes of this process
GROUP_MAX = 200  # keys in one INSERT at most
IDLE_PING_S = 5.0  # the guard's connection idle longer than this is checked before use (as the pool's pre-ping)
_INSERT_PG = text(f"INSERT INTO {m.SeenSlackRequest.__tablename__} (key, seen_at) "
                  "SELECT k, :now FROM unnest(CAST(:keys AS text[])) AS k ON CONFLICT (key) DO NOTHING RETURNING key")


class Unchecked(GdprError):
    """The guard could not check the request (the state DB did not answer)."""


@dataclass
class _Seen:
    key: str
    first: bool | None = None  # None until its group is committed
    failed: bool = False


class SeenRequests:
    def __init__(self, db: Database, clock: Callable[[], dt.datetime]) -> None:
        self.db, self.clock, self._count = db, clock, 0
        self._cond = threading.Condition()
        self._waiting: list[_Seen] = []
        self._committing = False
        self._conn: Connection | None = None
        self._used_at = 0.0
        self.idle_ping_s = IDLE_PING_S

    def first_time(self, signature: str, timestamp: str) -> bool:
        """True the first time this signed request is seen; False for a replay; Unchecked if unknown."""
        mine = _Seen(hashlib.sha256(f"{timestamp}:{signature}".encode()).hexdigest())
        with self._cond:
            self._waiting.append(mine)
        while True:
            with self._cond:
                while mine.first is None and not mine.failed and self._committing:
                    self._cond.wait()
                if mine.first is not None or mine.failed:
                    return self._answer(mine)
                self._committing = True  # no group in flight: this thread commits the waiting ones
                group, self._waiting = self._waiting[:GROUP_MAX], self._waiting[GROUP_MAX:]
            try:
                self._commit(group)
            finally:
                with self._cond:
                    self._committing = False
                    self._cond.notify_all()

    @staticmethod
    def _answer(seen: _Seen) -> bool:
        if seen.failed:
            raise Unchecked("The bot cannot check this request right now; try again in a minute.")
        return bool(seen.first)

    def _commit(self, group: list[_Seen]) -> None:
        now, keys = self.clock(), list(dict.fromkeys(s.key for s in group))
        try:
            new = self._execute(keys, now)
        except Exception:  # the state DB is down: refuse rather than risk a replay
            self._drop()
            for s in group:
                s.failed = True
            return
        for s in group:  # the same key twice in one group (a replay racing its original): the first one only
            s.first = s.key in new
            new.discard(s.key)
        before, self._count = self._count, self._count + len(keys)
        if before // PRUNE_EVERY != self._count // PRUNE_EVERY or not before:
            try:
                self.prune(now)
            except Exception:  # housekeeping: the next group prunes what this one could not
                log.warning("replay guard: old keys not pruned this time")

    def _execute(self, keys: list[str], now: dt.datetime) -> set[str]:
        """The keys inserted, those already there left alone; the new ones returned. On PostgreSQL one
        statement (the same text for any number of keys) in one round trip on a connection of the guard's own
        in autocommit: it is its own durable transaction, with no checkout, ping, BEGIN or COMMIT of its own,
        each a wait for the interpreter when it is busy acking. On SQLite, which has no round trips, a
        transaction of the engine's."""
        if self.db.dialect != "postgresql":
            stmt = (sqlite.insert(m.SeenSlackRequest).values([{"key": k, "seen_at": now} for k in keys])
                    .on_conflict_do_nothing(index_elements=["key"]).returning(m.SeenSlackRequest.key))
            with self.db.engine.begin() as conn:
                return set(conn.execute(stmt).scalars())
        if self._conn is not None and time.monotonic() - self._used_at > self.idle_ping_s:
            try:  # idle a while: the server may have restarted since (under load it is never idle this long)
                self._conn.exec_driver_sql("SELECT 1")
            except Exception:
                self._drop()
        if self._conn is None:
            self._conn = self.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        self._used_at = time.monotonic()
        return set(self._conn.execute(_INSERT_PG, {"keys": keys, "now": now}).scalars())

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.invalidate()
                conn.close()
            except Exception:  # already gone with the database
                log.debug("replay guard: connection dropped")

    def close(self) -> None:
        with self._cond:
            self._drop()

    def prune(self, now: dt.datetime | None = None) -> int:
        with self.db.session() as s:
            gone = s.execute(delete(m.SeenSlackRequest).where(m.SeenSlackRequest.seen_at < (now or self.clock()) - WINDOW))
            return int(gone.rowcount or 0)  # type: ignore[attr-defined]
