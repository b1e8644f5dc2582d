"""Use cases of a request's deadline (Art. 12(3)/(4)): extend it once within the first month, refuse it
with a notice for the club that carries the remedies, and the scheduler's reminders to the DPO."""
from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass

from gdpr.core import models as m
from gdpr.core.access import Actor
from gdpr.core.authz import Authorizer
from gdpr.core.datamap import DataMap
from gdpr.core.errors import UsageError
from gdpr.core.ports import RequestPresenter
from gdpr.core.templating import Templates
from gdpr.requests.deadlines import Deadlines
from gdpr.requests.service import RequestService

log = logging.getLogger(__name__)
MIN_TEXT, MAX_TEXT = 10, 1000


def checked_text(value: str, what: str) -> str:
    """A reason, ground or instruction the club passes on: whitespace folded, 10 to 1,000 characters."""
    value = " ".join(value.split())
    if not MIN_TEXT <= len(value) <= MAX_TEXT:
        raise UsageError(f"Give the {what} in {MIN_TEXT}–{MAX_TEXT} characters: the club passes it on to the person.")
    return value


@dataclass
class RequestDeadlines:
    authz: Authorizer
    requests: RequestService
    deadlines: Deadlines
    datamap: DataMap
    templates: Templates
    controller: Callable[[str, str], dict]  # (subject type, key) -> the club: name, contact, country
    presenter: RequestPresenter

    def extend(self, *, actor: Actor, request_id: int, reason: str, months: int = 2) -> m.SubjectRequest:
        """Art. 12(3): by one or two months, once, decided within the first month; the reasons are shown for
        the club (who must tell the person within the first month)."""
        self.authz.require(actor, "request.decide", refusal="Only the DPO may extend a request's deadline.",
                           request_id=request_id)
        self.requests.get(request_id)  # no such request is said first, before what the reasons lack
        req = self.deadlines.extend(request_id=request_id, actor=actor, reason=checked_text(reason, "reasons"), months=months)
        self.presenter.request_changed(req)
        self.presenter.request_extended(req)
        return req

    def refuse(self, *, actor: Actor, request_id: int, ground: str) -> str:
        """Art. 12(5): closed as refused (four eyes, the decide permission, once); returns the notice for the
        club, with the remedies of Art. 12(4), which the presenter shows with the request."""
        self.requests.ensure_can_decide(request_id=request_id, actor=actor)  # no such request, or not theirs: first
        req = self.requests.refuse(request_id=request_id, actor=actor, ground=checked_text(ground, "ground"))
        notice = self.refusal_notice(req)
        self.presenter.request_changed(req)
        self.presenter.request_refused(req, notice)
        return notice

    def refusal_notice(self, req: m.SubjectRequest) -> str:
        club = self.controller(req.subject_type, req.subject_key)
        notice, _ = self.templates.render(  # in the club's language (config/clubs.yaml)
            "refusal_notice.txt.j2", self.templates.language(club.get("code")),
            ref=f"R-{req.id}", kind=req.kind, club=club, processor=self.datamap.processor,
            authority=self.datamap.authority(club.get("country")), ground=req.reject_reason,
            received=req.club_received_on or req.received_at, decided=req.decided_at,
            due=req.original_due_on if req.extended_at and req.original_due_on else req.due_on)  # Art. 12(4): one month
        return notice

    def fire_reminders(self, now: dt.datetime) -> int:
        """The scheduler's pass: per open request, its most urgent due reminder is posted, then marked fired
        (with the earlier ones it overtook); one Slack could not take stays due."""
        fired = 0
        for request_id, reminder, moot in self.deadlines.due(now):
            try:
                shown = self.presenter.request_reminder(self.requests.get(request_id), reminder.days_before, now)
            except Exception as exc:  # Slack unreachable: the next pass tries again
                log.warning("deadline reminder of R-%s not posted: %s", request_id, type(exc).__name__)
                continue
            if shown:  # no card to reply to yet: due on the next pass
                fired += self.deadlines.fire(reminder, moot, now)
        return fired
