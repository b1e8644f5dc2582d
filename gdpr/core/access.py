"""Role-based access control from config/roles.yaml. Deny by default."""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path

from gdpr.core.errors import NotAllowed
from gdpr.core.yamlconf import ANY, NAMES, Located, Schema

PERMISSIONS = {
    "subject.find": "look subjects up (masked)",
    "request.create": "open data-subject requests",
    "request.decide": "approve or reject data-subject requests",
    "pii.view": "see personal data unmasked (every view is audited)",
    "audit.read": "read the audit log",
    "purge.request": "ask for a bulk removal of CRM leads (the DPO approves)",
    "retention.read": "read the retention report",
    "breach.report": "report a personal-data breach",
    "breach.manage": "manage breaches: notify clubs, assess the risk, tell members, close",
    "breach.read": "read the breach register",
    "grant.request": "ask for temporary unmasked access to one subject (the DPO approves)",
    "consent.manage": "record a subject's withdrawal of consent or objection (it takes effect at once)",
    "club.offboard": "offboard a club: return and then erase all its members' and leads' data (another DPO approves)",
}
SHORT_DURATION = re.compile(r"^(\d{1,4})(m|min|h)$")


def parse_short_duration(text: str) -> dt.timedelta | None:
    """'30m', '90min', '4h' as a timedelta; None when it is not one (or zero)."""
    found = SHORT_DURATION.match(str(text).strip().lower())
    if not found or int(found.group(1)) == 0:
        return None
    n = int(found.group(1))
    return dt.timedelta(hours=n) if found.group(2) == "h" else dt.timedelta(minutes=n)


@dataclass(frozen=True)
class Actor:
    user_id: str
    roles: frozenset[str]
    permissions: frozenset[str]

    def can(self, permission: str) -> bool:
        return permission in self.permissions

    @property
    def role_label(self) -> str:
        return ",".join(sorted(self.roles)) or "none"


@dataclass(frozen=True)
class AccessPolicy:
    roles: dict[str, frozenset[str]]
    users: dict[str, frozenset[str]]
    groups: dict[str, frozenset[str]]
    channels: dict[str, str]
    max_grants: dict[str, dt.timedelta] = field(default_factory=dict)  # per role: the longest access it may ask for

    def actor(self, user_id: str, group_ids: frozenset[str] = frozenset()) -> Actor:
        """Resolve a user's roles server-side from their id and their user-group memberships."""
        roles = set(self.users.get(user_id, ()))
        for gid in group_ids:
            roles.update(self.groups.get(gid, ()))
        perms = frozenset(p for r in roles for p in self.roles.get(r, ()))
        return Actor(user_id=user_id, roles=frozenset(roles), permissions=perms)

    def require(self, actor: Actor, permission: str) -> None:
        if not actor.can(permission):
            raise NotAllowed(f"You are not allowed to {PERMISSIONS.get(permission, permission)}. "
                             "Ask the DPO if you need this permission.")

    def channel(self, name: str) -> str:
        return self.channels[name]

    def groups_with(self, permission: str) -> list[str]:
        """The user groups whose roles hold this permission (to name them in a reminder)."""
        return sorted(g for g, roles in self.groups.items() if any(permission in self.roles.get(r, ()) for r in roles))

    def max_grant(self, actor: Actor) -> dt.timedelta | None:
        """The longest temporary access this actor may ask for (the most generous of their roles)."""
        caps = [self.max_grants[r] for r in actor.roles if r in self.max_grants]
        return max(caps) if caps else None


ROLES: Schema = {"version": ANY, "channels": {NAMES: ANY}, "roles": {NAMES: {"permissions": ANY, "max_grant": ANY}},
                 "users": {NAMES: ANY}, "groups": {NAMES: ANY}}


def load_policy(path: Path) -> AccessPolicy:
    doc = Located(path)
    doc.only(ROLES)
    data = doc.data or {}
    roles, caps = {}, {}
    for role, spec in doc.require(data, (), "roles", dict).items():
        perms = doc.require(spec or {}, ("roles", role), "permissions", list)
        for i, p in enumerate(perms):
            if p not in PERMISSIONS:
                raise doc.error(("roles", role, "permissions", i), f"unknown permission '{p}'")
        roles[role] = frozenset(perms)
        if "max_grant" in (spec or {}):
            cap = parse_short_duration(spec["max_grant"])
            if cap is None or cap > dt.timedelta(hours=24):
                raise doc.error(("roles", role, "max_grant"), "a duration of at most 24h, like `4h` or `90m`")
            caps[role] = cap
        elif "grant.request" in perms:
            raise doc.error(("roles", role), "a role with grant.request needs max_grant (e.g. `max_grant: 4h`)")

    def members(section: str) -> dict[str, frozenset[str]]:
        out = {}
        for who, granted in (data.get(section) or {}).items():
            granted = granted if isinstance(granted, list) else [granted]
            for r in granted:
                if r not in roles:
                    raise doc.error((section, who), f"unknown role '{r}'")
            out[str(who)] = frozenset(granted)
        return out

    channels = doc.require(data, (), "channels", dict)
    doc.require(channels, ("channels",), "approvals")
    return AccessPolicy(roles=roles, users=members("users"), groups=members("groups"),
                        channels={k: str(v) for k, v in channels.items()}, max_grants=caps)
