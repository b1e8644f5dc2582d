"""Art. 19: telling every recipient of a subject's data about its erasure, through an outbox.

Notices are written (status waiting) before the erasure runs, released (pending) only once it
committed, and delivered by a job with exponential backoff kept in the database: the thread
shows each recipient's state, a notice that keeps failing waits for the DPO (Retry, or record
why it is impossible), and the request is done only when every recipient is settled.
"""
from __future__ import annotations

import datetime as dt
import ipaddress
import json
import os
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from sqlalchemy import Connection, delete, func, insert, select, update
from sqlalchemy.orm import Session

from gdpr.core import models as m
from gdpr.core.audit import AuditLog
from gdpr.core.db import Database, changed
from gdpr.core.errors import GdprError
from gdpr.core.keyring import KeyRing
from gdpr.core.yamlconf import ANY, NAMES, Located, Schema
from gdpr.lifecycle.outbox import SEND_LEASE_FLOOR, Outbox, backoff

BACKOFF_BASE_S = 2.0


@dataclass(frozen=True)
class Recipient:
    key: str
    name: str
    endpoint: str
    header: str
    scheme: str
    token_env: str

    def headers(self) -> dict[str, str]:
        token = os.environ.get(self.token_env, "")
        return {self.header: f"{self.scheme} {token}".strip()}


INTEGRATIONS: Schema = {"version": ANY, "recipients": {NAMES: {"name": ANY, "endpoint": ANY,
                                                              "auth": {"header": ANY, "scheme": ANY, "token_env": ANY}}}}


def load_recipients(path: Path) -> dict[str, Recipient]:
    doc = Located(path)
    doc.only(INTEGRATIONS)
    out = {}
    for key, raw in doc.require(doc.data or {}, (), "recipients", dict).items():
        at = ("recipients", key)
        endpoint = doc.require(raw, at, "endpoint")
        url = urlparse(endpoint)
        if url.scheme != "https" and not (url.scheme == "http" and _loopback(url.hostname)):
            raise doc.error(at + ("endpoint",), "must be an https:// URL (http only for loopback addresses)")
        auth = doc.require(raw, at, "auth", dict)
        out[key] = Recipient(key=key, name=raw.get("name", key), endpoint=endpoint,
                             header=doc.require(auth, at + ("auth",), "header"), scheme=auth.get("scheme") or "",
                             token_env=doc.require(auth, at + ("auth",), "token_env"))
    return out


def _loopback(host: str | None) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host or "").is_loopback
    except ValueError:
        return False


def http_post(recipient: Recipient, payload: dict, idempotency_key: str) -> int:
    """POST one notice; returns the HTTP status (0 when the endpoint could not be reached)."""
    req = urllib.request.Request(recipient.endpoint, data=json.dumps(payload).encode(), method="POST",
                                 headers={"Content-Type": "application/json", "Idempotency-Key": idempotency_key,
                                          **recipient.headers()})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except (urllib.error.URLError, OSError):
        return 0


def _unique(rows: list[dict]) -> list[dict]:
    """One notice per (subject, recipient), even when a subject has two links to the same recipient."""
    seen, out = set(), []
    for r in rows:
        if (r["subject_key"], r["recipient"]) not in seen:
            seen.add((r["subject_key"], r["recipient"]))
            out.append(r)
    return out


class NoticeService:
    def __init__(self, db: Database, audit: AuditLog, ring: KeyRing, recipients: dict[str, Recipient], *,
                 clock: Callable[[], dt.datetime], max_attempts: int = 6, backoff_s: float = BACKOFF_BASE_S,
                 post: Callable[[Recipient, dict, str], int] = http_post,
                 sending_for: dt.timedelta = SEND_LEASE_FLOOR,
                 receives: Callable[[str, str], set[str]] | None = None) -> None:
        """`receives(subject type, recipient)`: the columns of the subject's own table that recipient receives
        (the data map's), so a rectification tells each only the corrected values it holds."""
        self.db, self.audit, self.recipients, self.clock = db, audit, recipients, clock
        self.max_attempts, self._post, self._backoff_s = max_attempts, post, backoff_s
        self.outbox = Outbox(db, clock, sending_for=sending_for)
        self._fernet = ring.sealer("notices")
        self._instructions = ring.sealer("instructions")
        self._receives = receives or (lambda kind, recipient: set())

    def get(self, notice_id: int) -> m.Notice | None:
        with self.db.session() as s:
            return s.get(m.Notice, notice_id)

    def for_request(self, request_id: int) -> list[m.Notice]:
        with self.db.session() as s:
            return list(s.execute(select(m.Notice).where(m.Notice.request_id == request_id)
                                  .order_by(m.Notice.recipient)).scalars())

    def prepare(self, *, request_id: int, links: list[tuple[str, str]]) -> int:
        """Write one waiting notice per linked recipient (again on a retry: existing rows stay)."""
        existing = {n.recipient for n in self.for_request(request_id)}
        with self.db.session() as s:
            for provider, external_id in sorted(set(links)):
                if provider in existing:
                    continue
                s.add(m.Notice(request_id=request_id, recipient=provider, status=m.NOTICE_WAITING, attempts=0,
                               external_ref=self._fernet.encrypt(external_id.encode()).decode()))
                existing.add(provider)
        return len(existing)

    def release(self, *, request_id: int) -> list[int]:
        """The erasure committed: waiting notices become sendable; returns their ids."""
        now = self.clock()
        with self.db.session() as s:
            s.execute(update(m.Notice).where(m.Notice.request_id == request_id, m.Notice.status == m.NOTICE_WAITING)
                      .values(status=m.NOTICE_PENDING, next_attempt_at=now))
        return [n.id for n in self.for_request(request_id) if n.status == m.NOTICE_PENDING]

    # -- bulk erasures (retention policies, CRM purges): one notice per subject and recipient ---------
    def prepare_run(self, *, run_id: int, links: list[tuple[str, str, str]], conn: Connection | None = None) -> None:
        """Before a batch commits: a waiting notice per (subject key, recipient, external id), through `conn`
        (the batch's own transaction, when state and system are one database) or committed to the state
        DB first; `release_run` makes them sendable once the batch committed. A batch run again adds nothing."""
        keys = sorted({k for k, _, _ in links})
        if not keys:
            return
        existing_q = select(m.Notice.subject_key, m.Notice.recipient).where(m.Notice.run_id == run_id,
                                                                            m.Notice.subject_key.in_(keys))
        rows = [{"run_id": run_id, "subject_key": key, "recipient": provider, "attempts": 0,
                 "status": m.NOTICE_WAITING, "external_ref": self._fernet.encrypt(external.encode()).decode()}
                for key, provider, external in sorted(set(links))]

        def write(executor: Connection | Session) -> None:
            seen = set(map(tuple, executor.execute(existing_q)))
            fresh = _unique([r for r in rows if (r["subject_key"], r["recipient"]) not in seen])
            if fresh:
                executor.execute(insert(m.Notice), fresh)
        if conn is not None:
            write(conn)
            return
        with self.db.session() as s:
            write(s)

    def release_run(self, *, run_id: int, keys: list[str] | None = None) -> list[int]:
        """The batch with these subjects committed (None: every subject still waiting); returns the
        ids now sendable. At a run's end, waiting notices of subjects that were not erased are dropped
        by `discard_run`."""
        cond = [m.Notice.run_id == run_id, m.Notice.status == m.NOTICE_WAITING]
        if keys is not None:
            cond.append(m.Notice.subject_key.in_(keys))
        with self.db.session() as s:
            ids = list(s.execute(select(m.Notice.id).where(*cond)).scalars())
            if ids:
                s.execute(update(m.Notice).where(m.Notice.id.in_(ids))
                          .values(status=m.NOTICE_PENDING, next_attempt_at=self.clock()))
        return ids

    def waiting_in_run(self, run_id: int) -> list[str]:
        with self.db.session() as s:
            return sorted({k for k in s.execute(select(m.Notice.subject_key).where(
                m.Notice.run_id == run_id, m.Notice.status == m.NOTICE_WAITING)).scalars() if k is not None})

    def discard_run(self, *, run_id: int, keys: list[str]) -> None:
        """Waiting notices of subjects the run did not erase after all (they no longer matched)."""
        with self.db.session() as s:
            s.execute(delete(m.Notice).where(m.Notice.run_id == run_id, m.Notice.subject_key.in_(keys),
                                                         m.Notice.status == m.NOTICE_WAITING))

    def run_summary(self, run_id: int) -> dict[str, int]:
        """Notices of a bulk run by status (for its card and its audit events)."""
        with self.db.session() as s:
            return dict(s.execute(select(m.Notice.status, func.count()).where(m.Notice.run_id == run_id)
                                  .group_by(m.Notice.status)).all())

    def deliver(self, *, notice_id: int) -> tuple[str, dt.timedelta | None, m.Notice | None]:
        """Send one notice if it is due; returns its new status, the retry delay, and the notice."""
        n = self.outbox.claim(m.Notice, notice_id)
        if n is None:
            return "skipped", None, None
        reference = f"R-{n.request_id}" if n.request_id is not None else f"P-{n.run_id}"
        key = f"{reference}:{n.recipient}" if n.request_id is not None else f"P-{n.run_id}:N-{n.id}:{n.recipient}"
        recipient = self.recipients.get(n.recipient)
        status = 0 if recipient is None else self._post(recipient, self._payload(n, reference, self._cause(n)), key)
        if 200 <= status < 300:
            return self._settle(n, m.NOTICE_SENT), None, n
        error = "no endpoint configured" if recipient is None else (f"HTTP {status}" if status else "unreachable")
        if recipient is None or n.attempts >= self.max_attempts:
            return self._settle(n, m.NOTICE_FAILED, error), None, n
        delay = backoff(n.attempts, self._backoff_s)
        return self._settle(n, m.NOTICE_RETRYING, error, delay), delay, n

    def _cause(self, n: m.Notice) -> dict:
        """What the notice tells: an erasure, or a withdrawal of consent / an objection (its agreements)."""
        if n.request_id is None:
            return {"type": "erasure", "legal_basis": "Art. 17 and Art. 19 GDPR"}
        with self.db.session() as s:
            req = s.get_one(m.SubjectRequest, n.request_id)
            if req.kind == "object":  # upheld by the club: the data processed on legitimate interests
                return {"type": "objection", "legal_basis": "Art. 21(1) and Art. 17(1)(c) GDPR",
                        "action": "erase the data processed on legitimate interests"}
            if req.kind == "restrict":
                return {"type": "restriction", "legal_basis": "Art. 18 and Art. 19 GDPR",
                        "action": "restrict processing: store the data only, until told the restriction is lifted"}
            if req.kind == "lift":
                return {"type": "restriction_lifted", "legal_basis": "Art. 18(3) and Art. 19 GDPR",
                        "action": "the restriction of processing is lifted"}
            if req.kind == "rectify":
                return {"type": "rectification", "legal_basis": "Art. 16 and Art. 19 GDPR",
                        "action": "correct the data you hold", "corrected": self._corrected(s, req, n.recipient)}
            if req.kind != "withdraw":
                return {"type": "erasure", "legal_basis": "Art. 17 and Art. 19 GDPR"}
            objection = bool((req.preview or {}).get("objection"))
            return {"type": "objection" if objection else "consent_withdrawn",
                    "legal_basis": "Art. 21 GDPR" if objection else "Art. 7(3) GDPR",
                    "agreements": (req.preview or {}).get("agreements", []), "action": "stop processing"}

    def _corrected(self, s: Session, req: m.SubjectRequest, recipient: str) -> dict[str, str]:
        """The corrected values this recipient holds (the ledger keeps them sealed); nothing else of the person."""
        sealed = s.execute(select(m.LedgerEntry.corrected).where(m.LedgerEntry.request_id == req.id)).scalar()
        if not sealed:
            return {}
        values = json.loads(self._instructions.decrypt(sealed.encode()))
        held = self._receives(req.subject_type, recipient)
        return {f: v for f, v in values.items() if f in held}

    def _payload(self, n: m.Notice, reference: str, cause: dict) -> dict:
        return {**cause, "reference": reference,
                "external_id": self._fernet.decrypt(n.external_ref.encode()).decode() if n.external_ref else None,
                "requested_at": self.clock().isoformat()}

    def _settle(self, n: m.Notice, status: str, error: str | None = None, delay: dt.timedelta | None = None) -> str:
        with self.db.session() as s:
            if status == m.NOTICE_SENT:  # nothing left to identify the person
                self.outbox.sent(s, m.Notice, n.id, sent_at=self.clock(), external_ref=None)
            elif delay is not None:
                self.outbox.retry_later(s, m.Notice, n.id, error=error or "", delay=delay)
            else:
                self.outbox.settle(s, m.Notice, n.id, status, last_error=error, next_attempt_at=None)
            self.audit.record(s, actor="gdpr-bot", action=f"notice.{status}", request_id=n.request_id,
                              run_id=n.run_id, recipient=n.recipient, attempt=n.attempts, error=error)
        return status

    def retry(self, *, notice_id: int, actor_id: str) -> m.Notice:
        with self.db.session() as s:
            done = changed(s.execute(update(m.Notice).where(m.Notice.id == notice_id, m.Notice.status == m.NOTICE_FAILED)
                             .values(status=m.NOTICE_PENDING, attempts=0, next_attempt_at=self.clock())))
            if not done:
                raise GdprError("That notice is not failed any more.")
            n = s.get_one(m.Notice, notice_id)
            self.audit.record(s, actor=actor_id, action="notice.retry", request_id=n.request_id, recipient=n.recipient)
            return n

    def mark_impossible(self, *, notice_id: int, actor_id: str, reason: str) -> m.Notice:
        with self.db.session() as s:
            done = changed(s.execute(update(m.Notice).where(m.Notice.id == notice_id,
                                                    m.Notice.status.in_([m.NOTICE_FAILED, m.NOTICE_RETRYING]))
                             .values(status=m.NOTICE_IMPOSSIBLE, reason=reason, decided_by=actor_id,
                                     external_ref=None)))
            if not done:
                raise GdprError("That notice was already delivered or closed.")
            n = s.get_one(m.Notice, notice_id)
            self.audit.record(s, actor=actor_id, action="notice.impossible", request_id=n.request_id,
                              recipient=n.recipient)
            return n

    def settle_request(self, *, request_id: int) -> bool:
        """notifying -> done once every recipient is sent or closed as impossible."""
        notices = self.for_request(request_id)
        if any(n.status not in m.NOTICE_SETTLED for n in notices):
            return False
        r = m.SubjectRequest
        with self.db.session() as s:
            done = changed(s.execute(update(r).where(r.id == request_id, r.status == m.NOTIFYING)
                             .values(status=m.DONE, open_key=None, finished_at=self.clock())))
            if done:
                req = s.get_one(r, request_id)
                self.audit.record(s, actor="gdpr-bot", action="request.done", request_id=request_id,
                                  subject_ref=req.subject_ref, recipients=len(notices))
            return bool(done)

    def due(self, *, grace: dt.timedelta) -> list[int]:
        """Notices whose delivery may have been lost (see Outbox.due)."""
        return self.outbox.due(m.Notice, grace=grace)
