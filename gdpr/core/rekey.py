"""After SECRET_KEY changed (the old one moved to SECRET_KEY_FALLBACKS): re-key what can be re-keyed, in
one unit of work, so the old key is needed for as little as possible.

Re-keyed: every sealed value (notice references, live download links, identifiers of running erasures,
rectifications' values)
is re-sealed with the newest key; the subject pseudonyms of requests and support grants (and the open-request
keys built from them) are recomputed from the subject's key. What cannot be re-keyed without what only the
holder has keeps working through the fallback key: club tokens (re-hashed with the newest key on their next
use), live download links' hashes, the audit chain's older events (each keeps the HMAC it was written with:
rewriting them would be editing the chain) and backups made before the rotation. Retire a fallback key only
when the audit chain written under it, and the backups made with it, may no longer need checking."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Table, select, update

from gdpr.core import models as m
from gdpr.core.audit import AuditLog
from gdpr.core.db import Database
from gdpr.core.keyring import KeyRing

SEALED: list[tuple[Table, str, str]] = [(t.__table__, name, purpose) for t, name, purpose in (  # type: ignore[misc]
    (m.Notice, "external_ref", "notices"), (m.DownloadLink, "token_sealed", "download-links"),
    (m.LedgerEntry, "sealed", "erasure"), (m.SubjectRequest, "instruction", "instructions"),
    (m.LedgerEntry, "corrected", "instructions"))]


@dataclass(frozen=True)
class Rekeyed:
    resealed: int
    pseudonyms: int
    key: str  # the newest key's id (never the key)

    def summary(self) -> str:
        return (f"re-keyed under key {self.key}: {self.resealed} sealed value(s) re-sealed, {self.pseudonyms} subject "
                "pseudonym(s) recomputed; club tokens re-hash on their next use; keep the old key in "
                "SECRET_KEY_FALLBACKS while the audit chain and backups made under it may need checking")


def rekey(db: Database, audit: AuditLog, ring: KeyRing, *, actor: str = "gdpr-bot") -> Rekeyed:
    resealed = pseudonyms = 0
    with db.session() as s:
        for table, name, purpose in SEALED:
            box, col = ring.sealer(purpose), table.c[name]
            for row_id, value in s.execute(select(table.c.id, col).where(col.is_not(None))).all():
                s.execute(update(table).where(table.c.id == row_id).values({name: box.rotate(value.encode()).decode()}))
                resealed += 1
        for req in s.execute(select(m.SubjectRequest)).scalars():
            ref = ring.pseudonyms(req.subject_type, req.subject_key)[0]
            if req.subject_ref != ref:
                req.open_key = req.open_key.replace(req.subject_ref, ref) if req.open_key else None
                req.subject_ref, pseudonyms = ref, pseudonyms + 1
        for grant in s.execute(select(m.AccessGrant)).scalars():
            ref = ring.pseudonyms(grant.subject_type, grant.subject_key)[0]
            if grant.subject_ref != ref:
                grant.subject_ref, pseudonyms = ref, pseudonyms + 1
        done = Rekeyed(resealed, pseudonyms, ring.ident(ring.current))
        audit.record(s, actor=actor, action="keys.rekeyed", key=done.key, resealed=resealed, pseudonyms=pseudonyms,
                     fallbacks=[ring.ident(k) for k in ring.keys[1:]])
    return done
