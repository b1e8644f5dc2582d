"""Data-subject requests and their persisted lifecycle.

received -> awaiting_approval -> approved | rejected -> queued -> running -> done | failed
Every transition is a conditional UPDATE, so double clicks and races change state once.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gdpr.core import models as m
from gdpr.core.access import Actor
from gdpr.core.audit import AuditLog, subject_pseudonym
from gdpr.core.db import Database, changed
from gdpr.core.errors import DuplicateRequest, RequestNotFound, UsageError
from gdpr.core.keyring import KeyRing
from gdpr.core.subjects import Candidate
from gdpr.lifecycle.approval import Approvals, Decidable
from gdpr.requests.deadlines import arm
from gdpr.requests.duedates import add_one_month

KINDS = {"access": "Right of access (Art. 15) and portability (Art. 20)",
         "erase": "Right to erasure (Art. 17); recipients told (Art. 19)",
         "withdraw": "Withdrawal of consent (Art. 7(3)) or objection (Art. 21); integrations told",
         "object": "Objection to processing on legitimate interests (Art. 21(1)): the club decides. Approve if it "
                   "upholds it (that data is erased, Art. 17(1)(c)); reject with its compelling legitimate grounds",
         "restrict": "Restriction of processing (Art. 18) on the club's instruction: stored only; recipients told (Art. 19)",
         "lift": "Lifting a restriction (Art. 18(3)): the club tells the person first; recipients told",
         "rectify": "Rectification (Art. 16) on the club's instruction: the fields named are corrected; recipients told "
                    "(Art. 19)"}
AT_ONCE = ("withdraw", "restrict")  # nobody's to approve: opened approved, their job queued at once


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def aware(value: dt.datetime | None) -> dt.datetime | None:
    """SQLite hands back naive datetimes; everything we store is UTC."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value


def _decision(s: Session, req: m.SubjectRequest, actor: Actor, status: str, reason: str | None,
              at: dt.datetime) -> None:
    s.add(m.Decision(request_id=req.id, decision=status, user_id=actor.user_id, role=actor.role_label,
                     reason=reason, at=at))


REQUESTS = Decidable(model=m.SubjectRequest, ref="R-", event="request", asked="opened this request",
                     what="requests", statuses=m.DECIDABLE,
                     audit_fields=lambda req: {"request_id": req.id, "subject_ref": req.subject_ref},
                     on_reject=lambda now: {"open_key": None}, recorded=_decision)


RECEIVED_WINDOW = dt.timedelta(days=90)  # how long ago a club may say it received a request


class RequestService:
    def __init__(self, db: Database, audit: AuditLog, ring: KeyRing,
                 clock: Callable[[], dt.datetime] = utcnow) -> None:
        self.db, self.audit, self._ring, self.clock = db, audit, ring, clock
        self.approvals = Approvals(db, audit, clock)

    def pseudonym(self, kind: str, key: str) -> str:
        return subject_pseudonym(self._ring.current, kind, key)

    def pseudonyms(self, kind: str, key: str) -> list[str]:
        """Under every ring key, newest first: the audit chain keeps the ones written before a rotation."""
        return self._ring.pseudonyms(kind, key)

    def get(self, request_id: int) -> m.SubjectRequest:
        return self.db.load(m.SubjectRequest, request_id, RequestNotFound(f"There is no request R-{request_id}."))

    def of_subject(self, subject_ref: str) -> list[m.SubjectRequest]:
        """Every request of one subject (by its pseudonym), oldest first."""
        with self.db.session() as s:
            found = list(s.execute(select(m.SubjectRequest).where(m.SubjectRequest.subject_ref == subject_ref)
                                   .order_by(m.SubjectRequest.id)).scalars())
            s.expunge_all()
            return found

    def refs_with_requests(self, refs: list[str]) -> set[str]:
        """Of these subject pseudonyms, the ones any request was ever filed for (one query)."""
        if not refs:
            return set()
        with self.db.session() as s:
            return set(s.execute(select(m.SubjectRequest.subject_ref).where(m.SubjectRequest.subject_ref.in_(refs))
                                 .distinct()).scalars())

    def open_request(self, *, kind: str, subject: Candidate, requester_id: str,
                     club_received_on: dt.date | None = None, preview: dict | None = None,
                     instruction: str | None = None) -> m.SubjectRequest:
        """Persist a new request awaiting approval; one open request per kind and subject. The month runs
        from the club's receipt (Art. 12(3)); its reminders are armed with it."""
        now = self.clock()
        received = club_received_on or now.date()
        if received > now.date():
            raise UsageError("The club cannot have received the request in the future.")
        if received < now.date() - RECEIVED_WINDOW:  # overdue at once, pinging the DPO group: a typo, or for the DPO
            raise UsageError(f"A request received more than {RECEIVED_WINDOW.days} days ago is not opened here "
                             f"(it would be overdue at once): check the date, or take it to the DPO.")
        ref = self.pseudonym(subject.kind, subject.key)
        req = m.SubjectRequest(kind=kind, status=m.RECEIVED, subject_type=subject.kind,
                               subject_key=subject.key, subject_ref=ref, club_id=subject.club_id,
                               open_key=f"{kind}:{ref}", requester_id=requester_id, received_at=now,
                               club_received_on=received, due_on=add_one_month(received), attempts=0,
                               preview=preview, instruction=instruction)
        if self._open_id(kind, ref) is not None:  # asked before the insert: a refused attempt uses no number
            raise DuplicateRequest(f"An open {kind} request already exists for this subject: "
                                   f"R-{self._open_id(kind, ref)}.")
        try:
            with self.db.session() as s:
                s.add(req)
                s.flush()
                arm(s, req.id, req.due_on, 1)
                self.audit.record(s, actor=requester_id, action="request.received", request_id=req.id,
                                  subject_ref=ref, kind=kind, due_on=req.due_on.isoformat(),
                                  club_received_on=received.isoformat())
        except IntegrityError:
            raise DuplicateRequest(f"An open {kind} request already exists for this subject: "
                                   f"R-{self._open_id(kind, ref)}.") from None
        return req

    def open_withdrawal(self, *, subject: Candidate, requester_id: str, codes: list[str],
                        objection: bool) -> m.SubjectRequest:
        """A withdrawal needs no approval (Art. 7(3): as easy as giving consent): it is opened approved,
        for its job; one open withdrawal per subject and set of agreements."""
        ref = self.pseudonym(subject.kind, subject.key)
        return self.open_at_once(kind="withdraw", subject=subject, requester_id=requester_id,
                                 open_key=f"withdraw:{'+'.join(codes)}:{ref}", action="consent.withdrawal",
                                 busy="That withdrawal is already under way for this subject.",
                                 preview={"agreements": codes, "objection": objection})

    def open_at_once(self, *, kind: str, subject: Candidate, requester_id: str, open_key: str, action: str, busy: str,
                     preview: dict, audited: dict | None = None) -> m.SubjectRequest:
        """A request nobody needs to approve (a withdrawal, a restriction): opened approved, for its job; one
        open at a time per `open_key`. Audited under `action` with `audited` (default: the preview; a typed
        ground stays out of the chain)."""
        now, ref = self.clock(), self.pseudonym(subject.kind, subject.key)
        req = m.SubjectRequest(kind=kind, status=m.APPROVED, subject_type=subject.kind, subject_key=subject.key,
                               subject_ref=ref, club_id=subject.club_id, open_key=open_key[:100],
                               requester_id=requester_id, received_at=now, club_received_on=now.date(),
                               due_on=add_one_month(now.date()), attempts=0, decided_at=now, decided_by=requester_id,
                               preview=preview)
        with self.db.session() as s:  # asked before the insert: a refused attempt uses no number
            if s.execute(select(m.SubjectRequest.id).where(m.SubjectRequest.open_key == req.open_key)).first():
                raise DuplicateRequest(busy)
        try:
            with self.db.session() as s:
                s.add(req)
                s.flush()
                self.audit.record(s, actor=requester_id, action=action, request_id=req.id, subject_ref=ref,
                                  **(preview if audited is None else audited))
        except IntegrityError:
            raise DuplicateRequest(busy) from None
        return req

    def drop_instruction(self, *, request_id: int) -> None:
        """A rectification's values have been applied (the ledger keeps them, sealed): the request's copy goes."""
        with self.db.session() as s:
            s.execute(update(m.SubjectRequest).where(m.SubjectRequest.id == request_id).values(instruction=None))

    def _open_id(self, kind: str, ref: str) -> int | None:
        with self.db.session() as s:
            return s.execute(select(m.SubjectRequest.id).where(m.SubjectRequest.open_key == f"{kind}:{ref}")).scalar()

    def await_approval(self, *, request_id: int) -> str:
        """received -> awaiting_approval: ready for the approvers (whatever shows it to them)."""
        r = m.SubjectRequest
        with self.db.session() as s:
            s.execute(update(r).where(r.id == request_id, r.status == m.RECEIVED).values(status=m.AWAITING_APPROVAL))
        return m.AWAITING_APPROVAL

    def set_preview(self, *, request_id: int, preview: dict) -> None:
        with self.db.session() as s:
            s.execute(update(m.SubjectRequest).where(m.SubjectRequest.id == request_id).values(preview=preview))
            req = s.get_one(m.SubjectRequest, request_id)
            self.audit.record(s, actor="gdpr-bot", action="erasure.preview", request_id=request_id,
                              subject_ref=req.subject_ref, **preview)

    def open_of_kind(self, *, kind: str, subject_ref: str) -> int | None:
        return self._open_id(kind, subject_ref)

    def close_open(self, *, club_id: str, why: str) -> list[m.SubjectRequest]:
        """The club's requests not yet running (received, awaiting the DPO, approved, queued) are closed: its
        contract ended. Returns them as closed."""
        r = m.SubjectRequest
        opened = [m.RECEIVED, m.AWAITING_APPROVAL, m.APPROVED, m.QUEUED]
        with self.db.session() as s:
            ids = list(s.execute(select(r.id).where(r.club_id == club_id, r.status.in_(opened))).scalars())
            s.execute(update(r).where(r.id.in_(ids), r.status.in_(opened)).values(
                status=m.CLOSED, open_key=None, error=why, finished_at=self.clock()))
            for req in s.execute(select(r).where(r.id.in_(ids))).scalars():
                self.audit.record(s, actor="gdpr-bot", action="request.closed", request_id=req.id,
                                  subject_ref=req.subject_ref, reason="club offboarded")
            found = list(s.execute(select(r).where(r.id.in_(ids))).scalars())
            s.expunge_all()
            return found

    def abandon(self, *, request_id: int, reason: str) -> None:
        """A request that could not be put in front of the DPO: closed, so it can be filed again."""
        r = m.SubjectRequest
        with self.db.session() as s:
            if changed(s.execute(update(r).where(r.id == request_id, r.status.in_([m.RECEIVED, m.AWAITING_APPROVAL]))
                         .values(status=m.FAILED, open_key=None, error=reason, finished_at=self.clock()))):
                req = s.get_one(r, request_id)
                self.audit.record(s, actor="gdpr-bot", action="request.abandoned", request_id=request_id,
                                  subject_ref=req.subject_ref, reason=reason)

    def approve(self, *, request_id: int, actor: Actor) -> m.SubjectRequest:
        self.approvals.decide(REQUESTS, self.get(request_id), actor, m.APPROVED, None)
        return self.get(request_id)

    def reject(self, *, request_id: int, actor: Actor, reason: str) -> m.SubjectRequest:
        self.approvals.decide(REQUESTS, self.get(request_id), actor, m.REJECTED, reason)
        return self.get(request_id)

    def refuse(self, *, request_id: int, actor: Actor, ground: str) -> m.SubjectRequest:
        """Art. 12(5): a formal refusal, decided like an approval (four eyes, once); the ground is kept."""
        self.approvals.decide(REQUESTS, self.get(request_id), actor, m.REFUSED, ground)
        return self.get(request_id)

    def ensure_can_decide(self, *, request_id: int, actor: Actor) -> m.SubjectRequest:
        """Four eyes and the decide permission, audited when refused; returns the request."""
        req = self.get(request_id)
        self.approvals.ensure_can_decide(REQUESTS, req, actor)
        return req

    def mark_queued(self, *, request_id: int) -> bool:
        """approved -> queued (or re-stamp a queued one); False when it already moved on."""
        with self.db.session() as s:
            return changed(s.execute(update(m.SubjectRequest)
                             .where(m.SubjectRequest.id == request_id,
                                    m.SubjectRequest.status.in_([m.APPROVED, m.QUEUED]))
                             .values(status=m.QUEUED, queued_at=self.clock()))) == 1

    def has_event(self, *, request_id: int, action: str) -> bool:
        """Whether the audit chain already holds this event about the request (steps recorded once)."""
        with self.db.session() as s:
            return s.execute(select(m.AuditEvent.seq).where(m.AuditEvent.request_id == request_id,
                                                            m.AuditEvent.action == action).limit(1)).first() is not None

    def needing_enqueue(self, *, requeue_after: dt.timedelta) -> list[int]:
        with self.db.session() as s:
            return lost_jobs(s, m.SubjectRequest, now=self.clock(), requeue_after=requeue_after)


def lost_jobs(session: Session, model: Any, *, now: dt.datetime, requeue_after: dt.timedelta) -> list[int]:
    """Ids of jobs the queue may have lost: approved but never queued, queued for too long (message
    lost), or running with a dead lease. `model` has status, queued_at and lease_expires_at."""
    return list(session.execute(select(model.id).where(or_(
        model.status == m.APPROVED,
        (model.status == m.QUEUED) & (model.queued_at < now - requeue_after),
        (model.status == m.RUNNING) & (model.lease_expires_at < now),
    )).order_by(model.id)).scalars())


def record(session: Session, audit: AuditLog, req: m.SubjectRequest, actor: str, action: str, **details: Any) -> None:
    """Audit an event about a request inside the caller's unit of work."""
    audit.record(session, actor=actor, action=action, request_id=req.id, subject_ref=req.subject_ref, **details)
