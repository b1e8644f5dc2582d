"""Four-eyes approval, once for everything the DPO decides (subject requests, bulk runs, ...).

A decision is a conditional UPDATE from a decidable status, so of two concurrent clicks exactly one
wins and the other is told the state the item is in *now*. The person who asked can never decide,
nor can anyone without the decide permission; every refusal and every decision is audited.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from gdpr.core import models as m
from gdpr.core.access import Actor
from gdpr.core.audit import AuditLog
from gdpr.core.db import Database, changed
from gdpr.core.errors import AlreadyDecided, NotAllowed

DECIDE = "request.decide"


@dataclass(frozen=True)
class Decidable:
    """How one kind of item takes part: its model, how it is named, what a decision also writes."""
    model: Any  # a mapped class with id, status, requester_id, decided_by, decided_at, reject_reason
    ref: str  # "R-", "P-"
    event: str  # audit actions are f"{event}.{status}"
    asked: str  # "opened this request": why the asker cannot decide
    what: str  # "requests": what only the DPO may decide
    audit_fields: Callable[[Any], dict]  # the item's audit details (ids, pseudonyms; never personal data)
    statuses: tuple[str, ...] = (m.RECEIVED, m.AWAITING_APPROVAL)
    on_reject: Callable[[dt.datetime], dict] = field(default=lambda now: {})  # extra values when not approved
    recorded: Callable[[Session, Any, Actor, str, str | None, dt.datetime], None] | None = None  # e.g. a Decision row


class Approvals:
    def __init__(self, db: Database, audit: AuditLog, clock: Callable[[], dt.datetime]) -> None:
        self.db, self.audit, self.clock = db, audit, clock

    def ensure_can_decide(self, kind: Decidable, item: Any, actor: Actor) -> None:
        """Four eyes and the decide permission; a refusal is audited, then raised as NotAllowed."""
        refusal = None
        if item.requester_id == actor.user_id:
            refusal = ("four-eyes", f"You {kind.asked}, so someone else must decide on it (four-eyes rule).")
        elif not actor.can(DECIDE):
            refusal = (DECIDE, f"Only the DPO may approve or reject {kind.what}.")
        if refusal:
            with self.db.session() as s:
                self.audit.record(s, actor=actor.user_id, action="access.denied", permission=refusal[0],
                                  **kind.audit_fields(item))
            raise NotAllowed(refusal[1])

    def decide(self, kind: Decidable, item: Any, actor: Actor, status: str, reason: str | None,
               **audit: object) -> None:
        """approved or rejected, once: AlreadyDecided (with the state it is in now) for the loser."""
        self.ensure_can_decide(kind, item, actor)
        now, model = self.clock(), kind.model
        values = dict(status=status, decided_by=actor.user_id, decided_at=now, reject_reason=reason)
        if status != m.APPROVED:  # rejected, or (a request) refused under Art. 12(5)
            values.update(kind.on_reject(now))
        with self.db.session() as s:
            won = changed(s.execute(update(model).where(model.id == item.id, model.status.in_(kind.statuses))
                            .values(**values)))
            if won != 1:  # say what it is now, not what it was when this decision began
                current = s.execute(select(model.status).where(model.id == item.id)).scalar()
                raise AlreadyDecided(f"{kind.ref}{item.id} was already decided ({str(current).replace('_', ' ')}).")
            if kind.recorded is not None:
                kind.recorded(s, item, actor, status, reason, now)
            details: dict[str, Any] = {**kind.audit_fields(item), **audit}
            self.audit.record(s, actor=actor.user_id, action=f"{kind.event}.{status}", role=actor.role_label,
                              **details)
