"""`/gdpr retention report`: per policy, what was deleted in the last 30 days and what is due next."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from gdpr.bulk.engine import BulkEngine
from gdpr.bulk.retention import RetentionConfig
from gdpr.bulk.runs import BulkRuns

WINDOW = dt.timedelta(days=30)


@dataclass(frozen=True)
class PolicyLine:
    policy: str
    approval: str
    runs: int
    rows: int
    tables: dict[str, int]
    due: int
    next_run: dt.datetime | None
    waiting: tuple[int, ...]


def retention_report(config: RetentionConfig, runs: BulkRuns, bulk: BulkEngine, *,
                     now: dt.datetime) -> tuple[list[PolicyLine], list[tuple[int, int]]]:
    """One line per policy, and the CRM purges of the window as (run id, leads)."""
    finished, waiting = runs.finished_since(now - WINDOW), runs.open_runs()
    lines = []
    for name, policy in config.policies.items():
        mine = [r for r in finished if r.source == "retention" and r.policy == name]
        tables: dict[str, int] = {}
        for r in mine:
            for tname, counts in (r.counts or {}).items():
                tables[tname] = tables.get(tname, 0) + sum(v for k, v in counts.items() if k not in ("held", "erased"))
        lines.append(PolicyLine(policy=name, approval=policy.approval, runs=len(mine), rows=sum(r.done for r in mine),
                                tables=tables, due=bulk.count(policy.spec, now),
                                next_run=policy.trigger().get_next_fire_time(None, now),
                                waiting=tuple(r.id for r in waiting if r.policy == name)))
    return lines, [(r.id, r.done) for r in finished if r.source == "crm_purge"]
