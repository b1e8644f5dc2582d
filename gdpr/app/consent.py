"""Use cases of consent (Art. 7, 21): what a subject agreed to, withdrawing an agreement or objecting -
a request that needs no approval (Art. 7(3)) whose job records the withdrawal in the platform, disables
the integration links it permitted and tells those integrations through the Art. 19 outbox - and the
check that no integration receives data without an agreement in force."""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from gdpr.app.requests import SubjectRequests
from gdpr.consent.registry import Agreement, ConsentRegistry, ConsentViolations, Withdrawal
from gdpr.core import models as m
from gdpr.core.access import Actor
from gdpr.core.authz import Authorizer
from gdpr.core.errors import UsageError
from gdpr.core.ports import JobQueue
from gdpr.core.subjects import SubjectDirectory, parse_identity
from gdpr.erasure.engine import ErasureEngine
from gdpr.erasure.ledger import record_change, record_withdrawal
from gdpr.erasure.notices import NoticeService
from gdpr.requests.jobs import RequestJob, resend


@dataclass(frozen=True)
class ConsentView:
    subject_type: str
    subject: dict[str, str]  # as this viewer may see it
    unmasked_by: str | None
    agreements: list[Agreement]


@dataclass
class ConsentDesk:
    authz: Authorizer
    directory: SubjectDirectory
    registry: ConsentRegistry
    subject_requests: SubjectRequests  # opens, shows and queues the withdrawal like any request

    def show(self, *, actor: Actor, identity: str, subject_type: str, club_code: str | None) -> ConsentView:
        """`/gdpr consent`: the subject's agreements with wording version, channel and time; audited as a VIEW."""
        self.authz.require(actor, "subject.find")
        subject = self.directory.resolve(parse_identity(identity, self.directory.patterns()), kind=subject_type,
                                         club_code=club_code)
        requests = self.subject_requests.requests
        ref = requests.pseudonym(subject.kind, subject.key)
        by = self.authz.unmasked_by(actor, ref)
        details: dict[str, Any] = {"unmasked_by": by} if by else {}
        with requests.db.session() as s:
            requests.audit.record(s, actor=actor.user_id, action="subject.viewed", via="consent", subject_ref=ref,
                                  unmasked=by is not None, **details)
        if by:
            self.directory.record_views([subject], viewer=actor.user_id)
        return ConsentView(subject.kind, subject.plain() if by else subject.masked(), by,
                           self.registry.agreements(subject.kind, subject.key))

    def withdraw(self, *, actor: Actor, identity: str, subject_type: str, club_code: str | None, what: str,
                 objection: bool = False, reply_to: str | None = None) -> tuple[int, bool]:
        """Withdraw an agreement (or all of a purpose: `marketing`, `profiling`), or object (Art. 21): shown
        in the thread and queued at once - no approval stands between a person and their withdrawal.
        Returns (request id, whether its job is queued; if not, the reconciler sends it when the queue is back)."""
        self.authz.require(actor, "consent.manage", what=what[:40])
        subject = self.directory.resolve(parse_identity(identity, self.directory.patterns()), kind=subject_type,
                                         club_code=club_code)
        codes = self.registry.objected(what.lower()) if objection else self.registry.codes_for(what.lower())
        if not objection and not any(a.code in codes and a.withdrawn_at is None
                                     for a in self.registry.agreements(subject.kind, subject.key)):
            raise UsageError(f"{subject.masked()['number']} has no `{what[:30]}` agreement in force (never given, or "
                             "already withdrawn): there is nothing to withdraw, so no request is opened. To stop a "
                             "processing that rests on other grounds, `/gdpr object`.")
        use = self.subject_requests
        req = use.requests.open_withdrawal(subject=subject, requester_id=actor.user_id, codes=codes,
                                           objection=objection)
        return use.start(req, subject.masked(), reply_to, what="withdrawal")

    def object_to_interests(self, *, actor: Actor, identity: str, subject_type: str, club_code: str | None,
                            reply_to: str | None = None) -> int:
        """An objection to processing on legitimate interests (Art. 21(1)): unlike a withdrawal, the club (the
        controller) decides whether its grounds override the person's. Recorded as a request for the DPO's
        card, whose preview shows what upholding it erases; returns its id."""
        self.authz.require(actor, "consent.manage", what="interests")
        return self.subject_requests.open(actor=actor, kind="object", identity=identity, subject_type=subject_type,
                                          club_code=club_code, reply_to=reply_to).request_id

    def check(self, *, sample: int = 10) -> ConsentViolations:
        """Active integration links without an agreement in force (`gdpr-bot consent check`)."""
        return self.registry.violations(sample=sample)


@dataclass
class WithdrawalJob(RequestJob[Withdrawal]):
    registry: ConsentRegistry
    notices: NoticeService
    queue: JobQueue
    clock: Callable[[], dt.datetime]

    def work(self, req: m.SubjectRequest, still_mine: Callable[[], None]) -> Withdrawal:
        """Notices written first (waiting), then the withdrawal in one system transaction; a retry after a
        crash finds the links already disabled and its notices already written."""
        self.delivery.request_changed(req)
        codes = list((req.preview or {}).get("agreements", []))
        self.notices.prepare(request_id=req.id, links=self.registry.active_links(req.subject_type, req.subject_key,
                                                                                 codes))
        still_mine()
        at = self.clock()
        done = self.registry.withdraw(req.subject_type, req.subject_key, codes, at)
        # in the ledger once it took effect, so a restore of the platform from an older backup cannot undo it
        record_withdrawal(self.requests.db, request_id=req.id, kind=req.subject_type, key=req.subject_key,
                          codes=codes, objection=bool((req.preview or {}).get("objection")), at=at)
        return done

    def finish(self, request_id: int, owner: str, done: Withdrawal) -> str:
        return finish_with_notices(self, self.notices, self.queue, request_id, owner,
                                   {"withdrawn": done.codes, "links_disabled": len(done.links)})


@dataclass
class ObjectionJob(RequestJob[dict]):
    """An objection the club upheld (Art. 21(1)): the subject's rows processed on legitimate interests alone
    are erased by their rules (Art. 17(1)(c)), in one transaction, the recipients of those rows told through
    the Art. 19 outbox, and the change put in the ledger so a restore cannot undo it."""
    erasure: ErasureEngine
    notices: NoticeService
    queue: JobQueue
    clock: Callable[[], dt.datetime]

    def work(self, req: m.SubjectRequest, still_mine: Callable[[], None]) -> dict:
        self.delivery.request_changed(req)
        specs = self.erasure.datamap.on_interests(req.subject_type)
        told = {r for spec in specs for c in spec.columns.values() for r in c.recipients}
        links = [(p, x) for p, x in self.erasure.recipients(kind=req.subject_type, key=req.subject_key) if p in told]
        self.notices.prepare(request_id=req.id, links=links)
        still_mine()
        counts = self.erasure.erase_tables(kind=req.subject_type, key=req.subject_key, tables=[t.name for t in specs])
        record_change(self.requests.db, request_id=req.id, change=m.OBJECTION_CHANGE, kind=req.subject_type,
                      key=req.subject_key, at=self.clock(), detail={"tables": sorted(counts)})
        return counts

    def finish(self, request_id: int, owner: str, done: dict) -> str:
        return finish_with_notices(self, self.notices, self.queue, request_id, owner,
                                   {"tables": {t: c.get("erased", 0) for t, c in done.items()},
                                    "rows": sum(c.get("erased", 0) for c in done.values())})


def finish_with_notices(job: RequestJob, notices: NoticeService, queue: JobQueue, request_id: int, owner: str,
                        result: dict) -> str:
    """The end of a job whose recipients are told through the outbox: its notices released, the request
    done (or notifying while any is unsettled) with `result` and who is told, the thread and card current."""
    pending = notices.release(request_id=request_id)
    told = notices.for_request(request_id)
    status = m.NOTIFYING if any(n.status not in m.NOTICE_SETTLED for n in told) else m.DONE
    job.leases.finish(request_id=request_id, owner=owner, final_status=status,
                      result={**result, "recipients": sorted({n.recipient for n in told})})
    resend(pending, queue.notice, label="notice ")  # refused: the reconciler sends them
    shown = job.requests.get(request_id)
    if told:
        job.delivery.notices_changed(shown)
    job.delivery.request_changed(shown)
    return status
