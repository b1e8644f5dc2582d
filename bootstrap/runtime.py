"""Assemble a running bot: migrations, services, the local worker (embedded default), the Bolt app."""
from __future__ import annotations

import datetime as dt
import gc
import logging
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

import dramatiq
from slack_bolt import App
from slack_sdk import WebClient

from bootstrap.checks import check_live_schema
from bootstrap.compose import Services, build
from bot.app import BotApp, build_app
from bot.followups import Followups
from bot.listeners.deps import SlackUseCases
from gdpr.core import logsafe
from gdpr.core.deployment import claim_exports
from gdpr.core.migrate import upgrade_database
from gdpr.core.settings import Settings
from workers.broker import start_local_worker
from workers.scheduler import OWNER, run_in_thread

if TYPE_CHECKING:
    from fastapi import FastAPI

log = logging.getLogger(__name__)

SWITCH_INTERVAL_S = 0.001


@dataclass
class Running:
    services: Services
    app: App
    followups: Followups
    worker: dramatiq.Worker | None
    _stop: threading.Event
    listeners: ThreadPoolExecutor | None = None

    def stop(self) -> None:
        self._stop.set()
        if self.listeners is not None:  # idle listener threads end now, busy ones once their listener returns
            self.listeners.shutdown(wait=False)
        self.followups.shutdown()
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
    bot = slack_app(services)
    running = Running(services=services, app=bot.app, followups=bot.followups, worker=worker, _stop=stop,
                      listeners=bot.listeners)
    # Everything built so far lives as long as the process: keep it out of the cyclic GC's
    # full collections, whose pauses otherwise land on random acks.
    gc.freeze()
    # The bot's process answers Slack within ~30 ms while its other threads compute: a thread whose database or
    # HTTP answer has arrived waits for the interpreter up to this interval, 5 ms by default, at each round
    # trip. 1 ms (measured in benchmarks/ack_latency.py: p99 under sustained load 1.64-1.72x the bare app's
    # at 5 ms, 1.17-1.19x at 1 ms, acks alone on PostgreSQL).
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    return running


def slack_app(services: Services) -> BotApp:
    """The Bolt app, handed the use cases behind Slack (and nothing else of the domain)."""
    s = services
    use = SlackUseCases(requests=s.subject_requests, deadlines=s.request_deadlines, find=s.find_subjects,
                        history=s.subject_history, grants=s.access_grants, purges=s.purges, breaches=s.breach_desk,
                        consent=s.consent, rights=s.rights_desk, clubs=s.club_access, records=s.records,
                        home=s.overview)
    return build_app(use, slack=s.slack, signing_secret=s.settings.signing_secret, seen=s.seen, policy=s.policy,
                     breach_contact=s.breach_config.contact, commands_counter=s.metrics.commands)


def api_app(services: Services, *, allow_http: bool = False, per_minute: int = 120, per_address: int | None = None,
            docs: bool | None = None) -> FastAPI:
    """The clubs' API, handed its use cases (and nothing else of the domain); limits from the settings."""
    from api.app import ApiUseCases, build_api  # FastAPI: only in the processes that serve the API
    s, settings = services, services.settings
    api = ApiUseCases(clubs=s.club_api, records=s.records, portability_schema=s.exporter.schema,
                      public_keys=s.ring.public_keys, calls=s.metrics.api_calls,
                      rectifiable=s.platform_rights.field_types("member"))
    return build_api(api, allow_http=allow_http, per_minute=per_minute,
                     per_address=per_address or settings.api_rate_per_address, max_body=settings.api_max_body_bytes,
                     docs=settings.api_docs if docs is None else docs)


def housekeeping_pass(services: Services, *, owner: str = OWNER, now: dt.datetime | None = None) -> None:
    """One scheduler pass (tests drive it on a controllable clock)."""
    services.housekeeping.run_pass(owner=owner, now=now)
