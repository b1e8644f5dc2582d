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

from gdpr import models as m
from gdpr.bulk import BulkEngine
from gdpr.bulk_runs import BulkRuns
from gdpr.clubs import ClubTokens
from gdpr.crypto import new_passphrase, sign_document, signing_key
from gdpr.datamap import DataMap
from gdpr.errors import GdprError
from gdpr.export import Exporter
from gdpr.notices import NoticeService
from gdpr.ports import BulkPresenter
from gdpr.retention import BulkSpec

STATEMENT_FORMAT = "gdpr-ops-bot/offboarding-statement"
SIGNING_PURPOSE = "offboarding-statement"


@dataclass
class OffboardingSteps:
    runs: BulkRuns
    engine: BulkEngine
    exporter: Exporter
    datamap: DataMap
    notices: NoticeService
    presenter: BulkPresenter
    secret: bytes
    clock: Callable[[], dt.datetime]
    tokens: ClubTokens | None = None  # the club's API tokens end with its data

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

    def complete(self, run: m.BulkRun, owner: str, residue: int) -> None:
        """Sign the completion statement (once) and hand it over (until it was)."""
        art = dict(run.artifacts or {})
        if "statement" not in art:
            art["statement"] = sign_document(self.statement(run, residue), signing_key(self.secret, SIGNING_PURPOSE))
            run.artifacts = self.runs.set_artifacts(run_id=run.id, owner=owner, artifacts=art)
        if not art.get("statement_delivered"):
            self.presenter.statement_issued(run, art["statement"])
            art["statement_delivered"] = True
            run.artifacts = self.runs.set_artifacts(run_id=run.id, owner=owner, artifacts=art)
        club = BulkSpec.from_json(run.spec).club_code
        if self.tokens is not None and club:  # idempotent: a token already revoked stays revoked
            self.tokens.revoke(club=club, by=f"offboarding P-{run.id}")

    def statement(self, run: m.BulkRun, residue: int) -> dict:
        spec, preview = BulkSpec.from_json(run.spec), run.preview or {}
        holds = {(e["table"], e.get("hold_reason"), e.get("hold_until")) for e in preview.get("effects", []) if e.get("held")}
        held = [{"table": t, "rows": (run.counts or {}).get(t, {}).get("held", 0), "reason": reason, "until": until}
                for t, reason, until in sorted(holds, key=lambda h: (h[0], str(h[1]), str(h[2])))]
        return {
            "format": STATEMENT_FORMAT, "version": 1, "processor": self.datamap.processor.get("name"),
            "controller": spec.club_code, "run": f"P-{run.id}", "basis": "Art. 28(3)(g) GDPR",
            "requested_by": run.requester_id, "approved_by": run.decided_by,
            "approved_at": run.decided_at.isoformat() if run.decided_at else None,
            "started_at": run.started_at.isoformat() if run.started_at else None,
            "completed_at": self.clock().isoformat(),
            "subjects": {"matched": preview.get("parts", {}), "processed": run.done},
            "rows": run.counts or {}, "kept_under_legal_hold": held, "residue": residue,
            "recipients_told": self.notices.run_summary(run.id),
            "data_returned": (run.artifacts or {}).get("returned"),
            "declaration": ("The processor returned the personal data it processed on the controller's behalf "
                            "(the archive named above) and has since deleted or anonymised all of it, except the "
                            "rows listed as kept under a legal hold, which are erased when their hold ends."),
        }


def offboard_spec(datamap: DataMap, *, club_code: str, club_id: str, batch_size: int) -> BulkSpec:
    """Every subject type the data map ties to a club, erased for that club. A type whose records another
    type's erasure also reaches (a lead that became a member) goes first, so each subject is counted once."""
    def reached_by_others(kind: str) -> bool:
        spec = datamap.tables[datamap.subject(kind).table]
        return any(datamap.links(spec, other) for other in datamap.subjects if other != kind)
    kinds = sorted(datamap.subjects, key=lambda kind: not reached_by_others(kind))
    parts = [BulkSpec(name=f"offboard-{kind}", action="erase", table=datamap.subject(kind).table, subject=kind,
                      club_id=club_id, club_code=club_code, batch_size=batch_size, max_share=1.0).to_json()
             for kind in kinds]
    return BulkSpec(name="offboard", action="offboard", club_id=club_id, club_code=club_code, batch_size=batch_size,
                    max_share=1.0, parts=parts)


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
