"""Assemble a running bot: migrations, services, the local worker (embedded default), the Bolt app."""
from __future__ import annotations

import datetime as dt
import gc
import os
import socket
import logging
import threading
from dataclasses import dataclass

import dramatiq
from slack_bolt import App
from slack_sdk import WebClient

from bot.app import build_app
from bootstrap.compose import Services, build
from bot.breach_ops import fire_reminders
from bot.bulk_ops import open_scheduled
from gdpr.migrate import upgrade_database
from gdpr.retention import check_against_schema
from gdpr import logsafe
from gdpr.settings import Settings
from workers.broker import start_local_worker

log = logging.getLogger(__name__)
OWNER = f"{socket.gethostname()}:{os.getpid()}"


@dataclass
class Running:
    services: Services
    app: App
    worker: dramatiq.Worker | None
    _stop: threading.Event

    def stop(self) -> None:
        self._stop.set()
        self.app.followups.shutdown()
        if self.worker is not None:
            self.worker.stop(timeout=10_000)
        self.services.close()


def start(settings: Settings | None = None, *, slack: WebClient | None = None, housekeeping: bool = True) -> Running:
    """The bot process. On the embedded default it also runs the workers and the reconciler in-process."""
    logsafe.install()  # before Bolt creates its loggers: no request body reaches a log
    settings = settings or Settings()
    services = build(settings, slack=slack)
    upgrade_database(services.db)
    check_against_schema(services.retention, services.system.engine)
    worker = None
    stop = threading.Event()
    if not settings.redis_url:
        worker = start_local_worker(services.broker, settings.worker_threads)
        if housekeeping:
            threading.Thread(target=_housekeeping, args=(services, stop), daemon=True, name="housekeeping").start()
    sent = services.reconcile()  # the state DB leads: re-enqueue what a previous run left behind
    if sent:
        log.info("re-enqueued %d request(s) at start", len(sent))
    running = Running(services=services, app=build_app(services), worker=worker, _stop=stop)
    # Everything built so far lives as long as the process: keep it out of the cyclic GC's
    # full collections, whose pauses otherwise land on random acks.
    gc.freeze()
    return running


def housekeeping_pass(services: Services, *, owner: str = OWNER, now: dt.datetime | None = None) -> None:
    """Re-enqueue what the queue lost and open the retention policies' due slots (one scheduler acts)."""
    now = now or dt.datetime.now(dt.timezone.utc)
    services.reconcile()
    if open_scheduled(services, now, owner=owner) is not None:  # None: another scheduler leads
        fire_reminders(services, now)


def _housekeeping(services: Services, stop: threading.Event) -> None:
    while not stop.wait(services.settings.reconcile_interval_seconds):
        try:
            housekeeping_pass(services)
        except Exception:
            log.exception("housekeeping pass failed")
