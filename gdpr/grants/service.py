"""Temporary support access: one user sees one subject unmasked, for a named investigation, for at most
their role's cap, once the DPO approved it (four eyes, on the one approval engine). A grant is live while
approved and not past its end - whatever the scheduler did - so it stops working at its end even if no
pass ran; the pass then marks it expired and tells both sides. It is never extended: a longer look is a
new request."""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gdpr.core import models as m
from gdpr.core.access import Actor
from gdpr.core.audit import AuditLog
from gdpr.core.db import Database, changed
from gdpr.core.errors import DuplicateRequest, GrantNotFound
from gdpr.core.subjects import Candidate
from gdpr.lifecycle.approval import Approvals, Decidable


def _started(s: Session, grant: m.AccessGrant, actor: Actor, status: str, reason: str | None,
             at: dt.datetime) -> None:
    """Approved: the clock starts at the decision, not at the request."""
    values: dict = {"open_key": None}
    if status == m.APPROVED:
        values["expires_at"] = at + dt.timedelta(minutes=grant.minutes)
    s.execute(update(m.AccessGrant).where(m.AccessGrant.id == grant.id).values(**values))


GRANTS = Decidable(model=m.AccessGrant, ref="G-", event="grant", asked="asked for this access",
                   what="access grants", statuses=m.GRANT_DECIDABLE, recorded=_started,
                   audit_fields=lambda g: {"grant": g.id, "subject_ref": g.subject_ref, "grantee": g.requester_id,
                                           "minutes": g.minutes})


class GrantService:
    def __init__(self, db: Database, audit: AuditLog, clock: Callable[[], dt.datetime]) -> None:
        self.db, self.audit, self.clock = db, audit, clock
        self.approvals = Approvals(db, audit, clock)

    def get(self, grant_id: int) -> m.AccessGrant:
        return self.db.load(m.AccessGrant, grant_id, GrantNotFound(f"There is no access grant G-{grant_id}."))

    def of_subject(self, subject_ref: str) -> list[m.AccessGrant]:
        """Every access grant ever asked for one subject, oldest first."""
        with self.db.session() as s:
            found = list(s.execute(select(m.AccessGrant).where(m.AccessGrant.subject_ref == subject_ref)
                                   .order_by(m.AccessGrant.id)).scalars())
            s.expunge_all()
            return found

    def open(self, *, requester: str, subject: Candidate, ref: str, minutes: int, reason: str) -> m.AccessGrant:
        """A new request, awaiting the DPO; one pending request per user and subject."""
        now = self.clock()
        grant = m.AccessGrant(status=m.AWAITING_APPROVAL, requester_id=requester, subject_type=subject.kind,
                              subject_key=subject.key, subject_ref=ref, club_id=subject.club_id, reason=reason,
                              minutes=minutes, open_key=f"{requester}:{ref}", asked_at=now)
        with self.db.session() as s:  # asked before the insert: a refused attempt uses no number
            if s.execute(select(m.AccessGrant.id).where(m.AccessGrant.open_key == grant.open_key)).first():
                raise DuplicateRequest("You already asked for access to this subject; the DPO has not decided yet.")
        try:
            with self.db.session() as s:
                s.add(grant)
                s.flush()
                self.audit.record(s, actor=requester, action="grant.requested", grant=grant.id, subject_ref=ref,
                                  minutes=minutes)
        except IntegrityError:
            raise DuplicateRequest("You already asked for access to this subject; the DPO has not decided yet.") from None
        return grant

    def withdraw(self, *, grant_id: int, why: str) -> None:
        """A request that could not be shown to the DPO: closed, so it can be asked again."""
        g = m.AccessGrant
        with self.db.session() as s:
            if changed(s.execute(update(g).where(g.id == grant_id, g.status.in_(m.GRANT_DECIDABLE))
                                 .values(status=m.REJECTED, open_key=None, reject_reason=why))):
                self.audit.record(s, actor="gdpr-bot", action="grant.abandoned", grant=grant_id, reason=why)

    def decide(self, *, grant_id: int, actor: Actor, status: str, reason: str | None) -> m.AccessGrant:
        self.approvals.decide(GRANTS, self.get(grant_id), actor, status, reason)
        return self.get(grant_id)

    def ensure_can_decide(self, *, grant_id: int, actor: Actor) -> m.AccessGrant:
        grant = self.get(grant_id)
        self.approvals.ensure_can_decide(GRANTS, grant, actor)
        return grant

    def live(self, *, user_id: str, subject_ref: str, now: dt.datetime | None = None) -> m.AccessGrant | None:
        """The user's live grant for this subject, if any (approved, not past its end)."""
        g, now = m.AccessGrant, now or self.clock()
        with self.db.session() as s:
            grant = s.execute(select(g).where(g.requester_id == user_id, g.subject_ref == subject_ref,
                                              g.status == m.APPROVED, g.expires_at > now)
                              .order_by(g.expires_at.desc()).limit(1)).scalar()
            if grant is not None:
                s.expunge(grant)
            return grant

    def listed(self, *, user_id: str | None, now: dt.datetime | None = None) -> list[m.AccessGrant]:
        """Live and pending grants, soonest end first (all of them, or one user's)."""
        g, now = m.AccessGrant, now or self.clock()
        query = select(g).where((g.status.in_(m.GRANT_DECIDABLE)) | ((g.status == m.APPROVED) & (g.expires_at > now)))
        if user_id is not None:
            query = query.where(g.requester_id == user_id)
        with self.db.session() as s:
            rows = list(s.execute(query.order_by(g.expires_at.is_(None), g.expires_at, g.id)).scalars())
            s.expunge_all()
        return rows

    def end(self, *, grant_id: int, status: str, by: str | None, reason: str | None,
            now: dt.datetime | None = None) -> m.AccessGrant | None:
        """approved -> expired or revoked, once; None when it had already ended (or never began)."""
        g, now = m.AccessGrant, now or self.clock()
        with self.db.session() as s:
            ended = g.expires_at if status == m.EXPIRED else now  # an expiry ended it at its end, not at the pass
            if not changed(s.execute(update(g).where(g.id == grant_id, g.status == m.APPROVED)
                                     .values(status=status, ended_at=ended, ended_by=by, end_reason=reason))):
                return None
            grant = s.get_one(g, grant_id)
            self.audit.record(s, actor=by or "gdpr-bot", action=f"grant.{status}", grant=grant_id,
                              subject_ref=grant.subject_ref, grantee=grant.requester_id)
        return self.get(grant_id)

    def past_end(self, now: dt.datetime) -> list[int]:
        g = m.AccessGrant
        with self.db.session() as s:
            return list(s.execute(select(g.id).where(g.status == m.APPROVED, g.expires_at <= now)).scalars())

    def untold(self, *, ended_before: dt.datetime) -> list[int]:
        """Grants that ended before then whose end the requester and approver were not told of (Slack was down)."""
        g = m.AccessGrant
        with self.db.session() as s:
            return list(s.execute(select(g.id).where(g.status.in_([m.EXPIRED, m.REVOKED]), g.end_told_at.is_(None),
                                                     g.ended_at <= ended_before).order_by(g.id)).scalars())

    def told(self, *, grant_id: int) -> None:
        g = m.AccessGrant
        with self.db.session() as s:
            s.execute(update(g).where(g.id == grant_id).values(end_told_at=self.clock()))
