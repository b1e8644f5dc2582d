"""Looking subjects up: `/gdpr find`. Every lookup is audited as a VIEW; an unmasked one is also written
to the subject's own change history (the platform's VIEW logging)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gdpr.core.access import Actor
from gdpr.core.audit import AuditLog
from gdpr.core.authz import Authorizer
from gdpr.core.db import Database
from gdpr.core.subjects import SubjectDirectory, parse_identity
from gdpr.requests.service import RequestService


@dataclass(frozen=True)
class SubjectView:
    """One subject as this viewer may see it (masked unless permitted)."""
    subject_type: str
    fields: dict[str, str]  # number, club, name, email, phone
    unmasked_by: str | None = None  # "pii.view", a live grant "G-12", or None: masked


@dataclass(frozen=True)
class Found:
    how: str  # email | phone | number
    subjects: list[SubjectView]

    @property
    def unmasked(self) -> bool:
        """Every subject shown in the clear."""
        return all(v.unmasked_by for v in self.subjects)


@dataclass
class FindSubjects:
    db: Database
    audit: AuditLog
    authz: Authorizer
    directory: SubjectDirectory
    requests: RequestService  # for the subjects' keyed pseudonyms

    def __call__(self, *, actor: Actor, text: str, club_code: str | None) -> Found:
        self.authz.require(actor, "subject.find")
        identity = parse_identity(text, self.directory.patterns())
        found = self.directory.find(identity, kinds=("member", "lead"), club_code=club_code)
        why = [self.authz.unmasked_by(actor, self.requests.pseudonym(c.kind, c.key)) for c in found]
        with self.db.session() as s:  # every lookup is a VIEW, unmasked ones flagged with what allowed them
            for c, by in zip(found, why, strict=True):
                details: dict[str, Any] = {"unmasked_by": by} if by else {}
                self.audit.record(s, actor=actor.user_id, action="subject.viewed", via="find",
                                  subject_ref=self.requests.pseudonym(c.kind, c.key), unmasked=by is not None,
                                  **details)
            if not found:
                self.audit.record(s, actor=actor.user_id, action="subject.lookup", via="find", by=identity.how,
                                  matches=0)
        seen = [c for c, by in zip(found, why, strict=True) if by]
        if seen:
            self.directory.record_views(seen, viewer=actor.user_id)
        return Found(how=identity.how, subjects=[SubjectView(c.kind, c.plain() if by else c.masked(), by)
                                                 for c, by in zip(found, why, strict=True)])
