"""Assemble a running bot: migrations, services, the local worker (embedded default), the Bolt app."""
from __future__ import annotations

import datetime as dt
import gc
import logging
import threading
from dataclasses import dataclass

import dramatiq
from slack_bolt import App
from slack_sdk import WebClient

from bootstrap.checks import check_live_schema
from bootstrap.compose import Services, build
from bot.app import build_app
from gdpr import logsafe
from gdpr.deployment import claim_exports
from gdpr.migrate import upgrade_database
from gdpr.settings import Settings
from workers.broker import start_local_worker
from workers.scheduler import OWNER, run_in_thread

log = logging.getLogger(__name__)


@dataclass
class Running:
    services: Services
    app: App
    worker: dramatiq.Worker | None
    _stop: threading.Event

    def stop(self) -> None:
        self._stop.set()
        self.app.followups.shutdown()  # type: ignore[attr-defined]
        if self.worker is not None:
            self.worker.stop(timeout=10_000)
        self.services.close()


def start(settings: Settings | None = None, *, slack: WebClient | None = None, housekeeping: bool = True) -> Running:
    """The bot process. On the embedded default it also runs the workers and the reconciler in-process."""
    logsafe.install()  # before Bolt creates its loggers: no request body reaches a log
    settings = settings or Settings()
    services = build(settings, slack=slack)
    upgrade_database(services.db)
    claim_exports(services.db, settings.export_dir)  # another deployment's folder: refuse, never sweep it
    check_live_schema(settings, services.datamap, services.retention, services.system.engine)
    worker = None
    stop = threading.Event()
    if not settings.redis_url:
        worker = start_local_worker(services.broker, settings.worker_threads)
        if housekeeping:
            run_in_thread(services.housekeeping, stop, interval_s=settings.reconcile_interval_seconds)
    sent = services.reconcile()  # the state DB leads: re-enqueue what a previous run left behind
    if sent:
        log.info("re-enqueued %d request(s) at start", len(sent))
    running = Running(services=services, app=build_app(services), worker=worker, _stop=stop)
    # Everything built so far lives as long as the process: keep it out of the cyclic GC's
    # full collections, whose pauses otherwise land on random acks.
    gc.freeze()
    return running


def housekeeping_pass(services: Services, *, owner: str = OWNER, now: dt.datetime | None = None) -> None:
    """One scheduler pass (tests drive it on a controllable clock)."""
    services.housekeeping.run_pass(owner=owner, now=now)
