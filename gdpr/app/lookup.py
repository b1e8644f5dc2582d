"""Looking subjects up: `/gdpr find`. Every lookup is audited as a VIEW; an unmasked one is also written
to the subject's own change history (the platform's VIEW logging)."""
from __future__ import annotations

from dataclasses import dataclass

from gdpr.access import Actor
from gdpr.audit import AuditLog
from gdpr.authz import Authorizer
from gdpr.db import Database
from gdpr.requests import RequestService
from gdpr.subjects import SubjectDirectory, parse_identity


@dataclass(frozen=True)
class SubjectView:
    """One subject as this viewer may see it (masked unless permitted)."""
    subject_type: str
    fields: dict[str, str]  # number, club, name, email, phone


@dataclass(frozen=True)
class Found:
    how: str  # email | phone | number
    subjects: list[SubjectView]
    unmasked: bool


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
        unmasked = self.authz.sees_unmasked(actor)
        with self.db.session() as s:  # every lookup is a VIEW, unmasked ones flagged
            for c in found:
                self.audit.record(s, actor=actor.user_id, action="subject.viewed", via="find",
                                  subject_ref=self.requests.pseudonym(c.kind, c.key), unmasked=unmasked)
            if not found:
                self.audit.record(s, actor=actor.user_id, action="subject.lookup", via="find", by=identity.how,
                                  matches=0)
        if unmasked and found:
            self.directory.record_views(found, viewer=actor.user_id)
        return Found(how=identity.how, unmasked=unmasked,
                     subjects=[SubjectView(c.kind, c.plain() if unmasked else c.masked()) for c in found])
