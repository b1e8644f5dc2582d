"""Art. 12(3)/(4) deadlines of a subject request: one month from the club's receipt; the DPO reminded
before it ends and after (escalating: a week, three days, the day before, the day itself, then overdue);
one extension by up to two more months, only within the first month and with reasons for the club.
The reminders are rows (the one reminders lifecycle, like a breach's clock), so they survive restarts."""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from gdpr.core import models as m
from gdpr.core.access import Actor
from gdpr.core.audit import AuditLog
from gdpr.core.db import Database, changed
from gdpr.core.errors import AlreadyDecided, RequestNotFound, UsageError
from gdpr.lifecycle import reminders
from gdpr.requests.duedates import add_one_month

MARKS = (7, 3, 1, 0, -1, -7)  # days before the due date; negative: overdue by that many days
AT = dt.time(8, 0, tzinfo=dt.UTC)  # reminders come in the morning, UTC


def arm(session: Session, request_id: int, due_on: dt.date, round_: int) -> None:
    for days in MARKS:
        session.add(m.RequestReminder(request_id=request_id, round=round_, days_before=days, status="pending",
                                      times_fired=0, due_at=dt.datetime.combine(due_on - dt.timedelta(days=days), AT)))


class Deadlines:
    def __init__(self, db: Database, audit: AuditLog, clock: Callable[[], dt.datetime]) -> None:
        self.db, self.audit, self.clock = db, audit, clock

    def due(self, now: dt.datetime) -> list[tuple[int, m.RequestReminder, list[int]]]:
        """Per open request with reminders due: (request id, the most urgent one, the others now moot)."""
        r, req = m.RequestReminder, m.SubjectRequest
        with self.db.session() as s:
            rows = reminders.due(s, r, now, owner=req, owner_key=req.id == r.request_id,
                                 owner_open=req.status.in_(m.UNANSWERED))
            s.expunge_all()
        by_request: dict[int, list[m.RequestReminder]] = {}
        for row in rows:
            by_request.setdefault(row.request_id, []).append(row)
        out = []
        for rid, rs in sorted(by_request.items()):
            top = min(rs, key=lambda x: x.days_before)
            out.append((rid, top, [x.id for x in rs if x.id != top.id]))
        return out

    def fire(self, reminder: m.RequestReminder, moot: list[int], now: dt.datetime) -> bool:
        """The posted reminder fired (once), the earlier marks it overtook settled."""
        with self.db.session() as s:
            ok = reminders.fire(s, m.RequestReminder, reminder.id, now)
            if moot:
                reminders.settle(s, m.RequestReminder, m.RequestReminder.id.in_(moot))
            if ok:
                self.audit.record(s, actor="scheduler", action="request.reminded", request_id=reminder.request_id,
                                  days_before=reminder.days_before)
            return ok

    def extend(self, *, request_id: int, actor: Actor, reason: str, months: int) -> m.SubjectRequest:
        """Once, within the first month, by one or two months; the pending reminders move with the date."""
        if months not in (1, 2):
            raise UsageError("A request can be extended by one or two months (Art. 12(3)).")
        req, today = self.db.load(m.SubjectRequest, request_id, RequestNotFound(f"There is no request R-{request_id}.")), \
            self.clock().date()
        if req.status not in m.UNANSWERED:
            raise AlreadyDecided(f"R-{request_id} is {req.status.replace('_', ' ')}: there is nothing to extend.")
        if req.extended_at is not None:
            raise AlreadyDecided(f"R-{request_id} was already extended (to {req.due_on:%d %b %Y}); "
                                 "Art. 12(3) allows one extension of at most two months.")
        if today > req.due_on:
            raise UsageError(f"R-{request_id} was due on {req.due_on:%d %b %Y}: an extension must be decided "
                             "and told to the person within the first month (Art. 12(3)).")
        new_due = req.due_on
        for _ in range(months):
            new_due = add_one_month(new_due)
        r = m.SubjectRequest
        with self.db.session() as s:
            if not changed(s.execute(update(r).where(r.id == request_id, r.extended_at.is_(None), r.due_on >= today)
                                     .values(original_due_on=req.due_on, due_on=new_due, extended_at=self.clock(),
                                             extension_reason=reason))):
                raise AlreadyDecided(f"R-{request_id} was extended meanwhile.")
            reminders.settle(s, m.RequestReminder, m.RequestReminder.request_id == request_id)
            arm(s, request_id, new_due, 2)
            self.audit.record(s, actor=actor.user_id, action="request.extended", request_id=request_id,
                              subject_ref=req.subject_ref, months=months, due_on=new_due.isoformat(),
                              was_due_on=req.due_on.isoformat())
        return self.db.load(m.SubjectRequest, request_id, RequestNotFound(f"There is no request R-{request_id}."))

    def reminders_of(self, request_id: int) -> list[m.RequestReminder]:
        r = m.RequestReminder
        with self.db.session() as s:
            rows = list(s.execute(select(r).where(r.request_id == request_id).order_by(r.round, r.days_before.desc()))
                        .scalars())
            s.expunge_all()
            return rows
