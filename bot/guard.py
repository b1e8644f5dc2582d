"""Permission checks that audit every denial."""
from __future__ import annotations

from gdpr.access import Actor
from gdpr.errors import NotAllowed


def require(services, actor: Actor, permission: str, **details: object) -> None:  # noqa: ANN001
    """Raise NotAllowed (with a friendly message) after auditing the denial."""
    try:
        services.policy.require(actor, permission)
    except NotAllowed:
        with services.db.session() as s:
            services.audit.record(s, actor=actor.user_id, action="access.denied", permission=permission, **details)
        raise
