"""The clubs' API credentials: one live token per club, shown once, stored only as a keyed hash (HMAC with
SECRET_KEY: a stolen state database does not yield a usable token), with an optional IP allow-list;
rotated and revoked by the DPO. Verifying one is a single indexed lookup."""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import ipaddress
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import delete, select, update

from gdpr.core import models as m
from gdpr.core.audit import AuditLog
from gdpr.core.db import Database, changed
from gdpr.core.errors import GdprError, UsageError
from gdpr.core.keyring import KeyRing

PREFIX = "gdprc_"
REFUSALS_KEPT = dt.timedelta(days=30)  # refused anonymous API calls: long enough to see a probe


class Unauthenticated(GdprError):
    """No token, or not a live one."""


@dataclass(frozen=True)
class Issued:
    club: str
    token: str  # shown once, to the DPO only
    token_id: int


def parse_networks(values: list[str]) -> list[str]:
    """CIDRs or single addresses, normalised; UsageError naming the bad one."""
    out = []
    for value in values:
        try:
            out.append(str(ipaddress.ip_network(value.strip(), strict=False)))
        except ValueError:
            raise UsageError(f"`{value[:40]}` is not an IP address or network (e.g. 203.0.113.0/24).") from None
    return out


def _within(address: str, networks: list[str]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in ipaddress.ip_network(n) for n in networks)


class ClubTokens:
    def __init__(self, db: Database, audit: AuditLog, ring: KeyRing, clock: Callable[[], dt.datetime]) -> None:
        self.db, self.audit, self._keys, self.clock = db, audit, ring.macs(b"club-api"), clock

    def _hash(self, token: str) -> str:
        return hmac.new(self._keys[0], token.encode(), hashlib.sha256).hexdigest()

    def _hashes(self, token: str) -> list[str]:
        """Under every ring key, newest first: a token issued before a key rotation still works (and is
        re-hashed with the newest key on its first use)."""
        return [hmac.new(key, token.encode(), hashlib.sha256).hexdigest() for key in self._keys]

    def issue(self, *, club: str, by: str, allowed: list[str] | None) -> Issued:
        """A new token for the club (any live one is revoked: this is also the rotation)."""
        token = PREFIX + secrets.token_urlsafe(32)
        now, t = self.clock(), m.ClubToken
        with self.db.session() as s:
            s.execute(update(t).where(t.club_code == club, t.revoked_at.is_(None)).values(revoked_at=now, revoked_by=by))
            row = t(club_code=club, token_hash=self._hash(token), hint=token[len(PREFIX):len(PREFIX) + 4],
                    allowed_ips=parse_networks(allowed) if allowed else None, created_by=by, created_at=now)
            s.add(row)
            s.flush()
            self.audit.record(s, actor=by, action="club.token_issued", club=club, token_id=row.id,
                              allowed_ips=len(row.allowed_ips or []))
            return Issued(club, token, row.id)

    def revoke(self, *, club: str, by: str) -> int:
        t = m.ClubToken
        with self.db.session() as s:
            n = changed(s.execute(update(t).where(t.club_code == club, t.revoked_at.is_(None))
                                  .values(revoked_at=self.clock(), revoked_by=by)))
            self.audit.record(s, actor=by, action="club.token_revoked", club=club, tokens=n)
        return n

    def verify(self, token: str | None, address: str) -> str:
        """The club a live token belongs to, if the caller's address is allowed; raises otherwise."""
        if not token or not token.startswith(PREFIX):
            raise Unauthenticated("A club token is required (Authorization: Bearer gdprc_…).")
        t = m.ClubToken
        with self.db.session() as s:
            row = s.execute(select(t).where(t.token_hash.in_(self._hashes(token)), t.revoked_at.is_(None))).scalar()
            # a token refused by its allow-list is answered as a bad token is: a caller learns nothing from it
            if row is None or (row.allowed_ips and not _within(address, row.allowed_ips)):
                raise Unauthenticated("That token is not valid here (revoked, rotated, never issued, or not "
                                      "allowed from this address).")
            s.execute(update(t).where(t.id == row.id).values(last_used_at=self.clock(), token_hash=self._hash(token)))
            return row.club_code

    def record_refusal(self, *, address: str, method: str, route: str, status: int) -> None:
        """An API call refused before authentication, kept apart from the audit chain (no lock on its head);
        the caller's address only as a keyed hash."""
        ref = hmac.new(self._keys[0], b"address:" + address.encode(), hashlib.sha256).hexdigest()[:32]
        with self.db.session() as s:
            s.add(m.ApiRefusal(at=self.clock(), address_ref=ref, method=method[:10], route=route[:100], status=status))

    def forget_refusals(self, *, before: dt.datetime) -> int:
        """Refused calls are kept for REFUSALS_KEPT (to see a probe), then deleted: the hash is of an address."""
        with self.db.session() as s:
            gone = s.execute(delete(m.ApiRefusal).where(m.ApiRefusal.at < before))
            return int(gone.rowcount or 0)  # type: ignore[attr-defined]

    def listed(self) -> list[m.ClubToken]:
        t = m.ClubToken
        with self.db.session() as s:
            rows = list(s.execute(select(t).where(t.revoked_at.is_(None)).order_by(t.club_code)).scalars())
            s.expunge_all()
            return rows
