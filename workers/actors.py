"""Actors: thin wrappers that take ids and call a job use case; the Actors object is also the JobQueue port."""
from __future__ import annotations

import os
import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import dramatiq
from dramatiq.middleware import CurrentMessage

from gdpr.app.breaches import BreachDesk
from gdpr.app.consent import ObjectionJob, WithdrawalJob
from gdpr.app.requests import ExportJob
from gdpr.app.rights import RectificationJob, RestrictionJob
from gdpr.bulk.job import BulkJob
from gdpr.erasure.job import ErasureJob, NoticeJob

# Explicit retry policy (Dramatiq's default is 20 retries over ~35 days).
RETRIES, MIN_BACKOFF_MS, MAX_BACKOFF_MS = 4, 2_000, 60_000
ONE_HOUR_MS = 60 * 60 * 1000


class Jobs(Protocol):
    """The job use cases the actors call, and nothing else (bootstrap's composition root provides them)."""

    breach_desk: BreachDesk

    def export_job(self) -> ExportJob: ...
    def erasure_job(self) -> ErasureJob: ...
    def withdrawal_job(self) -> WithdrawalJob: ...
    def objection_job(self) -> ObjectionJob: ...
    def restriction_job(self) -> RestrictionJob: ...
    def rectification_job(self) -> RectificationJob: ...
    def notice_job(self) -> NoticeJob: ...
    def bulk_job(self) -> BulkJob: ...


@dataclass
class Actors:
    export_subject: dramatiq.Actor
    erase_subject: dramatiq.Actor
    withdraw_consent: dramatiq.Actor
    uphold_objection: dramatiq.Actor
    restrict_subject: dramatiq.Actor
    rectify_subject: dramatiq.Actor
    deliver_notice: dramatiq.Actor
    run_bulk: dramatiq.Actor
    deliver_breach_notice: dramatiq.Actor
    tell_members: dramatiq.Actor

    # gdpr.core.ports.JobQueue: messages carry ids only
    def request(self, request_id: int, kind: str) -> None:
        {"erase": self.erase_subject, "withdraw": self.withdraw_consent, "object": self.uphold_objection,
         "restrict": self.restrict_subject, "lift": self.restrict_subject,
         "rectify": self.rectify_subject}.get(kind, self.export_subject).send(request_id)

    def run(self, run_id: int) -> None:
        self.run_bulk.send(run_id)

    def notice(self, notice_id: int, delay_ms: int = 0) -> None:
        self.deliver_notice.send_with_options(args=(notice_id,), delay=delay_ms or None)

    def breach_notice(self, notice_id: int, delay_ms: int = 0) -> None:
        self.deliver_breach_notice.send_with_options(args=(notice_id,), delay=delay_ms or None)

    def member_notices(self, breach_id: int) -> None:
        self.tell_members.send(breach_id)


def owner_id() -> str:
    message = CurrentMessage.get_current_message()
    return f"{socket.gethostname()}:{os.getpid()}:{message.message_id if message else 'direct'}"


def declare(broker: dramatiq.Broker, jobs: Callable[[], Jobs]) -> Actors:
    """Declare the actors on `broker`; `jobs` returns the job use cases (built lazily, on first message)."""
    if not any(isinstance(m, CurrentMessage) for m in broker.middleware):
        broker.add_middleware(CurrentMessage())

    def export_subject(request_id: int) -> None:
        jobs().export_job().run(request_id=request_id, owner=owner_id())  # safe to run twice

    def erase_subject(request_id: int) -> None:
        jobs().erasure_job().run(request_id=request_id, owner=owner_id())  # safe to run twice

    def withdraw_consent(request_id: int) -> None:
        jobs().withdrawal_job().run(request_id=request_id, owner=owner_id())  # safe to run twice

    def uphold_objection(request_id: int) -> None:
        jobs().objection_job().run(request_id=request_id, owner=owner_id())  # safe to run twice

    def restrict_subject(request_id: int) -> None:
        jobs().restriction_job().run(request_id=request_id, owner=owner_id())  # restrict or lift; safe to run twice

    def rectify_subject(request_id: int) -> None:
        jobs().rectification_job().run(request_id=request_id, owner=owner_id())  # safe to run twice

    def deliver_notice(notice_id: int) -> None:
        # Backoff lives in the database (the thread shows it); no Dramatiq retries on top.
        jobs().notice_job().run(notice_id=notice_id)

    def run_bulk(run_id: int) -> None:
        jobs().bulk_job().run(run_id=run_id, owner=owner_id())  # resumes from its checkpoint

    def deliver_breach_notice(notice_id: int) -> None:
        # The outbox keeps the notice and its backoff; a delayed message brings the next attempt.
        jobs().breach_desk.deliver_notice(notice_id)

    def tell_members(breach_id: int) -> None:
        jobs().breach_desk.tell_members(breach_id)  # continues after the members already told

    return Actors(
        export_subject=_actor(export_subject, broker, queue_name="exports",
                                      time_limit=ONE_HOUR_MS, max_retries=RETRIES, min_backoff=MIN_BACKOFF_MS, max_backoff=MAX_BACKOFF_MS),
        erase_subject=_actor(erase_subject, broker, queue_name="erasures",
                                     time_limit=ONE_HOUR_MS, max_retries=RETRIES, min_backoff=MIN_BACKOFF_MS, max_backoff=MAX_BACKOFF_MS),
        withdraw_consent=_actor(withdraw_consent, broker, queue_name="erasures",
                                        time_limit=ONE_HOUR_MS, max_retries=RETRIES, min_backoff=MIN_BACKOFF_MS, max_backoff=MAX_BACKOFF_MS),
        uphold_objection=_actor(uphold_objection, broker, queue_name="erasures",
                                        time_limit=ONE_HOUR_MS, max_retries=RETRIES, min_backoff=MIN_BACKOFF_MS, max_backoff=MAX_BACKOFF_MS),
        restrict_subject=_actor(restrict_subject, broker, queue_name="erasures",
                                time_limit=ONE_HOUR_MS, max_retries=RETRIES, min_backoff=MIN_BACKOFF_MS, max_backoff=MAX_BACKOFF_MS),
        rectify_subject=_actor(rectify_subject, broker, queue_name="erasures",
                               time_limit=ONE_HOUR_MS, max_retries=RETRIES, min_backoff=MIN_BACKOFF_MS, max_backoff=MAX_BACKOFF_MS),
        deliver_notice=_actor(deliver_notice, broker, queue_name="notices", max_retries=0,
                                      time_limit=5 * 60 * 1000),
        run_bulk=_actor(run_bulk, broker, queue_name="bulk", time_limit=6 * ONE_HOUR_MS, max_retries=RETRIES, min_backoff=MIN_BACKOFF_MS, max_backoff=MAX_BACKOFF_MS),
        deliver_breach_notice=_actor(deliver_breach_notice, broker, queue_name="notices",
                                             max_retries=0, time_limit=5 * 60 * 1000),
        tell_members=_actor(tell_members, broker, queue_name="notices", time_limit=6 * ONE_HOUR_MS,
                                    max_retries=RETRIES, min_backoff=MIN_BACKOFF_MS, max_backoff=MAX_BACKOFF_MS))


def _actor(fn: Callable[[int], None], broker: dramatiq.Broker, **options: object) -> dramatiq.Actor:
    return dramatiq.actor(fn, broker=broker, **options)  # type: ignore[call-overload]  # options: Dramatiq's own
