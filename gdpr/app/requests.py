"""Use cases of a data-subject request: open it, decide it (four eyes), queue its job, and the export
job a worker runs for an approved access request.

Every entry point - a Slack listener, later the clubs' API - calls these; the request reaches each of
its states here, whatever shows it (the presenter port) and whatever runs its job (the queue port)."""
from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass

from gdpr.core import models as m
from gdpr.core.access import Actor
from gdpr.core.authz import Authorizer
from gdpr.core.crypto import new_passphrase
from gdpr.core.errors import AlreadyDecided, GdprError, RequestNotFound
from gdpr.core.ports import JobQueue, RequestPresenter
from gdpr.core.subjects import SubjectDirectory, parse_identity
from gdpr.erasure.engine import ErasureEngine
from gdpr.erasure.notices import NoticeService
from gdpr.requests.export import Exporter, ExportFile
from gdpr.requests.export_files import ExportFiles
from gdpr.requests.jobs import RequestJob
from gdpr.requests.service import RequestService

log = logging.getLogger(__name__)
DPO_ONLY = "Only the DPO may retry or close recipient notices."


@dataclass(frozen=True)
class Opened:
    request_id: int
    status: str


NO_LONGER_THERE = {"number": "—", "club": "—", "name": "(no longer in the system)", "email": "—", "phone": "—"}


@dataclass(frozen=True)
class RequestViews:
    """The request presenter's reads (no decision, no audit event): a request as it is now, its subject
    masked (channels always see masked data), its notices to recipients."""

    requests: RequestService
    directory: SubjectDirectory
    notice_service: NoticeService

    def request(self, request_id: int) -> m.SubjectRequest:
        return self.requests.get(request_id)

    def subject(self, subject_type: str, key: str) -> dict[str, str]:
        return self.masked(subject_type, key) or NO_LONGER_THERE

    def masked(self, subject_type: str, key: str) -> dict[str, str] | None:
        """A subject's masked fields, or None when it is no longer in the system."""
        found = self.directory.load(subject_type, key)
        return None if found is None else found.masked()

    def notices(self, request_id: int) -> list[m.Notice]:
        return self.notice_service.for_request(request_id)


@dataclass
class SubjectRequests:
    authz: Authorizer
    directory: SubjectDirectory
    requests: RequestService
    erasure: ErasureEngine
    notices: NoticeService
    presenter: RequestPresenter
    queue: JobQueue

    def open(self, *, actor: Actor, kind: str, identity: str, subject_type: str, club_code: str | None,
             reply_to: str | None = None, club_received_on: dt.date | None = None, preview: dict | None = None,
             instruction: str | None = None) -> Opened:
        """A request the DPO approves (access, erase, an objection, lifting a restriction, a rectification):
        resolve the subject, persist (with its `preview`, no personal data, and a sealed `instruction`), (erase:
        compute the preview), show it for approval (`reply_to`: where the requester asked, for the presenter).
        The month runs from the club's receipt (`club_received_on`, default today). A request that could not
        be shown is abandoned, so it can be filed again."""
        self.authz.require(actor, "request.create", kind=kind)
        subject = self.directory.resolve(parse_identity(identity, self.directory.patterns()), kind=subject_type,
                                         club_code=club_code)
        req = self.requests.open_request(kind=kind, subject=subject, requester_id=actor.user_id,
                                         club_received_on=club_received_on, preview=preview, instruction=instruction)
        if kind in ("erase", "object"):
            req.preview = self._preview(req)
        req.status = self.requests.await_approval(request_id=req.id)
        try:
            self.presenter.request_opened(req, subject.masked(), reply_to)
        except Exception:
            self.requests.abandon(request_id=req.id, reason="the request could not be shown for approval")
            raise
        return Opened(req.id, req.status)

    def start(self, req: m.SubjectRequest, subject: dict[str, str], reply_to: str | None, *,
              what: str) -> tuple[int, bool]:
        """A request nobody approves (a withdrawal, a restriction), opened approved: shown, then queued. One that
        could not be shown is abandoned, so it can be filed again. Returns (its id, whether its job is queued)."""
        try:
            self.presenter.request_opened(req, subject, reply_to)
        except Exception:
            self.requests.abandon(request_id=req.id, reason=f"the {what} could not be shown")
            raise
        return req.id, self.enqueue(req.id)

    def _preview(self, req: m.SubjectRequest) -> dict:
        """Computed for this subject now: rows per table and rule, holds, recipients, warnings."""
        only = [t.name for t in self.erasure.datamap.on_interests(req.subject_type)] if req.kind == "object" else None
        preview = self.erasure.plan(kind=req.subject_type, key=req.subject_key, only=only).summary()
        pending = self.requests.open_of_kind(kind="access", subject_ref=req.subject_ref)
        if pending:
            preview["warnings"].append(f"a pending access request (R-{pending}): answer it before erasing")
        self.requests.set_preview(request_id=req.id, preview=preview)
        return preview

    def approve(self, *, actor: Actor, request_id: int) -> bool:
        """Approve (four eyes, the decide permission), then queue the job; False when the queue could
        not take it (the request stays approved and the reconciler sends it)."""
        self.requests.approve(request_id=request_id, actor=actor)
        return self.enqueue(request_id)

    def check_decidable(self, *, actor: Actor, request_id: int) -> None:
        """Before asking a rejecter for a reason: may they decide it, and is it still undecided?"""
        req = self.requests.ensure_can_decide(request_id=request_id, actor=actor)
        if req.status not in m.DECIDABLE:
            raise AlreadyDecided(f"R-{request_id} was already decided ({req.status.replace('_', ' ')}).")

    def reject(self, *, actor: Actor, request_id: int, reason: str) -> None:
        self.presenter.request_changed(self.requests.reject(request_id=request_id, actor=actor, reason=reason))

    # -- Art. 19 notices that keep failing: the DPO retries, or records why a recipient cannot be told --
    def notice_to_close(self, *, actor: Actor, notice_id: int) -> str:
        """The recipient of a notice the DPO is about to close (for the form)."""
        self.authz.require(actor, "request.decide", refusal=DPO_ONLY, notice=notice_id)
        notice = self.notices.get(notice_id)
        if notice is None:
            raise RequestNotFound("That notice does not exist.")
        return notice.recipient

    def retry_notice(self, *, actor: Actor, notice_id: int) -> None:
        self.authz.require(actor, "request.decide", refusal=DPO_ONLY, notice=notice_id)
        notice = self.notices.retry(notice_id=notice_id, actor_id=actor.user_id)
        self.queue.notice(notice.id)
        if notice.request_id is not None:
            self.presenter.notices_changed(self.requests.get(notice.request_id))

    def close_notice(self, *, actor: Actor, notice_id: int, reason: str) -> None:
        self.authz.require(actor, "request.decide", refusal=DPO_ONLY, notice=notice_id)
        notice = self.notices.mark_impossible(notice_id=notice_id, actor_id=actor.user_id, reason=reason)
        if notice.request_id is None:
            return
        settled = self.notices.settle_request(request_id=notice.request_id)
        req = self.requests.get(notice.request_id)
        self.presenter.notices_changed(req)
        if settled:
            self.presenter.request_changed(req)

    def enqueue(self, request_id: int) -> bool:
        """Queue an approved request's job; if the broker is down it stays approved (nothing is lost)."""
        try:
            self.queue.request(request_id, self.requests.get(request_id).kind)
            self.requests.mark_queued(request_id=request_id)
            return True
        except Exception as exc:  # the state DB leads: the reconciler sends it when the queue is back
            log.warning("enqueue of R-%s failed: %s", request_id, type(exc).__name__)
            return False
        finally:
            self.presenter.request_changed(self.requests.get(request_id))


class ArchiveLost(GdprError):
    """The archive whose passphrase the requester holds is gone: a new request must be opened."""


@dataclass
class ExportJob(RequestJob[str]):
    """Export, hand the passphrase to the requester, publish the file (its id is what the work returns).

    Each step is recorded before the next: the archive, then the passphrase's delivery. A retry (a crash,
    Slack down) reuses the archive whose passphrase went out, so the requester gets one passphrase, ever;
    an archive whose passphrase never reached them is replaced, and any leftover of an earlier attempt
    (its private work folder, its archive) is removed first."""
    exporter: Exporter
    files: ExportFiles

    def finish(self, request_id: int, owner: str, done: str) -> str:
        self.leases.finish(request_id=request_id, owner=owner, file_id=done)
        self.delivery.request_changed(self.requests.get(request_id))
        return "done"

    def work(self, req: m.SubjectRequest, still_mine: Callable[[], None]) -> str:
        self.delivery.request_changed(req)
        export = self._sent_archive(req)
        if export is None:
            self.files.clear_leftovers(request_id=req.id)
            passphrase = new_passphrase()  # lives in this frame only: never stored, logged or queued
            export = self.exporter.build(request_id=req.id, kind=req.subject_type, key=req.subject_key,
                                         passphrase=passphrase)
            still_mine()
            self.files.keep(export.path)  # stored (a bucket, with several machines) before anyone can ask for it
            self.leases.record_built(request_id=req.id, export_name=export.name,
                                     result={"tables": len([n for n in export.counts.values() if n]),
                                             "rows": export.rows, "counts": export.counts})
            self.delivery.send_passphrase(req, export, passphrase)
            self.leases.passphrase_sent(request_id=req.id)
            still_mine()
        # a file an earlier attempt uploaded just before it died is the answer
        published = self.delivery.find_published(req) or self.delivery.publish_file(req, export)
        self.files.release_local(export.name)  # the stored copy stays until its TTL or the subject's erasure
        return published

    def _sent_archive(self, req: m.SubjectRequest) -> ExportFile | None:
        """The archive of an earlier attempt whose passphrase reached the requester, or None."""
        if not req.export_name:
            return None
        if req.passphrase_sent_at is None:
            if not self.delivery.passphrase_delivered(req):
                return None  # it never reached them: a new archive and passphrase
            self.leases.passphrase_sent(request_id=req.id)  # it did, just before a crash
        path = self.files.fetch(req.export_name)
        if path is None:
            raise ArchiveLost(f"The archive of R-{req.id} is gone after its passphrase was sent; open a new request.")
        return ExportFile(path=path, name=req.export_name, counts=dict((req.result or {}).get("counts") or {}))
