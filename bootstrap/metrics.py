"""The process's own Prometheus series, registered once per process; every entry point counts into them and
bootstrap/observability.py serves them with the gauges it reads from the state DB."""
from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector


@dataclass(frozen=True)
class Metrics:
    """The process's own series (one set per process: Prometheus names are registered once)."""
    registry: CollectorRegistry
    commands: Counter  # slash commands answered, by subcommand and outcome
    ack_seconds: Histogram  # time to answer Slack's HTTP request (the ack)
    api_calls: Counter  # the clubs' API, by route and status


def _create() -> Metrics:
    registry = CollectorRegistry()
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    return Metrics(
        registry=registry,
        commands=Counter("gdpr_commands", "Slash commands answered, by subcommand and outcome", ["command", "outcome"],
                         registry=registry),
        ack_seconds=Histogram("gdpr_ack_seconds", "Time to answer a request from Slack (the ack Slack waits 3 s for)",
                              buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0), registry=registry),
        api_calls=Counter("gdpr_api_calls", "Clubs' API calls, by route and status", ["route", "status"],
                          registry=registry))


METRICS = _create()
