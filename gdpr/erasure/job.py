"""The erasure job: notices prepared, one transaction of erasure, ledger, residue check, notices released."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from gdpr.core import models as m
from gdpr.core.audit import Event
from gdpr.core.datamap import DataMap
from gdpr.core.db import Database
from gdpr.core.keyring import KeyRing
from gdpr.core.ports import JobQueue, RequestPresenter
from gdpr.erasure.engine import ErasureEngine, ErasureReport, Identifiers
from gdpr.erasure.ledger import confirm_erasure, erasure_intent, forget_identifiers, record_intent
from gdpr.erasure.notices import NoticeService
from gdpr.erasure.proofs import ProofGroup
from gdpr.erasure.residue import Hit
from gdpr.erasure.stores import ErasedSubject, StoreProof, SubjectStore, forget_everywhere
from gdpr.requests.export_files import ExportFiles
from gdpr.requests.jobs import RequestJob, resend
from gdpr.requests.service import RequestService

Erased = tuple[m.SubjectRequest, ErasureReport, list[Hit], list[StoreProof]]


@dataclass
class ErasureJob(RequestJob[Erased]):
    engine: ErasureEngine
    system: Database
    datamap: DataMap
    notices: NoticeService
    queue: JobQueue
    exports: ExportFiles
    ring: KeyRing
    proofs: ProofGroup  # the residue proof, shared with erasures that reach it at the same time
    stores: list[SubjectStore]  # every other store the bot writes about a subject (gdpr/erasure/engine/stores.py)

    def work(self, req: m.SubjectRequest, still_mine: Callable[[], None]) -> Erased:
        """Ledger row first (the plan, the identifiers sealed), then the erasure, then the proof. An attempt
        after one that died finds the row: if the erasure had committed, it reports the row's counts (what
        was done, or planned just before if the attempt died before confirming) and proves the erasure with
        the sealed identifiers."""
        self.delivery.request_changed(req)
        kind, key, box = req.subject_type, req.subject_key, self.ring.sealer("erasure")
        intent = erasure_intent(self.requests.db, req.id)
        if intent is None or intent.sealed is None:
            identifiers = self.engine.identifiers(kind=kind, key=key)
            planned = {t.table: {"erased": 0 if t.action == "keep" else t.rows, "held": t.held, t.action: t.rows}
                       for t in self.engine.plan(kind=kind, key=key).tables if t.rows or t.held}
            if intent is None:
                record_intent(self.requests.db, request_id=req.id, kind=kind, key=key, planned=planned,
                              fingerprint=identifiers.fingerprint(self.ring.current), sealed=identifiers.seal(box),
                              at=self.requests.clock())
        else:
            identifiers = Identifiers.unseal(box, intent.sealed)
        self.notices.prepare(request_id=req.id, links=self.engine.recipients(kind=kind, key=key))
        still_mine()
        report = self.engine.erase(kind=kind, key=key)  # one transaction, all or nothing
        if report.already_erased and intent is not None:  # this request's own erasure, by an attempt that died:
            report = ErasureReport(counts=intent.counts, recovered=True)  # what it did (or planned, if unconfirmed)
        confirm_erasure(self.requests.db, request_id=req.id, report=report)
        residue = self.proofs.prove(request_id=req.id, identifiers=identifiers, still_mine=still_mine)
        report.namesakes = residue.namesakes
        platform = StoreProof("platform", not residue.hits, {"hits": [f"{h.table}.{h.column}:{h.rows}"
                                                                      for h in residue.hits],
                                                             "namesake_rows": residue.namesakes})
        proofs = [platform, *forget_everywhere(self.stores, ErasedSubject(kind, key, req.subject_ref, identifiers,
                                                                          req.id))]
        self._record(req, report, residue.hits, proofs)
        return req, report, residue.hits, proofs

    def _record(self, req: m.SubjectRequest, report: ErasureReport, hits: list[Hit], proofs: list[StoreProof]) -> None:
        """The per-table and proof events, once per request (a retry after a crash does not repeat them)."""
        if self.requests.has_event(request_id=req.id, action="erasure.residue"):
            return
        files = next((p.detail for p in proofs if p.store == "files" and "exports_deleted" in p.detail), {})
        def event(action: str, **details: Any) -> Event:
            return Event("gdpr-bot", action, req.id, req.subject_ref, details)
        with self.requests.db.session() as s:
            self.requests.audit.record_many(s, [
                *[event("erasure.table", table=table, recovered=report.recovered, **counts)
                  for table, counts in report.counts.items()],
                event("erasure.residue", ok=all(p.clean for p in proofs),
                      hits=[f"{h.table}.{h.column}:{h.rows}" for h in hits], namesake_rows=report.namesakes,
                      exports_deleted=files.get("exports_deleted", 0), already_erased=report.already_erased,
                      recovered=report.recovered, stores=[p.as_json() for p in proofs])])

    def finish(self, request_id: int, owner: str, done: Erased) -> str:
        req, report, hits, proofs = done
        unclean = [p.store for p in proofs if not p.clean]
        result = {"rows": report.rows, "tables": len([c for c in report.counts.values() if c.get("erased")]),
                  "held": sum(c.get("held", 0) for c in report.counts.values()),
                  "already_erased": report.already_erased, "recovered": report.recovered,
                  "residue": [f"{h.table}.{h.column}" for h in hits], "stores": [p.as_json() for p in proofs]}
        k = [c["k"] for c in report.counts.values() if "k" in c]
        if k:
            result["k"] = min(k)
        pending = self.notices.release(request_id=req.id)
        notices = self.notices.for_request(req.id)
        status = m.FAILED if unclean else (m.NOTIFYING if notices else m.DONE)
        error = None
        if unclean:
            error = "residue found after erasure" if hits else f"not yet forgotten in: {', '.join(unclean)}"
        self.leases.finish(request_id=req.id, owner=owner, final_status=status, result=result, error=error)
        forget_identifiers(self.requests.db, request_id=req.id)
        resend(pending, self.queue.notice, label="notice ")  # refused: the reconciler sends them
        shown = self.requests.get(req.id)
        self.delivery.erasure_reported(shown, report, hits)
        if notices:
            self.delivery.notices_changed(shown)  # posts the recipients' message before any update to it
        self.delivery.request_changed(shown)
        return status


@dataclass
class NoticeJob:
    requests: RequestService
    notices: NoticeService
    delivery: RequestPresenter
    queue: JobQueue
    run_notices_changed: Callable[[int], None] | None = None  # (run id): refresh the run's card

    def run(self, *, notice_id: int) -> str:
        """Deliver one notice (or schedule its retry), then settle the request when all are settled."""
        status, delay, notice = self.notices.deliver(notice_id=notice_id)
        if notice is None:
            return status
        if delay is not None:
            self.queue.notice(notice_id, int(delay.total_seconds() * 1000))
        if notice.run_id is not None:  # a bulk run's notice: its card shows the run's recipients,
            # refreshed when they are all settled or one failed (not once per notice of a large run)
            open_ = {m.NOTICE_WAITING, m.NOTICE_PENDING, m.NOTICE_SENDING, m.NOTICE_RETRYING}
            settled = not open_ & set(self.notices.run_summary(notice.run_id))
            if self.run_notices_changed is not None and (settled or status == m.NOTICE_FAILED):
                self.run_notices_changed(notice.run_id)
            return status
        request_id = notice.request_id
        if request_id is None:
            return status
        settled = self.notices.settle_request(request_id=request_id)
        req = self.requests.get(request_id)
        self.delivery.notices_changed(req)
        if settled:
            self.delivery.request_changed(req)
        return status
