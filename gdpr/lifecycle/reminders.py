"""Reminders on a clock, once for everything that has a deadline (a breach's 72 hours, a request's month).

A reminder is a row with a due time. The scheduler's pass reads the due ones of still-open things, the
presenter posts them, and only then is each marked fired - with a conditional update, so two passes
never both count it, and one Slack could not take stays due and is posted on a later pass (it never
lapses, and survives restarts: the rows are the schedule)."""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from gdpr.core.db import changed


def due(s: Session, model: Any, now: dt.datetime, *, owner: Any, owner_key: Any, owner_open: Any) -> list[Any]:
    """Pending reminders due by `now` whose owner (joined on `owner_key`) is still open, soonest first."""
    return list(s.execute(select(model).join(owner, owner_key).where(
        model.status == "pending", model.due_at <= now, owner_open).order_by(model.due_at)).scalars())


def fire(s: Session, model: Any, reminder_id: int, now: dt.datetime) -> bool:
    """pending -> fired, once."""
    return changed(s.execute(update(model).where(model.id == reminder_id, model.status == "pending").values(
        status="fired", fired_at=now, times_fired=model.times_fired + 1))) == 1


def settle(s: Session, model: Any, *where: Any) -> int:
    """Pending reminders that no longer apply (the deadline moved, the thing closed)."""
    return changed(s.execute(update(model).where(model.status == "pending", *where).values(status="settled")))
