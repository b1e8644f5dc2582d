"""One log event per job run: actor, message id, attempt, duration, outcome (ids only: never arguments
that could name someone, and the actors take ids anyway). With LOG_FORMAT=json these are the lines a
log pipeline counts and alerts on."""
from __future__ import annotations

import logging
import threading
import time

import dramatiq
from dramatiq.broker import MessageProxy
from dramatiq.middleware import Middleware

log = logging.getLogger("gdpr.requests.jobs")


class JobLog(Middleware):
    def __init__(self) -> None:
        self._started: dict[str, float] = {}
        self._lock = threading.Lock()

    def before_process_message(self, broker: dramatiq.Broker, message: MessageProxy) -> None:
        with self._lock:
            self._started[message.message_id] = time.monotonic()

    def after_process_message(self, broker: dramatiq.Broker, message: MessageProxy, *,
                              result: object = None, exception: BaseException | None = None) -> None:
        self._log(message, "failed" if exception is not None else "ok",
                  type(exception).__name__ if exception is not None else None)

    def after_skip_message(self, broker: dramatiq.Broker, message: MessageProxy) -> None:
        self._log(message, "skipped", None)

    def _log(self, message: MessageProxy, outcome: str, error: str | None) -> None:
        with self._lock:
            started = self._started.pop(message.message_id, None)
        duration = round((time.monotonic() - started) * 1000) if started is not None else None
        log.log(logging.WARNING if error else logging.INFO, "job %s %s%s", message.actor_name, outcome,
                f" ({error})" if error else "",
                extra={"job": message.actor_name, "message_id": message.message_id, "outcome": outcome,
                       "attempt": message.options.get("retries", 0) + 1, "duration_ms": duration})
