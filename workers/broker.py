"""The broker: Redis when REDIS_URL is set, otherwise Dramatiq's in-process stub with local worker threads."""
from __future__ import annotations

import os

import dramatiq
from dramatiq.brokers.redis import RedisBroker
from dramatiq.brokers.stub import StubBroker

from gdpr.core.settings import Settings
from workers.joblog import JobLog

# A killed worker's messages - running and prefetched - come back after this (Dramatiq's default is
# 60 s), at the next maintenance pass of any live worker: 10 % of broker commands run one (Dramatiq's
# default is 0.1 %, minutes apart when idle). The state-DB lease and reconciler are the guarantee; this
# only shortens the wait.
HEARTBEAT_TIMEOUT_MS = 15_000
MAINTENANCE_CHANCE = 100_000  # per million commands


def make_broker(settings: Settings) -> dramatiq.Broker:
    broker: dramatiq.Broker
    if settings.redis_url:
        broker = RedisBroker(url=settings.redis_url, heartbeat_timeout=HEARTBEAT_TIMEOUT_MS,
                             maintenance_chance=MAINTENANCE_CHANCE)
    else:
        broker = StubBroker()
        broker.emit_after("process_boot")
    broker.add_middleware(JobLog())
    if settings.redis_url and settings.worker_metrics_port:
        _prometheus(broker, settings.ops_host, settings.worker_metrics_port)
    dramatiq.set_broker(broker)
    return broker


def _prometheus(broker: dramatiq.Broker, host: str, port: int) -> None:
    """Dramatiq's own Prometheus middleware: messages, errors, retries, durations per actor, served on
    OPS_HOST:WORKER_METRICS_PORT (loopback unless set) by a process forked from dramatiq's main one
    (`gdpr-bot worker` sets its port)."""
    os.environ.setdefault("dramatiq_prom_port", str(port))
    os.environ.setdefault("dramatiq_prom_host", host)  # Dramatiq's own default is every interface
    from dramatiq.middleware.prometheus import Prometheus
    broker.add_middleware(Prometheus())


def start_local_worker(broker: dramatiq.Broker, threads: int) -> dramatiq.Worker:
    """Worker threads inside this process: the embedded default's queue consumer."""
    worker = dramatiq.Worker(broker, worker_threads=threads, worker_timeout=100)  # a stop takes two of these
    worker.start()
    return worker
