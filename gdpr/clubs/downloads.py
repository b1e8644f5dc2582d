"""Expiring, single-use links to finished exports, for clubs that asked through the API. The link is a
random token: its keyed hash finds it, its sealed copy lets the API show it to the club while it is live.
A download is recorded (counted, audited); one after use, expiry or revocation is refused and counted.
Exports are revoked at their TTL and at the subject's erasure, with the file (gdpr.requests.export_files)."""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select, update

from gdpr.core import models as m
from gdpr.core.audit import AuditLog
from gdpr.core.db import Database, changed
from gdpr.core.errors import GdprError
from gdpr.core.keyring import KeyRing
from gdpr.requests.service import aware


class LinkGone(GdprError):
    """The link was used, expired or revoked (410)."""


class LinkBusy(GdprError):
    """A transfer of this link is under way (409)."""


@dataclass(frozen=True)
class Fetched:
    request_id: int
    export_name: str
    link_id: int


class Downloads:
    def __init__(self, db: Database, audit: AuditLog, ring: KeyRing, clock: Callable[[], dt.datetime],
                 ttl: dt.timedelta) -> None:
        self.db, self.audit, self.clock, self.ttl = db, audit, clock, ttl
        self._keys = ring.macs(b"download-links")
        self._box = ring.sealer("download-links")

    def _hash(self, token: str) -> str:
        return hmac.new(self._keys[0], token.encode(), hashlib.sha256).hexdigest()

    def _hashes(self, token: str) -> list[str]:
        """The token's hash under every ring key: a link made before a key rotation still works."""
        return [hmac.new(key, token.encode(), hashlib.sha256).hexdigest() for key in self._keys]

    def create(self, *, request_id: int) -> int:
        """A live link for the request's export (an earlier live one is the same answer)."""
        live = self.live(request_id=request_id)
        if live is not None:
            return live[0]
        token, now = secrets.token_urlsafe(32), self.clock()
        with self.db.session() as s:
            row = m.DownloadLink(request_id=request_id, token_hash=self._hash(token), created_at=now,
                                 token_sealed=self._box.encrypt(token.encode()).decode(), expires_at=now + self.ttl,
                                 refused=0)
            s.add(row)
            s.flush()
            self.audit.record(s, actor="gdpr-bot", action="download.created", request_id=request_id, link=row.id,
                              expires_at=row.expires_at.isoformat())
            return row.id

    def live(self, *, request_id: int) -> tuple[int, str, dt.datetime] | None:
        """(link id, token, expiry) of the request's live link, if any."""
        return self.live_many(request_ids=[request_id]).get(request_id)

    def live_many(self, *, request_ids: list[int]) -> dict[int, tuple[int, str, dt.datetime]]:
        """The newest live link of each of these requests, in one query (a page of a club's requests)."""
        if not request_ids:
            return {}
        d, now, found = m.DownloadLink, self.clock(), {}
        with self.db.session() as s:
            for row in s.execute(select(d).where(d.request_id.in_(request_ids), d.used_at.is_(None),
                                                 d.revoked_at.is_(None), d.expires_at > now).order_by(d.id.desc())).scalars():
                if row.request_id not in found:
                    found[row.request_id] = (row.id, self._box.decrypt(row.token_sealed.encode()).decode(),
                                             aware(row.expires_at))
        return found  # type: ignore[return-value]

    def request_of(self, token: str) -> int | None:
        """The request a link belongs to, without spending it (to check who may spend it first)."""
        d = m.DownloadLink
        with self.db.session() as s:
            return s.execute(select(d.request_id).where(d.token_hash.in_(self._hashes(token)))).scalar()

    def begin(self, *, token: str, actor: str, hold: dt.timedelta = dt.timedelta(minutes=10)) -> Fetched:
        """Start the single download of a link: it is held for this transfer (another attempt meanwhile is
        LinkBusy) and spent only by `finish`, once the last byte is sent; a transfer that drops (`drop`),
        or whose process dies (the hold lapses), leaves the link live. LinkGone (counted and audited, in its
        own unit of work so the refusal is kept) when it was used, expired or revoked."""
        d, now = m.DownloadLink, self.clock()
        free = d.sending_until.is_(None) | (d.sending_until < now)
        with self.db.session() as s:
            row = s.execute(select(d).where(d.token_hash.in_(self._hashes(token)))).scalar()
            if row is None:
                raise LinkGone("No such download link.")
            hold_it = update(d).where(d.id == row.id, d.used_at.is_(None), d.revoked_at.is_(None), d.expires_at > now, free) \
                .values(sending_until=now + hold).execution_options(synchronize_session=False)
            if changed(s.execute(hold_it)) == 1:
                req = s.get_one(m.SubjectRequest, row.request_id)
                self.audit.record(s, actor=actor, action="download.started", request_id=row.request_id, link=row.id,
                                  subject_ref=req.subject_ref)
                return Fetched(row.request_id, req.export_name or "", row.id)
            if row.used_at is None and row.revoked_at is None and (aware(row.expires_at) or now) > now:
                raise LinkBusy("A download of this link is under way; try again when it has ended.")
            why = "revoked" if row.revoked_at else ("used" if row.used_at else "expired")
            s.execute(update(d).where(d.id == row.id).values(refused=d.refused + 1)
                      .execution_options(synchronize_session=False))
            self.audit.record(s, actor=actor, action="download.refused", request_id=row.request_id, link=row.id,
                              why=why)
        raise LinkGone(f"This download link was {why}; ask for the export again.")

    def finish(self, *, link_id: int, actor: str, size: int) -> bool:
        """The last byte went out: the link is spent (once: False if it already was)."""
        d = m.DownloadLink
        with self.db.session() as s:
            done = changed(s.execute(update(d).where(d.id == link_id, d.used_at.is_(None))
                                     .values(used_at=self.clock(), sending_until=None)))
            if done:
                request_id = s.execute(select(d.request_id).where(d.id == link_id)).scalar_one()
                self.audit.record(s, actor=actor, action="download.used", request_id=request_id, link=link_id,
                                  bytes=size)
            return bool(done)

    def drop(self, *, link_id: int, actor: str, sent: int, size: int) -> None:
        """The transfer ended before its last byte: the link stays live for another attempt."""
        d = m.DownloadLink
        with self.db.session() as s:
            s.execute(update(d).where(d.id == link_id, d.used_at.is_(None)).values(sending_until=None))
            request_id = s.execute(select(d.request_id).where(d.id == link_id)).scalar_one()
            self.audit.record(s, actor=actor, action="download.dropped", request_id=request_id, link=link_id,
                              bytes=sent, of=size)

    def revoke(self, *, request_id: int, why: str) -> int:
        d = m.DownloadLink
        with self.db.session() as s:
            n = changed(s.execute(update(d).where(d.request_id == request_id, d.revoked_at.is_(None), d.used_at.is_(None))
                                  .values(revoked_at=self.clock(), revoked_why=why)))
            if n:
                self.audit.record(s, actor="gdpr-bot", action="download.revoked", request_id=request_id, why=why)
            return n
