"""Offboarding a club (Art. 28(3)(g)): what the bulk run of its members and leads does besides erasing them.

Before the first batch, the club's data is exported for return (one AES-256 archive, every subject type,
every table of the data map) and handed over; nothing is erased until it was. After the last batch, a
completion statement - what was erased, what a legal hold keeps and until when, the residue, the
recipients told, the archive returned (its SHA-256) - is signed with the bot's Ed25519 key and handed
over too, and the club's API tokens are revoked. Both steps are recorded on the run, so a resumed run
does neither twice. The archive leaves
the thread after EXPORT_TTL_DAYS, like every export (`withdraw_returned`, on the scheduler's pass).
"""
from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from dataclasses import dataclass

from gdpr.bulk.engine import BulkEngine
from gdpr.bulk.retention import BulkSpec
from gdpr.bulk.runs import BulkRuns
from gdpr.clubs.tokens import ClubTokens
from gdpr.core import models as m
from gdpr.core.crypto import new_passphrase, sign_document
from gdpr.core.datamap import DataMap
from gdpr.core.errors import GdprError
from gdpr.core.keyring import KeyRing
from gdpr.core.ports import BulkPresenter, RequestPresenter
from gdpr.erasure.notices import NoticeService
from gdpr.requests.export import Exporter
from gdpr.requests.service import RequestService

STATEMENT_FORMAT = "gdpr-ops-bot/offboarding-statement"
RETURN_AND_DELETE, RETURN_ONLY, DELETE_ONLY = "return-and-delete", "return-only", "delete-only"
CHOICES = (RETURN_AND_DELETE, RETURN_ONLY, DELETE_ONLY)  # what Art. 28(3)(g) lets the controller choose
DECLARATIONS = {
    RETURN_AND_DELETE: "The processor returned the personal data it processed on the controller's behalf (the archive "
                       "named above) and has since deleted all of it, except rows listed as kept under a law that "
                       "binds the processor itself.",
    RETURN_ONLY: "At the controller's choice the processor returned the personal data it processed on its behalf (the "
                 "archive named above) and did not delete it; it is deleted on the controller's further instruction.",
    DELETE_ONLY: "At the controller's choice the processor deleted the personal data it processed on its behalf "
                 "without returning it, except rows listed as kept under a law that binds the processor itself.",
}
SIGNING_PURPOSE = "offboarding-statement"


@dataclass
class OffboardingSteps:
    runs: BulkRuns
    engine: BulkEngine
    exporter: Exporter
    datamap: DataMap
    notices: NoticeService
    presenter: BulkPresenter
    ring: KeyRing
    clock: Callable[[], dt.datetime]
    tokens: ClubTokens | None = None  # the club's API tokens end with its data
    requests: RequestService | None = None  # the club's requests still open are closed before erasing
    request_presenter: RequestPresenter | None = None  # and each is told so in its thread

    def return_data(self, run: m.BulkRun, owner: str) -> None:
        """Export the club's data and hand it over (archive in the thread, passphrase to the requester alone),
        once; a retry after a crash writes a new archive with a new passphrase."""
        art = dict(run.artifacts or {})
        if art.get("returned"):
            return
        if run.done:
            raise GdprError(f"P-{run.id}: erasure began before the club's data was returned")
        spec = BulkSpec.from_json(run.spec)
        parts = [(p.subject_type, self.engine.subject_keys(p, run.as_of)) for p in spec.part_specs()]
        passphrase = new_passphrase()
        export = self.exporter.build_return(name=f"club-return-P{run.id}.zip", parts=parts, passphrase=passphrase,
                                            header={"run": f"P-{run.id}", "club": spec.club_code})
        try:
            digest = hashlib.sha256(export.path.read_bytes()).hexdigest()
            file_id = self.presenter.data_returned(run, export, passphrase)
        finally:
            export.path.unlink(missing_ok=True)  # the thread holds the copy; no club archive lingers on disk
        art["returned"] = {"file": export.name, "rows": export.counts, "sha256": digest, "at": self.clock().isoformat(),
                           "file_id": file_id}
        run.artifacts = self.runs.set_artifacts(run_id=run.id, owner=owner, artifacts=art)

    def close_open_requests(self, run: m.BulkRun) -> int:
        """Before anything is erased: the club's requests still open are closed, each told why in its
        thread (the club answers its members itself now, from the data returned to it)."""
        spec = BulkSpec.from_json(run.spec)
        if self.requests is None or not spec.club_id or spec.choice == RETURN_ONLY:
            return 0
        why = (f"the club's contract with the processor ended (offboarding P-{run.id}, Art. 28(3)(g)); the club "
               "answers this request itself, from the data returned to it")
        closed = self.requests.close_open(club_id=spec.club_id, why=why)
        for req in closed:
            if self.request_presenter is not None:
                self.request_presenter.request_note(req, f":lock: R-{req.id} is closed: {why}.")
                self.request_presenter.request_changed(req)
        return len(closed)

    def complete(self, run: m.BulkRun, owner: str, residue: int) -> None:
        """Record the residue; the completion statement is signed once every recipient's notice is settled
        (sent, failed for good, or closed by the DPO) - now, or by `settle` when the last one is."""
        art = dict(run.artifacts or {})
        art["residue"] = residue
        if "statement" not in art:
            art["statement_due"] = True
        run.artifacts = self.runs.set_artifacts(run_id=run.id, owner=owner, artifacts=art)
        if self.notices_settled(run.id):
            self.settle(run.id, run)

    def notices_settled(self, run_id: int) -> bool:
        summary = self.notices.run_summary(run_id)
        return not {m.NOTICE_WAITING, m.NOTICE_PENDING, m.NOTICE_SENDING, m.NOTICE_RETRYING} & set(summary)

    def settle(self, run_id: int, run: m.BulkRun | None = None) -> bool:
        """Sign and hand over the statement of a run whose notices are all settled (once, whoever calls:
        the run's own job, the notice job that settled the last notice, the reconciler)."""
        run = run or self.runs.get(run_id)
        art = dict(run.artifacts or {})
        if not art.get("statement_due") or art.get("statement_delivered"):
            return False  # the run has not reached its end yet (the notices of its first batches settle early)
        if not self.notices_settled(run_id):
            return False
        if "statement" not in art:
            signed = sign_document(self.statement(run, int(art.get("residue", 0))),
                                   self.ring.signer(SIGNING_PURPOSE))
            if not self.runs.claim_artifacts(run_id=run_id, expected=art, artifacts={**art, "statement": signed}):
                return False  # another process signed it first
            art["statement"] = signed
        # one caller hands it over: the one whose claim takes it from due (the run's job and the notice job
        # that settled the last notice can both get here; each posting it gave the club two statements)
        if not self.runs.claim_artifacts(run_id=run_id, expected=art, artifacts={**art, "statement_due": False}):
            return False
        try:
            self.presenter.statement_issued(run, art["statement"])
        except Exception:
            self.runs.update_artifacts(run_id=run_id, artifacts=art)  # due again: the next caller hands it over
            raise
        self.runs.update_artifacts(run_id=run_id, artifacts={**art, "statement_delivered": True,
                                                             "statement_due": False})
        club = BulkSpec.from_json(run.spec).club_code
        if self.tokens is not None and club:  # idempotent: a token already revoked stays revoked
            self.tokens.revoke(club=club, by=f"offboarding P-{run_id}")
        return True

    def settle_due(self) -> int:
        """The reconciler's pass: statements whose notices settled while no job was there to sign them."""
        return sum(self.settle(run_id) for run_id in self.runs.statements_due())

    def statement(self, run: m.BulkRun, residue: int) -> dict:
        spec, preview = BulkSpec.from_json(run.spec), run.preview or {}
        holds: dict[str, dict] = {}  # one entry per table, whichever parts (members, leads) held rows in it
        for e in preview.get("effects", []):
            if e.get("held"):
                entry = holds.setdefault(e["table"], {"table": e["table"], "rows": (run.counts or {}).get(
                    e["table"], {}).get("held", 0), "reason": e.get("hold_reason"), "until": e.get("hold_until")})
                entry["until"] = max(str(entry["until"] or ""), str(e.get("hold_until") or "")) or None
        held = [holds[t] for t in sorted(holds)]
        choice = spec.choice or RETURN_AND_DELETE
        return {
            "format": STATEMENT_FORMAT, "version": 1, "processor": self.datamap.processor.get("name"),
            "controller": spec.club_code, "run": f"P-{run.id}", "basis": "Art. 28(3)(g) GDPR",
            "requested_by": run.requester_id, "approved_by": run.decided_by,
            "approved_at": run.decided_at.isoformat() if run.decided_at else None,
            "started_at": run.started_at.isoformat() if run.started_at else None,
            "completed_at": self.clock().isoformat(),
            "choice": {"what": choice, "chosen_by": spec.chosen_by or f"club {spec.club_code}",
                       "recorded_by": run.requester_id},
            "subjects": {"matched": preview.get("parts", {}), "processed": run.done},
            "rows": run.counts or {}, "kept_under_legal_hold": held, "residue": residue,
            "recipients_told": self.notices.run_summary(run.id),
            "data_returned": (run.artifacts or {}).get("returned"),
            "declaration": DECLARATIONS[choice],
        }


def offboard_spec(datamap: DataMap, *, club_code: str, club_id: str, batch_size: int,
                  choice: str = RETURN_AND_DELETE, chosen_by: str | None = None) -> BulkSpec:
    """Every subject type the data map ties to a club, deleted for that club (its holds lifted, but a hold
    that binds the processor). A record that became another subject of the club (a lead who joined) goes
    with that subject, so each person is counted and erased once."""
    def reached_by_others(kind: str) -> bool:
        spec = datamap.tables[datamap.subject(kind).table]
        return any(datamap.links(spec, other) for other in datamap.subjects if other != kind)
    kinds = sorted(datamap.subjects, key=lambda kind: not reached_by_others(kind))
    parts = [BulkSpec(name=f"offboard-{kind}", action="erase", table=datamap.subject(kind).table, subject=kind,
                      club_id=club_id, club_code=club_code, batch_size=batch_size, max_share=1.0, offboarding=True,
                      alone=True).to_json()
             for kind in kinds]
    return BulkSpec(name="offboard", action="offboard", club_id=club_id, club_code=club_code, batch_size=batch_size,
                    max_share=1.0, parts=parts, choice=choice, chosen_by=chosen_by)


def withdraw_returned(runs: BulkRuns, presenter: BulkPresenter, *, now: dt.datetime, ttl: dt.timedelta) -> int:
    """Offboarding archives handed back in a card's thread, past EXPORT_TTL_DAYS: deleted from Slack and
    recorded on the run (one Slack refused stays due for the next pass). Returns how many went."""
    gone = 0
    for run_id, art in runs.returned_archives():
        returned = art["returned"]
        if returned.get("withdrawn_at") or not returned.get("file_id"):
            continue
        if dt.datetime.fromisoformat(returned["at"]) > now - ttl:
            continue
        if presenter.withdraw_returned(runs.get(run_id), returned["file_id"]):
            runs.update_artifacts(run_id=run_id, artifacts={**art, "returned": {**returned, "withdrawn_at": now.isoformat()}})
            gone += 1
    return gone
