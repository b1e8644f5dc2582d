"""Where things are shown, for the presenter that showed them: by a thing's reference ("R-12", "P-3",
"B-4") and a message's role, the coordinates the presenter chose (for Slack: channel and ts). The
domain never reads them; it is a table of the presenter's, kept here because only gdpr/ opens sessions.

An update that could not be delivered (Slack rate-limited or down) is remembered as owed; the presenter
delivers it later by rendering the thing's current state, so the latest state wins.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from sqlalchemy import func, select, update

from gdpr.core import models as m
from gdpr.core.db import Database, changed

Where = tuple[str, str]  # (channel, ts)


class ShownMessages:
    def __init__(self, db: Database, clock: Callable[[], dt.datetime]) -> None:
        self.db, self.clock = db, clock

    def remember(self, ref: str, role: str, where: Where) -> None:
        shown = m.ShownMessage
        with self.db.session() as s:
            if not changed(s.execute(update(shown).where(shown.ref == ref, shown.role == role)
                                     .values(channel=where[0], ts=where[1]))):
                s.add(shown(ref=ref, role=role, channel=where[0], ts=where[1], attempts=0))

    def where(self, ref: str, role: str) -> Where | None:
        shown = m.ShownMessage
        with self.db.session() as s:
            row = s.execute(select(shown.channel, shown.ts).where(shown.ref == ref, shown.role == role)).first()
            return (row[0], row[1]) if row else None

    def count(self, role: str) -> int:
        """How many messages of a role were posted (benchmarks and health checks)."""
        shown = m.ShownMessage
        with self.db.session() as s:
            return s.execute(select(func.count()).select_from(shown).where(shown.role == role)).scalar_one()

    def owe(self, ref: str, role: str) -> None:
        """An update of this message could not be delivered: it is owed until `delivered`."""
        shown = m.ShownMessage
        with self.db.session() as s:
            s.execute(update(shown).where(shown.ref == ref, shown.role == role)
                      .values(stale_since=self.clock(), attempts=shown.attempts + 1))

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
