"""Role-based access control from config/roles.yaml. Deny by default."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from gdpr.errors import NotAllowed
from gdpr.yamlconf import ANY, NAMES, Located, Schema

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
}


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


ROLES: Schema = {"version": ANY, "channels": {NAMES: ANY}, "roles": {NAMES: {"permissions": ANY}},
                 "users": {NAMES: ANY}, "groups": {NAMES: ANY}}


def load_policy(path: Path) -> AccessPolicy:
    doc = Located(path)
    doc.only(ROLES)
    data = doc.data or {}
    roles = {}
    for role, spec in doc.require(data, (), "roles", dict).items():
        perms = doc.require(spec or {}, ("roles", role), "permissions", list)
        for i, p in enumerate(perms):
            if p not in PERMISSIONS:
                raise doc.error(("roles", role, "permissions", i), f"unknown permission '{p}'")
        roles[role] = frozenset(perms)

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
                        channels={k: str(v) for k, v in channels.items()})
