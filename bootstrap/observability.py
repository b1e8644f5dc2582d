"""What an operator watches: readiness (state DB, system DB, Redis) and Prometheus metrics.

The bot's own series are counted where they happen (commands by outcome, ack latency) or read from the
state DB at each scrape (open requests by days to their deadline, breaches by hours left on the 72-hour
clock, outbox backlog, bulk rows per second, jobs recovered after a lost attempt): the state DB is the
truth, so every replica reports the same numbers and a restarted process loses none. No label ever
carries personal data: subcommand names, statuses and buckets only.
"""
from __future__ import annotations

import datetime as dt
import functools
import json
import logging
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from prometheus_client import CONTENT_TYPE_LATEST as METRICS_CONTENT_TYPE
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session

if TYPE_CHECKING:  # the composition root builds these collectors from its own Services
    from bootstrap.compose import Services

from gdpr.core import models as m

log = logging.getLogger(__name__)

DAY_BUCKETS = ("overdue", "0-3", "4-7", "8-14", "15+")
HOUR_BUCKETS = ("past", "0-12", "12-24", "24-48", "48+")
BACKLOG = (m.NOTICE_PENDING, m.NOTICE_SENDING, m.NOTICE_RETRYING, m.NOTICE_WAITING)


def days_bucket(days: int) -> str:
    """Whole days left to a request's due date (0: due today)."""
    return "overdue" if days < 0 else "0-3" if days <= 3 else "4-7" if days <= 7 else "8-14" if days <= 14 else "15+"


def hours_bucket(hours: float) -> str:
    """Hours left on a breach's clock (an alert rule fires under 12)."""
    return "past" if hours < 0 else "0-12" if hours < 12 else "12-24" if hours < 24 else "24-48" if hours < 48 else "48+"


class StateCollector:
    """Gauges read from the state DB at each scrape (a handful of indexed aggregate queries). With the
    database down they are left out - stale, not zero, which would read as "no breach open" - and
    `gdpr_state_db_up` says 0."""

    def __init__(self, services: Services) -> None:
        self.services = services

    def collect(self) -> Iterator[Metric]:
        now = self.services.requests.clock()
        up = GaugeMetricFamily("gdpr_state_db_up", "Whether the state DB answered this scrape (0: the gdpr_ gauges "
                                                   "read from it are missing, not zero)")
        try:
            with self.services.db.session() as s:
                read = [self._requests(s, now.date()), self._breaches(s, now), self._backlog(s),
                        self._bulk_rate(s, now), self._recovered(s)]
        except Exception as exc:
            log.warning("metrics: the state DB did not answer (%s); its gauges are left out", type(exc).__name__)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from read

    def _requests(self, s: Session, today: dt.date) -> Metric:
        g = GaugeMetricFamily("gdpr_open_requests", "Open data-subject requests by days left to their deadline",
                              labels=["days_left"])
        counts = dict.fromkeys(DAY_BUCKETS, 0)
        for due, n in s.execute(select(m.SubjectRequest.due_on, func.count()).where(
                m.SubjectRequest.status.notin_(m.TERMINAL)).group_by(m.SubjectRequest.due_on)):
            counts[days_bucket((due - today).days)] += n
        for name, n in counts.items():
            g.add_metric([name], n)
        return g

    def _breaches(self, s: Session, now: dt.datetime) -> Metric:
        g = GaugeMetricFamily("gdpr_breaches_clock", "Open breaches whose clubs are not yet notified, by hours left "
                              "of the 72-hour clock", labels=["hours_left"])
        counts = dict.fromkeys(HOUR_BUCKETS, 0)
        hours = self.services.breach_config.deadline_hours
        for (aware,) in s.execute(select(m.Breach.aware_at).where(m.Breach.status == m.BREACH_OPEN, m.Breach.phase == 0)):
            aware = aware if aware.tzinfo else aware.replace(tzinfo=dt.UTC)
            left = (aware + dt.timedelta(hours=hours) - now).total_seconds() / 3600
            counts[hours_bucket(left)] += 1
        for name, n in counts.items():
            g.add_metric([name], n)
        return g

    def _backlog(self, s: Session) -> Metric:
        g = GaugeMetricFamily("gdpr_outbox_backlog", "Notices not yet delivered, by outbox and status",
                              labels=["outbox", "status"])
        for outbox, model in (("recipients", m.Notice), ("breach_clubs", m.BreachNotice)):
            found = dict(s.execute(select(model.status, func.count()).where(model.status.in_(BACKLOG))
                                   .group_by(model.status)).all())
            for status in BACKLOG:
                g.add_metric([outbox, status], found.get(status, 0))
        return g

    def _bulk_rate(self, s: Session, now: dt.datetime) -> Metric:
        g = GaugeMetricFamily("gdpr_bulk_rows_per_second", "Running bulk runs: subjects or rows done per second "
                              "since the run started (summed over runs)")
        rate = 0.0
        for done, at in s.execute(select(m.BulkRun.done, m.BulkRun.started_at).where(
                m.BulkRun.status == m.RUNNING, m.BulkRun.started_at.is_not(None))):
            if at is None:  # the query excludes it; said again for the type checker
                continue
            started: dt.datetime = at if at.tzinfo else at.replace(tzinfo=dt.UTC)
            rate += done / max((now - started).total_seconds(), 1.0)
        g.add_metric([], rate)
        return g

    def _recovered(self, s: Session) -> Metric:
        g = GaugeMetricFamily("gdpr_jobs_recovered", "Jobs that ran again after an attempt was lost (a killed "
                              "worker, a lost message): the reconciler's and the leases' recoveries", labels=["kind"])
        for label, model in (("request", m.SubjectRequest), ("bulk", m.BulkRun)):
            extra = s.execute(select(func.coalesce(func.sum(model.attempts - 1), 0)).where(model.attempts > 1)).scalar()
            g.add_metric([label], int(extra or 0))
        return g


def metrics_text(services: Services, *, state: bool = True) -> bytes:
    """The exposition text: the process's own series, then (`state`: the bot only, so a dashboard summing
    over targets does not count them twice) the state DB's gauges."""
    own = generate_latest(services.metrics.registry)
    if not state:
        return own
    registry = CollectorRegistry()
    registry.register(StateCollector(services))
    return own + generate_latest(registry)


def ops_routes(services: Services, *, state: bool = True) -> dict[str, Callable[[], tuple[int, str, bytes]]]:
    """`/readyz` and `/metrics` for the bot's HTTP server (also in Socket Mode) and the clubs' API (which
    leaves the state DB's gauges to the bot: `state=False`)."""
    def ready() -> tuple[int, str, bytes]:
        ok, checks = readiness(services)
        return (200 if ok else 503), "application/json", json.dumps({"ready": ok, "checks": checks}).encode()

    def metrics() -> tuple[int, str, bytes]:
        return 200, METRICS_CONTENT_TYPE, metrics_text(services, state=state)
    return {"/readyz": ready, "/metrics": metrics}


def readiness(services: Services) -> tuple[bool, dict[str, str]]:
    """Whether this process can do its work now: the state DB, the system DB and (if used) Redis answer."""
    checks: dict[str, str] = {}
    for name, engine in (("state_db", services.db.engine), ("system_db", services.system.engine)):
        checks[name] = _probe(functools.partial(_select_one, engine))
    redis_url = services.settings.redis_url
    if redis_url:
        checks["redis"] = _probe(lambda: _ping_redis(redis_url))
    return all(v == "ok" for v in checks.values()), checks


def _probe(check: Callable[[], object]) -> str:
    started = time.monotonic()
    try:
        check()
    except Exception as exc:  # a readiness probe reports, it never raises; the class only (no URL, no password)
        return f"down ({type(exc).__name__})"
    return "ok" if time.monotonic() - started < 5 else "slow"


def _select_one(engine: Engine) -> None:
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))


def _ping_redis(url: str) -> None:
    import redis
    client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
    try:
        client.ping()
    finally:
        client.close()
