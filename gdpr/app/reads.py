"""Reading registers: who looked at what is part of the accountability record (Art. 5(2))."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from gdpr.core.access import Actor
from gdpr.core.audit import AuditLog
from gdpr.core.db import Database

T = TypeVar("T")
PER_PAGE = 20


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a long list, newest first: what is shown, where it starts, how many there are."""
    items: list[T]
    offset: int
    total: int

    @property
    def has_more(self) -> bool:
        return self.offset + len(self.items) < self.total


def page_bounds(offset: int, limit: int) -> tuple[int, int]:
    """A requested window, kept sane (a button's value comes back from outside)."""
    return max(0, int(offset)), max(1, min(int(limit), 100))


@dataclass
class AuditedRead:
    """A read of a register or report, in the audit chain (the permission was checked by the Authorizer)."""
    db: Database
    audit: AuditLog

    def record(self, actor: Actor, action: str, **details: Any) -> None:
        with self.db.session() as s:
            self.audit.record(s, actor=actor.user_id, action=action, **details)
