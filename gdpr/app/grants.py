"""Use cases of temporary support access: ask (within the role's cap, for a named investigation),
decide (four eyes), list, revoke, and the scheduler's expiry - after which both sides are told, once."""
from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from gdpr.app.reads import PER_PAGE, Page, page_bounds
from gdpr.core import models as m
from gdpr.core.access import Actor, parse_short_duration
from gdpr.core.authz import Authorizer
from gdpr.core.errors import AlreadyDecided, NotAllowed, UsageError
from gdpr.core.ports import GrantPresenter
from gdpr.core.subjects import SubjectDirectory, parse_identity
from gdpr.grants.service import GrantService
from gdpr.requests.service import RequestService

log = logging.getLogger(__name__)
MIN_REASON, MAX_REASON = 10, 300
DPO_ONLY = "Only the DPO may revoke access grants."


@dataclass(frozen=True)
class GrantView:
    """A grant as a list shows it: the subject masked (its number), never unmasked here."""
    grant_id: int
    status: str
    requester_id: str
    subject: dict[str, str]
    minutes: int
    expires_at: dt.datetime | None
    reason: str


def hours(delta: dt.timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    return f"{minutes // 60} h" + (f" {minutes % 60} min" if minutes % 60 else "") if minutes >= 60 else f"{minutes} min"


@dataclass
class Grants:
    authz: Authorizer
    directory: SubjectDirectory
    requests: RequestService  # the subjects' keyed pseudonyms
    grants: GrantService
    presenter: GrantPresenter

    def ask(self, *, actor: Actor, identity: str, subject_type: str, club_code: str | None, duration: str,
            reason: str) -> int:
        """A request for temporary unmasked access, shown to the DPO; returns its id."""
        self.authz.require(actor, "grant.request")
        wanted, cap = parse_short_duration(duration), self.authz.policy.max_grant(actor)
        if wanted is None:
            raise UsageError(f"`{duration[:20]}` is not a duration: write minutes or hours, like `30m` or `2h`.")
        if cap is None or wanted > cap:
            with self.authz.db.session() as s:
                self.authz.audit.record(s, actor=actor.user_id, action="access.denied", permission="grant.cap",
                                        minutes=int(wanted.total_seconds() // 60))
            raise NotAllowed(f"Your role may ask for at most {hours(cap)} of access at a time." if cap else
                             "Your role may not ask for temporary access (no max_grant in roles.yaml).")
        reason = " ".join(reason.split())
        if not MIN_REASON <= len(reason) <= MAX_REASON:
            raise UsageError(f"Name the investigation in {MIN_REASON}–{MAX_REASON} characters "
                             "(a ticket number and what you need to check).")
        subject = self.directory.resolve(parse_identity(identity, self.directory.patterns()), kind=subject_type,
                                         club_code=club_code)
        grant = self.grants.open(requester=actor.user_id, subject=subject,
                                 ref=self.requests.pseudonym(subject.kind, subject.key),
                                 minutes=int(wanted.total_seconds() // 60), reason=reason)
        try:
            self.presenter.grant_opened(grant, subject.masked())
        except Exception:
            self.grants.withdraw(grant_id=grant.id, why="the request could not be shown to the DPO")
            raise
        return grant.id

    def approve(self, *, actor: Actor, grant_id: int) -> bool:
        """Approve: the access is live from now for the minutes asked; the requester is told."""
        grant = self.grants.decide(grant_id=grant_id, actor=actor, status=m.APPROVED, reason=None)
        self.presenter.grant_changed(grant)
        self.presenter.grant_started(grant)
        return True

    def check_decidable(self, *, actor: Actor, grant_id: int) -> None:
        grant = self.grants.ensure_can_decide(grant_id=grant_id, actor=actor)
        if grant.status not in m.GRANT_DECIDABLE:
            raise AlreadyDecided(f"G-{grant_id} was already decided ({grant.status}).")

    def reject(self, *, actor: Actor, grant_id: int, reason: str) -> None:
        self.presenter.grant_changed(self.grants.decide(grant_id=grant_id, actor=actor, status=m.REJECTED,
                                                        reason=reason))

    def revoke(self, *, actor: Actor, grant_id: int, reason: str | None = None) -> m.AccessGrant:
        """End a live grant now (the DPO); both sides are told."""
        self.authz.require(actor, "request.decide", refusal=DPO_ONLY, grant=grant_id)
        grant = self.grants.end(grant_id=grant_id, status=m.REVOKED, by=actor.user_id, reason=reason)
        if grant is None:
            current = self.grants.get(grant_id)
            raise AlreadyDecided(f"G-{grant_id} is not live ({current.status.replace('_', ' ')}).")
        self.presenter.grant_changed(grant)
        self._tell(grant.id)
        return grant

    def listed(self, *, actor: Actor, offset: int = 0, limit: int = PER_PAGE) -> Page[GrantView]:
        """Live and pending grants, soonest end first: all of them for the DPO, one's own for anyone else."""
        everyone = actor.can("request.decide") or actor.can("audit.read")
        offset, limit = page_bounds(offset, limit)
        grants = self.grants.listed(user_id=None if everyone else actor.user_id)
        out = []
        for g in grants[offset:offset + limit]:
            subject = self.directory.load(g.subject_type, g.subject_key)
            out.append(GrantView(g.id, g.status, g.requester_id, subject.masked() if subject else {"number": "erased"},
                                 g.minutes, g.expires_at, g.reason))
        return Page(out, offset, len(grants))

    def expire_due(self, now: dt.datetime) -> int:
        """The scheduler's pass: grants past their end are marked expired; everyone not yet told of an end
        is told (an end Slack missed is told on a later pass)."""
        ended = []
        for grant_id in self.grants.past_end(now):
            grant = self.grants.end(grant_id=grant_id, status=m.EXPIRED, by=None, reason=None, now=now)
            if grant is not None:
                ended.append(grant.id)
                self.presenter.grant_changed(grant)
        # ends older than a minute that nobody could tell yet (a revoke tells at once: not raced here)
        for grant_id in dict.fromkeys(ended + self.grants.untold(ended_before=now - dt.timedelta(minutes=1))):
            self._tell(grant_id)
        return len(ended)

    def _tell(self, grant_id: int) -> None:
        try:
            self.presenter.grant_ended(self.grants.get(grant_id))
        except Exception as exc:  # Slack down: still untold, the next pass tells them
            log.warning("end of G-%s not told yet: %s", grant_id, type(exc).__name__)
            return
        self.grants.told(grant_id=grant_id)
