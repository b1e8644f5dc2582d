"""The scheduler process (`gdpr-bot scheduler`, Procfile `scheduler`): enqueue only. Every tick runs
the housekeeping use case; one scheduler acts at a time (a lease in the state database), a second
one started by mistake waits as a standby and takes over when the first stops."""
from __future__ import annotations

import datetime as dt
import logging
import os
import signal
import socket
import tempfile
import threading
import time
from pathlib import Path

from apscheduler.schedulers.blocking import BlockingScheduler

from gdpr.app.housekeeping import Housekeeping

log = logging.getLogger(__name__)
OWNER = f"{socket.gethostname()}:{os.getpid()}"


HEARTBEAT = Path(os.environ.get("SCHEDULER_HEARTBEAT")  # `gdpr-bot health scheduler` reads it
                 or Path(tempfile.gettempdir()) / "gdpr-bot-scheduler.alive")


def run_scheduler(housekeeping: Housekeeping, *, interval_s: int, owner: str = OWNER,
                  heartbeat: Path | None = HEARTBEAT) -> None:
    """Tick until SIGTERM; then hand the lease back, so a standby takes over at once. Each pass that
    completes touches `heartbeat` (a container's health check reads its age)."""
    scheduler = BlockingScheduler(timezone="UTC")
    scheduler.add_job(tick, "interval", args=[housekeeping, owner, heartbeat], seconds=interval_s, id="housekeeping",
                      max_instances=1, coalesce=True, next_run_time=dt.datetime.now(dt.UTC))
    signal.signal(signal.SIGTERM, lambda *_: scheduler.shutdown(wait=False))
    log.info("scheduler %s: every %ss", owner, interval_s)
    try:
        scheduler.start()
    finally:
        housekeeping.purges.step_down(owner)


def run_in_thread(housekeeping: Housekeeping, stop: threading.Event, *, interval_s: int,
                  owner: str = OWNER) -> threading.Thread:
    """The embedded default: the same ticks on a thread of the bot process."""
    def loop() -> None:
        while not stop.wait(interval_s):
            tick(housekeeping, owner)
    thread = threading.Thread(target=loop, daemon=True, name="housekeeping")
    thread.start()
    return thread


def tick(housekeeping: Housekeeping, owner: str, heartbeat: Path | None = None) -> None:
    try:
        housekeeping.run_pass(owner=owner)
    except Exception:  # a database blip: the next tick tries again
        log.exception("housekeeping pass failed")
        return
    if heartbeat is not None:
        heartbeat.touch()


def heartbeat_age(heartbeat: Path = HEARTBEAT) -> float | None:
    """Seconds since the last completed pass (None: none yet)."""
    try:
        return time.time() - heartbeat.stat().st_mtime
    except FileNotFoundError:
        return None
