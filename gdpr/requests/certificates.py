"""The certificate of an ended request, for the club (the controller) to keep as evidence: what was asked,
when, what was decided and done - an access delivered (tables and rows), an erasure with its rows per table,
the k its anonymised rows reached and the proof per store, a withdrawal or objection applied with the
recipients told, a refusal or rejection with its ground - signed with the processor's Ed25519 key for
certificates (`request-certificate`: `GET /v1/keys`, `gdpr-bot keys public`, the record of processing).

A certificate names the subject by the keyed pseudonym the audit chain uses, never by an identifier: it
is posted in the request's thread and handed to the club through the API. It is signed once, when the
request has ended, and kept on the request (the same bytes every time it is fetched); `gdpr-bot verify`
checks one offline against a pinned key, never the key inside the document.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update

from gdpr.breaches.breach_file import KIND as BREACH_FILE_KIND
from gdpr.breaches.breach_file import PURPOSE as BREACH_FILE
from gdpr.clubs.offboarding import SIGNING_PURPOSE
from gdpr.core import models as m
from gdpr.core.crypto import SCHEME, canonical, sign_document, verify_document
from gdpr.core.db import changed
from gdpr.core.errors import NotEnded
from gdpr.core.keyring import KeyRing
from gdpr.core.ports import RequestPresenter
from gdpr.erasure.notices import NoticeService
from gdpr.requests.service import RequestService, aware, record

log = logging.getLogger(__name__)
PURPOSE = "request-certificate"
PUBLISHED = (PURPOSE, SIGNING_PURPOSE, BREACH_FILE)  # every purpose the processor signs for: its keys are published
ENDED = (m.DONE, m.REFUSED, m.REJECTED, m.CLOSED)  # a failed request may be tried again: nothing to certify yet
KIND = "gdpr-ops-bot request certificate"
RIGHTS = {"restrict": "Art. 18(1) and Art. 19 GDPR", "lift": "Art. 18(3) and Art. 19 GDPR",
          "rectify": "Art. 16 and Art. 19 GDPR"}


@dataclass
class Certificates:
    requests: RequestService
    notices: NoticeService
    ring: KeyRing
    delivery: RequestPresenter  # the request's thread

    def public_keys(self) -> list[str]:
        """The keys that verify certificates, newest first (those signed before a key rotation still do)."""
        return self.ring.public_keys(PURPOSE)

    def issue(self, request_id: int) -> dict:
        """The request's certificate: signed now if it has just ended, else the one kept (whoever signed it
        first; a certificate never changes). NotEnded while the request is open."""
        req = self.requests.get(request_id)
        if req.certificate:
            return req.certificate
        if req.status not in ENDED:
            raise NotEnded(f"R-{request_id} has not ended yet ({req.status.replace('_', ' ')}).")
        signed = sign_document(self.statement(req), self.ring.signer(PURPOSE))
        r = m.SubjectRequest
        with self.requests.db.session() as s:
            if changed(s.execute(update(r).where(r.id == req.id, r.certificate.is_(None), r.status == req.status)
                                 .values(certificate=signed))):
                record(s, self.requests.audit, req, "gdpr-bot", "request.certificate", status=req.status,
                       key_id=self.ring.ident(self.ring.current), signature=signed["signature"]["value"][:16])
        return self.requests.get(request_id).certificate or self.issue(request_id)  # status moved on: sign that

    def issue_due(self, limit: int = 100) -> int:
        """The reconciler's pass: every ended request without its certificate gets one, and every certificate
        not yet shown goes to the request's thread (at least once: a failed post is tried on the next pass).
        Returns how many were shown."""
        r, shown = m.SubjectRequest, 0
        with self.requests.db.session() as s:
            due = list(s.execute(select(r.id).where(r.status.in_(ENDED), r.certificate_shown_at.is_(None))
                                 .order_by(r.id).limit(limit)).scalars())
        for request_id in due:
            certificate = self.issue(request_id)
            try:
                self.delivery.request_note(self.requests.get(request_id), note(certificate))
            except Exception as exc:  # Slack down or refusing: the next pass shows it; the others go on
                log.warning("certificate of R-%s not shown yet: %s", request_id, type(exc).__name__)
                continue
            with self.requests.db.session() as s:
                s.execute(update(r).where(r.id == request_id).values(certificate_shown_at=self.requests.clock()))
            shown += 1
        return shown

    def statement(self, req: m.SubjectRequest) -> dict[str, Any]:
        """What is certified (no identifier of the subject: its pseudonym)."""
        out: dict[str, Any] = {
            "certificate": KIND, "version": 1, "request": f"R-{req.id}", "kind": req.kind,
            "club": req.club_id, "subject": {"type": req.subject_type, "pseudonym": req.subject_ref},
            "status": req.status, "received_at": _iso(req.received_at),
            "received_by_club_on": _iso(req.club_received_on), "due_on": _iso(req.due_on),
            "extended": {"original_due_on": _iso(req.original_due_on), "reason": req.extension_reason}
            if req.extended_at else None,
            "decided_at": _iso(req.decided_at), "finished_at": _iso(req.finished_at),
            "issued_at": _iso(self.requests.clock()), "outcome": self._outcome(req),
        }
        return out

    def _outcome(self, req: m.SubjectRequest) -> dict[str, Any]:
        if req.status in (m.REFUSED, m.REJECTED):
            return {"refused" if req.status == m.REFUSED else "rejected": True, "ground": req.reject_reason,
                    "article": "Art. 12(5) GDPR" if req.status == m.REFUSED else None}
        result = dict(req.result or {})
        out: dict[str, Any] = {"result": result}
        if req.kind == "erase":
            out["tables"] = self._erased_tables(req.id)
            out["proof"] = result.pop("stores", [])
        if req.kind == "access":
            out["delivered_at"] = _iso(req.passphrase_sent_at)
        if req.kind in RIGHTS:  # the club's instruction as recorded (a rectification: the fields, never the values)
            said = req.preview or {}
            out["instruction"] = {k: said.get(k) for k in ("ground", "reason", "fields") if said.get(k) is not None}
            out["article"] = RIGHTS[req.kind]
        told = self.notices.for_request(req.id)
        if told:
            out["recipients"] = [{"recipient": n.recipient, "status": n.status, "sent_at": _iso(n.sent_at)}
                                 for n in sorted(told, key=lambda n: n.recipient)]
        return out

    def _erased_tables(self, request_id: int) -> dict[str, dict]:
        """Rows per table as the erasure audited them (counts only)."""
        e = m.AuditEvent
        with self.requests.db.session() as s:
            rows = s.execute(select(e.details).where(e.request_id == request_id, e.action == "erasure.table")
                             .order_by(e.seq)).scalars()
            out = {}
            for details in rows:
                d = json.loads(details)
                out[d.pop("table")] = d
            return out


def note(certificate: dict) -> str:
    """The thread's line: the certificate itself (its bytes as issued), and how to check it."""
    return (f":scroll: Certificate for {certificate['statement']['request']} "
            f"(Ed25519, key `{certificate['signature']['public_key']}`). The club fetches it through the API "
            "(`GET /v1/requests/{id}/certificate`) and checks it with `gdpr-bot verify FILE --key …` against the "
            f"published key.\n```{canonical(certificate).decode()}```")


def verify(document: bytes, trusted: list[str]) -> tuple[bool, str]:
    """(valid, one line saying why) for a certificate file checked against pinned keys: its signature, and
    its bytes exactly as issued (canonical JSON, a final newline allowed), so that no byte of it can change
    - not even the layout - and still pass."""
    try:
        doc = json.loads(document)
    except (ValueError, UnicodeDecodeError):
        return False, "not a certificate: the file is not JSON"
    if not isinstance(doc, dict) or not isinstance(doc.get("statement"), dict):
        return False, "not a certificate: no signed statement in it"
    if document.removesuffix(b"\n") != canonical(doc):
        return False, "INVALID: the file is not the certificate as issued (its bytes were changed)"
    sig = doc.get("signature")
    if not isinstance(sig, dict) or set(sig) != {*SCHEME, "public_key", "value"} or any(
            sig[k] != v for k, v in SCHEME.items()) or sig["public_key"] not in trusted:
        return False, "INVALID: not signed with a pinned key (the signature names another key or another scheme)"
    if not verify_document(doc, [sig["public_key"]]):
        return False, "INVALID: the signature does not match the pinned key(s); the certificate was changed or not signed by this processor"
    st = doc["statement"]
    if st.get("file") == BREACH_FILE_KIND:
        return True, f"valid: {st.get('breach')} (breach file, {st.get('article')}), generated {st.get('generated_at')}"
    return True, f"valid: {st.get('request')} ({st.get('kind')}, {st.get('status')}), issued {st.get('issued_at')}"


def purpose_of(document: bytes) -> str:
    """Whose keys check this document when none are pinned: a breach file's, or a certificate's."""
    try:
        statement = json.loads(document).get("statement")
    except (ValueError, UnicodeDecodeError, AttributeError):
        return PURPOSE
    return BREACH_FILE if isinstance(statement, dict) and statement.get("file") == BREACH_FILE_KIND else PURPOSE


def _iso(value: dt.date | dt.datetime | None) -> str | None:
    if value is None:
        return None
    return aware(value).isoformat() if isinstance(value, dt.datetime) else value.isoformat()  # type: ignore[union-attr]


__all__ = ["ENDED", "PUBLISHED", "PURPOSE", "Certificates", "NotEnded", "note", "purpose_of", "verify"]
