"""Use cases of the record of processing activities (Art. 30(2)): the DPO's whole record, a club's view."""
from __future__ import annotations

from dataclasses import dataclass

from gdpr.app.reads import AuditedRead
from gdpr.clubs.ropa import RecordOfProcessing, Version
from gdpr.core.access import Actor
from gdpr.core.authz import Authorizer
from gdpr.core.templating import Templates


@dataclass
class Records:
    """`/gdpr ropa` and the clubs' `GET /v1/ropa`: the record, versioned; read access is audited."""
    authz: Authorizer
    reads: AuditedRead
    ropa: RecordOfProcessing
    templates: Templates

    def record(self, *, actor: Actor) -> tuple[Version, str]:
        """The whole record (every controller) and its HTML rendering (`audit.read`)."""
        self.authz.require(actor, "audit.read")
        version = self.ropa.current()
        self.reads.record(actor, "ropa.read", version=version.number)
        return version, self.templates.get_template("ropa.html.j2").render(r=version.record, version=version)

    def for_club(self, *, club: str) -> Version:
        """The record as one club (a controller) may read it: the processor's entries and its own."""
        version = self.ropa.current()
        mine = [c for c in version.record["controllers"] if c["code"] == club]
        # which other clubs joined or left the platform is none of this club's business
        changes = [c for c in version.changes if not c.startswith("controllers:") or c.endswith(f" {club}")]
        return Version(version.number, version.created_at, {**version.record, "controllers": mine}, changes)
