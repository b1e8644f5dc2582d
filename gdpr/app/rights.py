"""Use cases of restriction (Art. 18) and rectification (Art. 16) on the club's instruction, and their jobs.

`restrict`: nobody's to approve (like a withdrawal: it only protects the person): opened approved, its job
marks the subject restricted in the platform (the data map's `restriction` column), tells every recipient of
the subject's data through the Art. 19 outbox, and writes the ledger so a restore cannot undo it.
`lift`: the DPO approves (four eyes); its job clears the mark, tells the recipients, and mails the club
(in its language) that it is lifted, with Art. 18(3)'s reminder that the person is told first.
`rectify`: the DPO approves; the club's corrected values are checked against the data map's `rectifiable`
columns, kept sealed on the request (never in Slack, a log, a queue message or the audit chain: those see
field names), written by the job, told to the recipients that hold those columns (each only its own), and
sealed in the ledger for replay, until the subject is erased."""
from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass

from cryptography.fernet import MultiFernet

from gdpr.app.consent import finish_with_notices
from gdpr.app.deadlines import checked_text
from gdpr.app.requests import Opened, SubjectRequests
from gdpr.core import models as m
from gdpr.core.access import Actor
from gdpr.core.datamap import DataMap
from gdpr.core.errors import AlreadyInEffect, GdprError, UsageError
from gdpr.core.mail import Mailer, build_message
from gdpr.core.ports import JobQueue
from gdpr.core.subjects import parse_identity
from gdpr.core.templating import Templates
from gdpr.erasure.engine import ErasureEngine
from gdpr.erasure.ledger import erasure_intent, record_change
from gdpr.erasure.notices import NoticeService
from gdpr.requests.jobs import RequestJob
from gdpr.requests.rights import PlatformRights
from gdpr.requests.service import RequestService

INSTRUCTIONS = "instructions"  # the sealer's purpose for a rectification's values


def parse_changes(text: str) -> dict[str, str]:
    """`field=value; field=value` as typed after the subject (a value may hold spaces, not `;`)."""
    changes: dict[str, str] = {}
    for part in text.split(";"):
        if not part.strip():
            continue
        field, sep, value = part.partition("=")
        if not sep:
            raise UsageError("Write each correction as `field=value`, several separated by `;`.")
        changes[field.strip().lower()] = value.strip()
    return changes


@dataclass
class RightsDesk:
    subject_requests: SubjectRequests  # opens, shows and queues them like any request
    rights: PlatformRights
    sealer: MultiFernet

    def restrict(self, *, actor: Actor, identity: str, subject_type: str, club_code: str | None, ground: str,
                 reply_to: str | None = None) -> tuple[int, bool]:
        """Restrict processing (Art. 18(1)) on the club's instruction, with its ground (which the card shows and
        the audit chain does not): shown and queued at once. Returns (request id, whether its job is queued)."""
        use = self.subject_requests
        use.authz.require(actor, "request.create", kind="restrict")
        ground = checked_text(ground, "ground (e.g. the member contests the accuracy of their address, Art. 18(1)(a))")
        subject = use.directory.resolve(parse_identity(identity, use.directory.patterns()), kind=subject_type,
                                        club_code=club_code)
        if self.rights.restricted_since(subject.kind, subject.key) is not None:
            raise AlreadyInEffect(f"{subject.masked()['number']} is already restricted: nothing to do. To lift it, "
                                  "`/gdpr restrict lift <id> <reason>`.")
        ref = use.requests.pseudonym(subject.kind, subject.key)
        req = use.requests.open_at_once(kind="restrict", subject=subject, requester_id=actor.user_id,
                                        open_key=f"restrict:{ref}", action="request.received",
                                        busy="A restriction of this subject is already under way.",
                                        preview={"ground": ground}, audited={"kind": "restrict"})
        return use.start(req, subject.masked(), reply_to, what="restriction")

    def lift(self, *, actor: Actor, identity: str, subject_type: str, club_code: str | None, reason: str,
             reply_to: str | None = None) -> Opened:
        """Lift a restriction (Art. 18(3)) on the club's instruction: for the DPO to approve."""
        reason = checked_text(reason, "reason for lifting the restriction")
        use = self.subject_requests
        use.authz.require(actor, "request.create", kind="lift")
        subject = use.directory.resolve(parse_identity(identity, use.directory.patterns()), kind=subject_type,
                                        club_code=club_code)
        if self.rights.restricted_since(subject.kind, subject.key) is None:
            raise AlreadyInEffect(f"{subject.masked()['number']} is not restricted: there is nothing to lift.")
        return self.subject_requests.open(actor=actor, kind="lift", identity=identity, subject_type=subject_type,
                                          club_code=club_code, reply_to=reply_to, preview={"reason": reason})

    def rectify(self, *, actor: Actor, identity: str, subject_type: str, club_code: str | None,
                changes: dict[str, str], reply_to: str | None = None) -> Opened:
        """Correct the fields the club names (Art. 16), for the DPO to approve; the values are checked first
        and kept sealed (the card shows the fields only)."""
        values = self.rights.check(subject_type, changes)
        return self.subject_requests.open(actor=actor, kind="rectify", identity=identity, subject_type=subject_type,
                                          club_code=club_code, reply_to=reply_to, preview={"fields": sorted(values)},
                                          instruction=self.sealer.encrypt(json.dumps(values).encode()).decode())


@dataclass
class LiftNotice:
    """The club's mail when a restriction is lifted, in its language (templates/restriction_lifted.txt.j2)."""
    templates: Templates
    mailer: Mailer
    controller: Callable[[str, str], dict]  # (subject type, key) -> the club: name, contact, code
    datamap: DataMap
    sender: str
    requests: RequestService

    def restricted_by(self, req: m.SubjectRequest) -> str:
        """The request whose restriction this lift ends (the newest one done before it)."""
        done = [r for r in self.requests.of_subject(req.subject_ref)
                if r.kind == "restrict" and r.status in (m.DONE, m.NOTIFYING) and r.id < req.id]
        return f"R-{done[-1].id}" if done else "an earlier instruction"

    def __call__(self, req: m.SubjectRequest, lifted: dt.datetime) -> None:
        club = self.controller(req.subject_type, req.subject_key)
        if "@" not in str(club.get("contact")):
            raise GdprError(f"Club {club['name']} has no GDPR contact email: it cannot be told that R-{req.id} lifted "
                            "the restriction. Record one in the platform; the job is tried again.")
        body, subject = self.templates.render(
            "restriction_lifted.txt.j2", self.templates.language(club.get("code")), ref=f"R-{req.id}", club=club,
            processor=self.datamap.processor, lifted=lifted, reason=(req.preview or {}).get("reason", ""),
            restricted_by=self.restricted_by(req))
        self.mailer.send(build_message(sender=self.sender, to=club["contact"], subject=subject or f"R-{req.id}",
                                       body=body, idempotency_key=f"R-{req.id}:restriction-lifted"))


@dataclass
class RestrictionJob(RequestJob[dict]):
    """`restrict` and `lift`: the notices written first (waiting), the platform's mark set or cleared, the
    ledger written, (lift) the club told; a retry finds the mark already in effect and changes nothing twice."""
    rights: PlatformRights
    erasure: ErasureEngine  # the subject's links to recipients
    notices: NoticeService
    queue: JobQueue
    clock: Callable[[], dt.datetime]
    lifted: Callable[[m.SubjectRequest, dt.datetime], None]  # LiftNotice

    def work(self, req: m.SubjectRequest, still_mine: Callable[[], None]) -> dict:
        self.delivery.request_changed(req)
        kind, key = req.subject_type, req.subject_key
        self.notices.prepare(request_id=req.id, links=self.erasure.recipients(kind=kind, key=key))
        still_mine()
        at, lift = self.clock(), req.kind == "lift"
        changed = self.rights.lift(kind, key) if lift else self.rights.restrict(kind, key, at)
        record_change(self.requests.db, request_id=req.id, change=m.RESTRICTION_CHANGE, kind=kind, key=key, at=at,
                      detail={"action": "lift" if lift else "restrict"})
        if lift:
            self.lifted(req, at)
        since = self.rights.restricted_since(kind, key)
        return {"restricted": since is not None, "changed": changed,
                "since": since.replace(tzinfo=dt.UTC).isoformat() if since else None}

    def finish(self, request_id: int, owner: str, done: dict) -> str:
        return finish_with_notices(self, self.notices, self.queue, request_id, owner, done)


@dataclass
class RectificationJob(RequestJob[dict]):
    """`rectify`: the notices of the recipients holding those columns written first (waiting), the values
    written in one transaction, the ledger written (the values sealed, for replay), the request's own copy
    dropped; a retry writes nothing twice."""
    rights: PlatformRights
    erasure: ErasureEngine
    notices: NoticeService
    queue: JobQueue
    clock: Callable[[], dt.datetime]
    sealer: MultiFernet

    def work(self, req: m.SubjectRequest, still_mine: Callable[[], None]) -> dict:
        self.delivery.request_changed(req)
        kind, key = req.subject_type, req.subject_key
        entry_sealed = req.instruction
        if not entry_sealed:  # an attempt that died after the ledger took the values over
            entry = erasure_intent(self.requests.db, req.id)
            entry_sealed = entry.corrected if entry is not None else None
        if not entry_sealed:
            raise GdprError(f"R-{req.id} holds no corrections any more (the subject was erased since).")
        values = json.loads(self.sealer.decrypt(entry_sealed.encode()))
        told = self.rights.receivers(kind, sorted(values))
        links = [(p, x) for p, x in self.erasure.recipients(kind=kind, key=key) if p in told]
        self.notices.prepare(request_id=req.id, links=links)
        still_mine()
        changed = self.rights.rectify(kind, key, values)
        record_change(self.requests.db, request_id=req.id, change=m.RECTIFICATION_CHANGE, kind=kind, key=key,
                      at=self.clock(), detail={"fields": sorted(values)}, corrected=entry_sealed)
        self.requests.drop_instruction(request_id=req.id)  # the ledger keeps them (sealed) for a replay
        return {"fields": sorted(values), "changed": changed}

    def finish(self, request_id: int, owner: str, done: dict) -> str:
        return finish_with_notices(self, self.notices, self.queue, request_id, owner, done)
