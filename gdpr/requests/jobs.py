"""Running approved requests reliably: leases in the state DB, a reconciler, idempotent jobs.

The queue only carries request ids. A job first *claims* its request (a conditional UPDATE
that also sets a lease); while it works a heartbeat renews the lease. A worker that dies
stops renewing, the lease expires, and the reconciler re-enqueues the request. A duplicate
delivery finds the request done (or leased by someone alive) and does nothing.
"""
from __future__ import annotations

import datetime as dt
import logging
import shutil
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from collections.abc import Set as AbstractSet
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

from sqlalchemy import update

from gdpr.core import models as m
from gdpr.core.ports import RequestPresenter
from gdpr.lifecycle.leases import Leased, LeasedJobs
from gdpr.requests.service import RequestService

log = logging.getLogger(__name__)
T = TypeVar("T")


class LeaseLost(Exception):
    """Another worker took the request over; this one must not publish anything."""


JOBS = Leased(model=m.SubjectRequest, event="job",
              audit_fields=lambda req: {"request_id": req.id, "subject_ref": req.subject_ref},
              closing=lambda now: {"open_key": None, "finished_at": now})


class Leases:
    """Subject requests on the one leased-job lifecycle (gdpr/lifecycle/leases.py)."""

    def __init__(self, requests: RequestService, lease: dt.timedelta) -> None:
        self.requests, self.lease = requests, lease
        self.jobs = LeasedJobs(requests.db, requests.audit, requests.clock, lease)

    def claim(self, *, request_id: int, owner: str) -> m.SubjectRequest | None:
        return self.jobs.claim(JOBS, request_id, owner)

    def renew(self, *, request_id: int, owner: str) -> bool:
        return self.jobs.renew(JOBS, request_id, owner)

    def finish(self, *, request_id: int, owner: str, final_status: str = m.DONE, **values: object) -> bool:
        """Leave RUNNING for final_status; a request that still waits (notifying) stays open."""
        result = dict(values.get("result") or {})  # type: ignore[call-overload]
        return self.jobs.finish(JOBS, request_id, owner, final_status, audit=lambda req: result, **values)

    def record_built(self, *, request_id: int, export_name: str, result: dict) -> None:
        """Remember the archive before it is sent, so a retry can recognise its own upload."""
        with self.requests.db.session() as s:
            s.execute(update(m.SubjectRequest).where(m.SubjectRequest.id == request_id)
                      .values(export_name=export_name, result=result))

    def passphrase_sent(self, *, request_id: int) -> None:
        """The passphrase reached the requester: from now on only this archive answers the request."""
        with self.requests.db.session() as s:
            s.execute(update(m.SubjectRequest).where(m.SubjectRequest.id == request_id,
                                                     m.SubjectRequest.passphrase_sent_at.is_(None))
                      .values(passphrase_sent_at=self.requests.clock()))

    def release(self, *, request_id: int, owner: str, error: str, final: bool) -> m.SubjectRequest | None:
        """Give the request back for a retry (queued), or mark it failed after the last attempt."""
        return self.jobs.release(JOBS, request_id, owner, error=error, final=final)

    def run(self, *, request_id: int, owner: str, work: Callable[[m.SubjectRequest, Callable[[], None]], T],
            max_attempts: int, on_final_failure: Callable[[m.SubjectRequest, str], None]) -> tuple[str, T | None]:
        """Claim the request, hold its lease while `work(req, still_mine)` runs, and book a failure:
        re-raised for a retry, or - after the last attempt - marked failed and reported."""
        req = self.claim(request_id=request_id, owner=owner)
        if req is None:
            return "skipped", None
        try:
            with self.heartbeat(request_id=request_id, owner=owner) as still_mine:
                return "ok", work(req, still_mine)
        except LeaseLost:
            return "lease lost", None
        except Exception as exc:
            # Only the exception's class goes anywhere: messages of driver errors can quote data.
            reference = f"{type(exc).__name__} (attempt {req.attempts})"
            log.error("R-%s failed: %s", req.id, reference)
            final = req.attempts >= max_attempts
            released = self.release(request_id=req.id, owner=owner, error=reference, final=final)
            if not final:
                raise  # the Retries middleware schedules the next attempt
            if released is not None:
                on_final_failure(released, reference)
            return "failed", None

    def heartbeat(self, *, request_id: int, owner: str) -> AbstractContextManager[Callable[[], None]]:
        return heartbeat(lambda: self.renew(request_id=request_id, owner=owner), interval=self.lease / 3,
                         name=f"R-{request_id}")


@dataclass
class RequestJob(Generic[T]):
    """What a worker runs for an approved request: claim it, do `work` under its lease (a failure is
    retried, or after the last attempt reported), then `finish` with what the work returned."""
    requests: RequestService
    leases: Leases
    delivery: RequestPresenter
    max_attempts: int

    def run(self, *, request_id: int, owner: str) -> str:
        """Safe to run twice: a redelivered or retried job finishes the work once."""
        outcome, done = self.leases.run(request_id=request_id, owner=owner, work=self.work,
                                        max_attempts=self.max_attempts, on_final_failure=self.delivery.job_failed)
        if outcome != "ok" or done is None:
            return outcome
        return self.finish(request_id, owner, done)

    def work(self, req: m.SubjectRequest, still_mine: Callable[[], None]) -> T:
        raise NotImplementedError

    def finish(self, request_id: int, owner: str, done: T) -> str:
        raise NotImplementedError


@contextmanager
def heartbeat(renew: Callable[[], bool], *, interval: dt.timedelta, name: str) -> Iterator[Callable[[], None]]:
    """Renew a lease in the background; the yielded check raises LeaseLost once it is gone."""
    stop, lost = threading.Event(), threading.Event()
    seconds = max(interval.total_seconds(), 0.2)

    def beat() -> None:
        while not stop.wait(seconds):
            try:
                if not renew():
                    lost.set()
                    return
            except Exception:  # a blip: try again next beat; the lease has slack
                log.warning("lease renewal failed for %s", name)

    thread = threading.Thread(target=beat, name=f"lease-{name}", daemon=True)
    thread.start()

    def check() -> None:
        if lost.is_set():
            raise LeaseLost(name)
    try:
        yield check
    finally:
        stop.set()
        thread.join()


def resend(ids: Iterable[int], send: Callable[[int], None], *, label: str,
           sent: Callable[[int], object] | None = None) -> list[int]:
    """Queue each id again; one the broker refuses waits for the next pass (nothing is lost). `sent`
    books each success (e.g. marks the request queued). Returns the ids queued."""
    done = []
    for item in ids:
        try:
            send(item)
        except Exception as exc:  # broker down: the next pass tries again
            log.warning("re-enqueue of %s%s failed: %s", label, item, type(exc).__name__)
            continue
        if sent is not None:
            sent(item)
        done.append(item)
    return done


def reconcile(requests: RequestService, enqueue: Callable[[int], None], *, requeue_after: dt.timedelta) -> list[int]:
    """Re-enqueue requests the queue may have lost; returns the request ids sent again."""
    return resend(requests.needing_enqueue(requeue_after=requeue_after), enqueue, label="R-",
                  sent=lambda i: requests.mark_queued(request_id=i))


def old_exports(export_dir: Path, *, ttl: dt.timedelta, now: float | None = None) -> list[Path]:
    """Export archives (and abandoned work folders) older than the TTL."""
    if not export_dir.is_dir():
        return []
    cutoff = (now or time.time()) - ttl.total_seconds()
    return sorted(p for p in export_dir.iterdir() if p.stat().st_mtime < cutoff and (
        (p.is_file() and p.name.startswith("export-")) or (p.is_dir() and p.name.startswith(".work-"))))


def purge_exports(export_dir: Path, *, ttl: dt.timedelta, now: float | None = None, keep: AbstractSet[str] = frozenset()) -> int:
    """Delete what old_exports finds (but the names in `keep`: a request still owns them); returns how many."""
    removed = 0
    for path in old_exports(export_dir, ttl=ttl, now=now):
        if path.name in keep:
            continue
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
        removed += 1
    return removed
