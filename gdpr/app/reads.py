"""Reading registers: who looked at what is part of the accountability record (Art. 5(2))."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gdpr.access import Actor
from gdpr.audit import AuditLog
from gdpr.db import Database


@dataclass
class AuditedRead:
    """A read of a register or report, in the audit chain (the permission was checked by the Authorizer)."""
    db: Database
    audit: AuditLog

    def record(self, actor: Actor, action: str, **details: Any) -> None:
        with self.db.session() as s:
            self.audit.record(s, actor=actor.user_id, action=action, **details)
