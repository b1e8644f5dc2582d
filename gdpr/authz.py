"""One authorizer: whether an actor may do something, decided from the roles in config/roles.yaml,
with every refusal written to the audit chain (who, which permission, about what - never personal
data). Use cases call it; adapters never check permissions themselves."""
from __future__ import annotations

from typing import Any

from gdpr.access import AccessPolicy, Actor
from gdpr.audit import AuditLog
from gdpr.db import Database
from gdpr.errors import NotAllowed


class Authorizer:
    def __init__(self, policy: AccessPolicy, db: Database, audit: AuditLog) -> None:
        self.policy, self.db, self.audit = policy, db, audit

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

    def sees_unmasked(self, actor: Actor) -> bool:
        """Whether personal data is shown to this actor in the clear (`pii.view`); masked otherwise."""
        return actor.can("pii.view")
