"""An answered export's copies, and their end: the server archive and the file in the Slack thread.

An archive is deleted when its TTL (`EXPORT_TTL_DAYS`) has passed and when its subject is erased.
Both copies go, the deletion is recorded on the request and in the audit log, and the thread says
so. A copy the presenter could not withdraw (Slack down, rate-limited) stays due: the request keeps
its reason and no `export_deleted_at`, and the next pass (the hourly `export-files` policy) tries
again, so what the thread and the register say is always true.
"""
from __future__ import annotations

import datetime as dt
import logging
import shutil
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import or_, select, update

from gdpr.core import models as m
from gdpr.requests.archives import ArchiveStore, LocalStore
from gdpr.requests.jobs import old_exports, purge_exports
from gdpr.requests.service import RequestService, record

log = logging.getLogger(__name__)
TTL = "its time to live has passed"
ERASED = "the subject was erased"
DOWNLOADED = "the club downloaded it through the API (single use)"


class ExportFiles:
    def __init__(self, requests: RequestService, export_dir: Path, ttl: dt.timedelta,
                 withdraw: Callable[[m.SubjectRequest, str], bool], store: ArchiveStore | None = None) -> None:
        """`withdraw(req, reason)` deletes the published copy (Slack's files.delete) and says so in its
        thread; True once it is gone (or never was published). `store` keeps the archives (default:
        EXPORT_DIR itself; with workers on several machines, a bucket every machine sees)."""
        self.requests, self.dir, self.ttl, self.withdraw = requests, export_dir, ttl, withdraw
        self.store: ArchiveStore = store or LocalStore(export_dir)

    def keep(self, path: Path) -> None:
        """A built archive, stored before its passphrase goes out (a retry on another machine finds it)."""
        self.store.put(path)

    def fetch(self, name: str) -> Path | None:
        """A local path to a stored archive (downloaded from the bucket if it lives there), or None."""
        return self.store.fetch(name)

    def release_local(self, name: str) -> None:
        """The job (or download) is done with this machine's copy; the stored one stays until its end."""
        self.store.release_local(name)

    def clear_leftovers(self, *, request_id: int) -> int:
        """Before an export attempt builds anew: what earlier attempts of this request left (a killed
        worker's private work folder, an archive whose passphrase never went out). Returns how many."""
        return _remove(self._files_of(request_id))

    def sweep(self) -> int:
        """Leftovers of attempts that died (work folders, archives no request owns) of requests not running
        now; the reconciler's tick runs this, and every worker when it starts (a killed worker's archive is
        on its own machine's disk), so a crash's files do not wait for the TTL or the subject's erasure.
        With a bucket, every local copy of a request not running is a leftover (the bucket has the archive)."""
        r = m.SubjectRequest
        with self.requests.db.session() as s:
            running = set(s.execute(select(r.id).where(r.status == m.RUNNING)).scalars())
        known = set() if self._remote else self._known()
        return _remove([p for p in self._all_files() if _request_of(p) not in running and p.name not in known])

    def remove_subject_files(self, *, subject_ref: str) -> int:
        """Every file of every request of an erased subject, on the server (work folders included)."""
        r = m.SubjectRequest
        with self.requests.db.session() as s:
            ids = list(s.execute(select(r.id).where(r.subject_ref == subject_ref)).scalars())
        owned = set(ids)
        stored = [n for n in self.store.stored() if _request_of(Path(n)) in owned] if self._remote else []
        return _remove([p for i in ids for p in self._files_of(i)]) + sum(self.store.delete(n) for n in stored)

    def erase_subject(self, *, subject_ref: str) -> int:
        """Stored exports of an erased subject go, from the server, the store and their Slack threads (one
        Slack would not delete now stays due, and the hourly export-files pass tries again), and any other
        file of the subject's requests (a crashed attempt's work folder or archive). Returns how many."""
        removed = sum(self.remove(request_id=i, reason=ERASED) for i in self.mark_subject(subject_ref=subject_ref))
        return removed + self.remove_subject_files(subject_ref=subject_ref)

    def subject_left(self, *, subject_ref: str) -> int:
        """Files of the subject's requests still on this server or in the store (the erasure's proof)."""
        r = m.SubjectRequest
        with self.requests.db.session() as s:
            owned = set(s.execute(select(r.id).where(r.subject_ref == subject_ref)).scalars())
        local = [p for p in self._all_files() if _request_of(p) in owned]
        stored = [n for n in self.store.stored() if _request_of(Path(n)) in owned] if self._remote else []
        return len(local) + len(stored)

    @property
    def _remote(self) -> bool:
        return self.store.kind != "local"

    def _files_of(self, request_id: int) -> list[Path]:
        return [p for p in self._all_files() if _request_of(p) == request_id]

    def _all_files(self) -> list[Path]:
        if not self.dir.is_dir():
            return []
        return [p for p in self.dir.iterdir() if _request_of(p) is not None]

    def mark_subject(self, *, subject_ref: str) -> list[int]:
        """Every export of an erased subject is due now; returns the request ids."""
        r = m.SubjectRequest
        with self.requests.db.session() as s:
            ids = list(s.execute(select(r.id).where(r.subject_ref == subject_ref, r.export_name.is_not(None),
                                                    r.export_deleted_at.is_(None))).scalars())
            s.execute(update(r).where(r.id.in_(ids)).values(export_delete_reason=ERASED))
        return ids

    def due(self, now: dt.datetime | None = None) -> list[int]:
        """Requests whose archive must go: past the TTL, or marked (erasure, an earlier failed pass)."""
        r, now = m.SubjectRequest, now or self.requests.clock()
        with self.requests.db.session() as s:
            return list(s.execute(select(r.id).where(
                r.export_name.is_not(None), r.export_deleted_at.is_(None),
                or_(r.export_delete_reason.is_not(None), r.finished_at < now - self.ttl)).order_by(r.id)).scalars())

    def count_due(self) -> int:
        """Archives this pass would delete: requests due, plus stray files past the TTL (crash leftovers)."""
        return len(self.due()) + len(self._strays()) + len(self._stored_strays())

    def expire(self) -> int:
        """Delete every due archive, both copies; returns how many requests' archives went."""
        gone = sum(self.remove(request_id=i, reason=None) for i in self.due())
        gone += sum(self.store.delete(name) for name in self._stored_strays())
        return gone + purge_exports(self.dir, ttl=self.ttl, keep=self._known())

    def remove(self, *, request_id: int, reason: str | None) -> bool:
        """Delete one request's archive from the server and from Slack, and record it; False while the
        Slack copy could not be withdrawn (it stays due)."""
        req = self.requests.get(request_id)
        why = reason or req.export_delete_reason or TTL
        on_server = self.store.delete(req.export_name or "")
        (self.dir / Path(req.export_name or "").name).unlink(missing_ok=True)  # a copy a download left here
        if req.file_id and not self._withdrawn(req, why):
            with self.requests.db.session() as s:
                s.execute(update(m.SubjectRequest).where(m.SubjectRequest.id == request_id)
                          .values(export_delete_reason=why))
            return False
        with self.requests.db.session() as s:
            s.execute(update(m.SubjectRequest).where(m.SubjectRequest.id == request_id)
                      .values(export_delete_reason=why, export_deleted_at=self.requests.clock()))
            record(s, self.requests.audit, s.get_one(m.SubjectRequest, request_id), "gdpr-bot", "export.deleted",
                   reason=why, server_copy=on_server, store=self.store.kind, slack_file=bool(req.file_id))
        return True

    def _withdrawn(self, req: m.SubjectRequest, why: str) -> bool:
        """Whatever fails (Slack refusing, the network down), the copy stays due and nothing else fails:
        an erasure that committed must not be retried because its export could not be withdrawn."""
        try:
            return self.withdraw(req, why)
        except Exception as exc:
            log.warning("export of R-%s not withdrawn now (%s); the next pass tries again", req.id, type(exc).__name__)
            return False

    def _known(self) -> set[str]:
        with self.requests.db.session() as s:
            return {n for n in s.execute(select(m.SubjectRequest.export_name).where(
                m.SubjectRequest.export_name.is_not(None), m.SubjectRequest.export_deleted_at.is_(None))).scalars() if n}

    def _strays(self) -> list[Path]:
        known = self._known()
        return [p for p in old_exports(self.dir, ttl=self.ttl) if p.name not in known]

    def _stored_strays(self) -> list[str]:
        """Archives in a bucket that no live request owns, past the TTL (a job that died after storing)."""
        if not self._remote:
            return []
        known, cutoff = self._known(), self.requests.clock() - self.ttl
        return [n for n, written in self.store.stored().items() if n not in known and written < cutoff]


def _request_of(path: Path) -> int | None:
    """The request a file in EXPORT_DIR belongs to: `export-R12-….zip` or a work folder `.work-12-…`."""
    name = path.name
    for prefix in ("export-R", ".work-"):
        if name.startswith(prefix):
            head = name[len(prefix):].split("-", 1)[0]
            return int(head) if head.isdigit() else None
    return None


def _remove(paths: list[Path]) -> int:
    for path in paths:
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
    return len(paths)
