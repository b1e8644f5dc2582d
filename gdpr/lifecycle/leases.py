"""A leased job, once for everything a worker runs (subject requests, bulk runs, ...).

A worker *claims* an item with a conditional UPDATE that also sets a lease in the state DB (approved
or queued, or running with a lease that has expired: its worker died), renews it while it works,
and leaves it by finishing it or by releasing it (queued for a retry, or failed after the last
attempt). Only the lease holder can do either, so a worker that lost its lease can publish nothing.
Every step is audited.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, update
from sqlalchemy.orm import Session

from gdpr.core import models as m
from gdpr.core.audit import AuditLog
from gdpr.core.db import Database, changed


@dataclass(frozen=True)
class Leased:
    """How one kind of item takes part: its model, its audit names and details, what ending also writes."""
    model: Any  # a mapped class with id, status, lease_owner, lease_expires_at, attempts, started_at, ...
    event: str  # audit actions are f"{event}.started", f"{event}.retrying", ...
    audit_fields: Callable[[Any], dict]  # the item's audit details (ids, pseudonyms; never personal data)
    started: Callable[[Any], dict] = field(default=lambda item: {})  # more details when a run (re)starts
    closing: Callable[[dt.datetime], dict] = field(default=lambda now: {"finished_at": now})  # when it ends
    keep_first_start: bool = False  # a resumed run keeps its first start time


class LeasedJobs:
    def __init__(self, db: Database, audit: AuditLog, clock: Callable[[], dt.datetime], lease: dt.timedelta) -> None:
        self.db, self.audit, self.clock, self.lease = db, audit, clock, lease

    def claim(self, kind: Leased, item_id: int, owner: str) -> Any | None:
        now, model = self.clock(), kind.model
        started = func.coalesce(model.started_at, now) if kind.keep_first_start else now
        with self.db.session() as s:
            won = changed(s.execute(update(model).where(model.id == item_id, model.status.in_([m.APPROVED, m.QUEUED]) |
                                                ((model.status == m.RUNNING) & (model.lease_expires_at < now)))
                            .values(status=m.RUNNING, lease_owner=owner, lease_expires_at=now + self.lease,
                                    attempts=model.attempts + 1, started_at=started)))
            if won != 1:
                return None
            item = s.get_one(model, item_id)
            self._record(s, kind, item, owner, "started", attempt=item.attempts, **kind.started(item))
            s.expunge(item)
            return item

    def renew(self, kind: Leased, item_id: int, owner: str) -> bool:
        model = kind.model
        with self.db.session() as s:
            return changed(s.execute(update(model).where(model.id == item_id, model.lease_owner == owner,
                                                 model.status == m.RUNNING)
                             .values(lease_expires_at=self.clock() + self.lease))) == 1

    def finish(self, kind: Leased, item_id: int, owner: str, status: str, audit: Callable[[Any], dict],
               **values: object) -> bool:
        """Leave RUNNING for `status` (a terminal one also writes `closing`); `audit(item)` details the event."""
        model = kind.model
        closing = kind.closing(self.clock()) if status in m.TERMINAL else {}
        with self.db.session() as s:
            done = changed(s.execute(update(model).where(model.id == item_id, model.lease_owner == owner,
                                                 model.status == m.RUNNING)
                             .values(status=status, lease_owner=None, lease_expires_at=None, **closing,
                                     **values))) == 1
            if done:
                item = s.get(model, item_id)
                self._record(s, kind, item, owner, status, **audit(item))
            return done

    def release(self, kind: Leased, item_id: int, owner: str, *, error: str, final: bool) -> Any | None:
        """Give the item back for a retry (queued), or mark it failed after the last attempt."""
        model, now = kind.model, self.clock()
        values = {"status": m.FAILED, **kind.closing(now)} if final else {"status": m.QUEUED, "queued_at": now}
        with self.db.session() as s:
            won = changed(s.execute(update(model).where(model.id == item_id, model.lease_owner == owner,
                                                model.status == m.RUNNING)
                            .values(lease_owner=None, lease_expires_at=None, error=error, **values)))
            if won != 1:
                return None
            item = s.get(model, item_id)
            self._record(s, kind, item, owner, "failed" if final else "retrying", error=error)
            s.expunge(item)
            return item

    def _record(self, s: Session, kind: Leased, item: Any, owner: str, step: str, **details: Any) -> None:
        self.audit.record(s, actor=owner, action=f"{kind.event}.{step}", **kind.audit_fields(item), **details)
