"""One authorizer: whether an actor may do something, decided from the roles in config/roles.yaml,
with every refusal written to the audit chain (who, which permission, about what - never personal
data). Use cases call it; adapters never check permissions themselves."""
from __future__ import annotations

import datetime as dt
from typing import Any, Protocol

from gdpr.core import models as m
from gdpr.core.access import AccessPolicy, Actor
from gdpr.core.audit import AuditLog
from gdpr.core.db import Database
from gdpr.core.errors import NotAllowed


class LiveGrants(Protocol):
    """The per-subject grants the authorizer honours (gdpr/grants/service.py)."""

    def live(self, *, user_id: str, subject_ref: str, now: dt.datetime | None = None) -> m.AccessGrant | None: ...


class Authorizer:
    def __init__(self, policy: AccessPolicy, db: Database, audit: AuditLog, grants: LiveGrants) -> None:
        self.policy, self.db, self.audit, self.grants = policy, db, audit, grants

    def require(self, actor: Actor, permission: str, *, refusal: str | None = None, **details: Any) -> None:
        """Raise NotAllowed (a message safe to show: `refusal`, or one naming the permission) after
        auditing the refusal."""
        try:
            self.policy.require(actor, permission)
        except NotAllowed as exc:
            with self.db.session() as s:
                self.audit.record(s, actor=actor.user_id, action="access.denied", permission=permission, **details)
            if refusal is not None:
                raise NotAllowed(refusal) from exc
            raise

    def sees_unmasked(self, actor: Actor, subject_ref: str | None = None) -> bool:
        """Whether personal data is shown to this actor in the clear; masked otherwise."""
        return self.unmasked_by(actor, subject_ref) is not None

    def unmasked_by(self, actor: Actor, subject_ref: str | None = None) -> str | None:
        """Why this actor sees this subject in the clear - `pii.view`, or a live grant for it ("G-12") - or
        None: masked. Audit it with every unmasked view."""
        if actor.can("pii.view"):
            return "pii.view"
        grant = self.grants.live(user_id=actor.user_id, subject_ref=subject_ref) if subject_ref else None
        return f"G-{grant.id}" if grant is not None else None
