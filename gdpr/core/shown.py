"""Where things are shown, for the presenter that showed them: by a thing's reference ("R-12", "P-3",
"B-4") and a message's role, the coordinates the presenter chose (for Slack: channel and ts). The
domain never reads them; it is a table of the presenter's, kept here because only gdpr/ opens sessions.

An update that could not be delivered (Slack rate-limited or down) is remembered as owed; the presenter
delivers it later by rendering the thing's current state, so the latest state wins.

A message that several deliveries may want to post at the same moment (a thread's recipients or progress)
is claimed first: a pending row (no ts yet) that one caller wins; a claim whose poster died is taken over
after CLAIM_TTL.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from sqlalchemy import case, delete, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from gdpr.core import models as m
from gdpr.core.db import Database, changed

Where = tuple[str, str]  # (channel, ts)
PENDING = ""  # the ts of a message claimed and not posted yet
CLAIM_TTL = dt.timedelta(seconds=60)  # a claim older than this, still pending, was its poster's last act


class ShownMessages:
    def __init__(self, db: Database, clock: Callable[[], dt.datetime]) -> None:
        self.db, self.clock = db, clock

    def remember(self, ref: str, role: str, where: Where) -> None:
        """Where a message was posted. A claimed message is owed until posted; it stays owed when another
        delivery wanted it meanwhile (`owe` counted an attempt), since what was posted may be older."""
        shown = m.ShownMessage
        upsert = postgresql.insert if self.db.dialect == "postgresql" else sqlite.insert
        stmt = upsert(shown).values(ref=ref, role=role, channel=where[0], ts=where[1], attempts=0)
        with self.db.engine.begin() as conn:  # one statement, not an ORM unit of work: two per request opened
            conn.execute(stmt.on_conflict_do_update(index_elements=[shown.ref, shown.role], set_={
                "channel": stmt.excluded.channel, "ts": stmt.excluded.ts,
                "stale_since": case((shown.attempts > 0, shown.stale_since), else_=None)}))

    def claim(self, ref: str, role: str) -> bool:
        """True for the one caller that may post this message now: a pending row, owed from now (so the
        catch-up posts it if the poster dies before `remember`); a pending claim older than CLAIM_TTL is
        taken over. False while another has it, or once it is posted."""
        shown, now = m.ShownMessage, self.clock()
        try:
            with self.db.engine.begin() as conn:
                conn.execute(insert(shown).values(ref=ref, role=role, channel="", ts=PENDING, stale_since=now,
                                                  attempts=0))
            return True
        except IntegrityError:
            pass
        with self.db.session() as s:
            return changed(s.execute(update(shown).where(
                shown.ref == ref, shown.role == role, shown.ts == PENDING, shown.stale_since < now - CLAIM_TTL)
                .values(stale_since=now, attempts=0))) > 0

    def release(self, ref: str, role: str) -> None:
        """A claimed message that was not posted (Slack refused it): the next delivery may claim it."""
        shown = m.ShownMessage
        with self.db.session() as s:
            s.execute(delete(shown).where(shown.ref == ref, shown.role == role, shown.ts == PENDING))

    def where(self, ref: str, role: str) -> Where | None:
        """(channel, ts) of the message, once posted."""
        shown = m.ShownMessage
        with self.db.session() as s:
            row = s.execute(select(shown.channel, shown.ts).where(shown.ref == ref, shown.role == role,
                                                                  shown.ts != PENDING)).first()
            return (row[0], row[1]) if row else None

    def count(self, role: str) -> int:
        """How many messages of a role were posted (benchmarks and health checks)."""
        shown = m.ShownMessage
        with self.db.session() as s:
            return s.execute(select(func.count()).select_from(shown).where(shown.role == role, shown.ts != PENDING)).scalar_one()

    def owe(self, ref: str, role: str) -> None:
        """An update of this message could not be delivered: it is owed until `delivered`, since the first
        failure (a pending claim keeps its time)."""
        shown = m.ShownMessage
        with self.db.session() as s:
            s.execute(update(shown).where(shown.ref == ref, shown.role == role)
                      .values(stale_since=func.coalesce(shown.stale_since, self.clock()), attempts=shown.attempts + 1))

    def delivered(self, ref: str, role: str) -> None:
        shown = m.ShownMessage
        with self.db.session() as s:
            s.execute(update(shown).where(shown.ref == ref, shown.role == role, shown.stale_since.is_not(None))
                      .values(stale_since=None, attempts=0))

    def owed(self, *, limit: int = 200) -> list[tuple[str, str]]:
        """(ref, role) of the messages whose last update is still owed, oldest first."""
        shown = m.ShownMessage
        with self.db.session() as s:
            return [(r, role) for r, role in s.execute(select(shown.ref, shown.role).where(
                shown.stale_since.is_not(None)).order_by(shown.stale_since).limit(limit))]

    def of_role(self, role: str, *, limit: int = 200) -> list[tuple[str, Where]]:
        """(ref, where) of the messages of a role, the latest first (e.g. the App Homes that were opened)."""
        shown = m.ShownMessage
        with self.db.session() as s:
            return [(r, (c, t)) for r, c, t in s.execute(select(shown.ref, shown.channel, shown.ts)
                                                          .where(shown.role == role).order_by(shown.id.desc())
                                                          .limit(limit))]
