"""Bulk deletion on PostgreSQL: a CRM purge of 100,000 rejected leads (with their consents and notes)
through the real bulk job (batches, checkpoints, progress), against a one-lead-at-a-time loop over the
erasure engine in the same run; and a retention sweep over 5 million visits. Peak memory is sampled.

    python -m benchmarks.purge_speed                      # creates and drops its own databases
    python -m benchmarks.purge_speed --leads 20000 --visits 1000000 --loop 1000   # a quicker look
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import threading
import time
from contextlib import contextmanager

from sqlalchemy import create_engine, text

from benchmarks import machine
from gdpr.bulk.engine import BulkEngine
from gdpr.bulk.job import BulkJob
from gdpr.bulk.retention import crm_purge_spec, cutoff, load_retention
from gdpr.bulk.runs import BulkRuns
from gdpr.core import models as m
from gdpr.core.audit import AuditLog
from gdpr.core.datamap import load_datamap
from gdpr.core.db import Database, make_engine
from gdpr.core.migrate import upgrade_database
from gdpr.core.settings import PROJECT_ROOT
from gdpr.core.subjects import SubjectDirectory
from gdpr.erasure.engine import ErasureEngine
from gym import schema
from gym.seed import add_rejected_leads, add_rows, seed

ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


class NoSlack:
    """The bulk job's delivery with Slack left out (the benchmark measures the database work)."""
    updates = 0

    def bulk_changed(self, run: m.BulkRun, rate: float | None = None) -> None:
        self.updates += 1

    def bulk_failed(self, run: m.BulkRun, reference: str) -> None:
        raise AssertionError(reference)


def rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


@contextmanager
def peak_rss():
    """Yields a dict that holds the peak resident-set growth (MB) once the block ends."""
    out, stop, start = {"peak": 0.0}, threading.Event(), rss_mb()

    def sample() -> None:
        while not stop.wait(0.05):
            out["peak"] = max(out["peak"], rss_mb() - start)
    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield out
    finally:
        stop.set()
        thread.join()


def admin(sql: str) -> None:
    engine = create_engine(ADMIN, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(sql))
    engine.dispose()


def fresh_copy(template: str, name: str) -> str:
    admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    admin(f"CREATE DATABASE {name} TEMPLATE {template}")
    return ADMIN.rsplit("/", 1)[0] + "/" + name


def stack(url: str):
    engine = make_engine(url, immediate=False)
    datamap = load_datamap(PROJECT_ROOT / "config" / "datamap.yaml")
    config = load_retention(PROJECT_ROOT / "config" / "retention.yaml", datamap)
    erasure = ErasureEngine(engine, datamap)
    bulk = BulkEngine(engine, datamap, erasure, SubjectDirectory(engine, datamap))
    db = Database(url)
    upgrade_database(db)
    runs = BulkRuns(db, AuditLog(b"bench" * 8), bulk, lambda: dt.datetime.now(dt.UTC), dt.timedelta(seconds=60))
    return engine, erasure, bulk, runs, db, config


def run_job(url: str, spec, *, policy: str) -> tuple[float, float, m.BulkRun, int]:
    engine, _, bulk, runs, db, _ = stack(url)
    run = runs.open(source="retention", policy=policy, spec=spec, requester_id="bench", approval=None)
    delivery = NoSlack()
    job = BulkJob(runs=runs, engine=bulk, writer=db, same_db=True, delivery=delivery, max_attempts=1)
    with peak_rss() as mem:
        t0 = time.perf_counter()
        assert job.run(run_id=run.id, owner="bench") == "done"
        seconds = time.perf_counter() - t0
    engine.dispose()
    db.dispose()
    return seconds, mem["peak"], runs.get(run.id), delivery.updates


def bench_leads(args: argparse.Namespace) -> None:
    admin("DROP DATABASE IF EXISTS gdpr_bench_leads_tmpl WITH (FORCE)")
    admin("CREATE DATABASE gdpr_bench_leads_tmpl")
    url = ADMIN.rsplit("/", 1)[0] + "/gdpr_bench_leads_tmpl"
    engine = make_engine(url, immediate=False)
    t0 = time.perf_counter()
    seed(engine, members=args.members, seed_value=5)
    add_rejected_leads(engine, leads=args.leads)
    engine.dispose()
    print(f"seeded {args.members:,} members + {args.leads:,} rejected leads in {time.perf_counter() - t0:.1f} s")

    url = fresh_copy("gdpr_bench_leads_tmpl", "gdpr_bench_leads_run")
    engine, erasure, bulk, runs, db, config = stack(url)
    spec = crm_purge_spec(config, {"older-than": "30d"}, bulk.clubs())
    engine.dispose()
    db.dispose()
    seconds, peak, run, updates = run_job(url, spec, policy="crm-purge")
    print(f"bulk purge: {run.done:,} leads in {seconds:.2f} s ({run.done / seconds:,.0f} leads/s), "
          f"batches of {spec.batch_size}, {updates} progress updates, residue {run.residue}, peak RSS +{peak:.1f} MB; "
          f"{machine()}")
    print(f"  counts: {run.counts}")

    url = fresh_copy("gdpr_bench_leads_tmpl", "gdpr_bench_leads_loop")
    engine, erasure, bulk, runs, db, config = stack(url)
    as_of = dt.datetime.now(dt.UTC)
    with engine.connect() as conn:
        keys = [str(k) for k in conn.execute(bulk._keys(spec, as_of).limit(args.loop)).scalars()]
    t0 = time.perf_counter()
    for key in keys:
        erasure.erase(kind="lead", key=key)
    loop = time.perf_counter() - t0
    per_lead = loop / len(keys)
    print(f"baseline, one lead at a time over the erasure engine: {len(keys):,} leads in {loop:.2f} s "
          f"({per_lead * 1000:.1f} ms/lead) -> {run.done:,} leads ~ {per_lead * run.done:.0f} s; "
          f"bulk is {per_lead * run.done / seconds:.0f}x faster; {machine()}")
    engine.dispose()
    db.dispose()
    for name in ("gdpr_bench_leads_run", "gdpr_bench_leads_loop", "gdpr_bench_leads_tmpl"):
        admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def bench_visits(args: argparse.Namespace) -> None:
    admin("DROP DATABASE IF EXISTS gdpr_bench_visits_tmpl WITH (FORCE)")
    admin("CREATE DATABASE gdpr_bench_visits_tmpl")
    url = ADMIN.rsplit("/", 1)[0] + "/gdpr_bench_visits_tmpl"
    engine = make_engine(url, immediate=False)
    seed(engine, members=1000, seed_value=5)
    t0 = time.perf_counter()
    start, step = dt.datetime(2020, 11, 1), dt.timedelta(minutes=1)  # six years of check-ins
    span = 6 * 365 * 24 * 60
    chunk = 500_000
    for first in range(0, args.visits, chunk):
        add_rows(engine, schema.visits, ((10_000_000 + i, 1 + i % 1000, 1 + i % 5, start + step * (i * span // args.visits),
                                          None) for i in range(first, min(first + chunk, args.visits))))
    with engine.connect() as conn:
        conn.execute(text("ANALYZE visits"))
        total = conn.execute(text("SELECT COUNT(*) FROM visits")).scalar_one()
    engine.dispose()
    print(f"seeded {total:,} visits in {time.perf_counter() - t0:.1f} s")

    url = fresh_copy("gdpr_bench_visits_tmpl", "gdpr_bench_visits_run")
    _, _, _, _, db, config = stack(url)
    db.dispose()
    spec = config.policies["old-visits"].spec
    spec = type(spec)(**{**spec.to_json(), "batch_size": args.visit_batch, "max_share": 1.0})
    seconds, peak, run, updates = run_job(url, spec, policy="old-visits")
    print(f"retention sweep: {run.done:,} of {total:,} visits deleted in {seconds:.2f} s "
          f"({run.done / seconds:,.0f} rows/s), batches of {spec.batch_size:,}, {updates} progress updates, "
          f"peak RSS +{peak:.1f} MB; {machine()}")

    url = fresh_copy("gdpr_bench_visits_tmpl", "gdpr_bench_visits_one")
    engine = make_engine(url, immediate=False)
    limit = cutoff(run.as_of, spec.older_than).astimezone(dt.UTC).replace(tzinfo=None)  # the same rows
    t0 = time.perf_counter()
    with engine.begin() as conn:
        deleted = conn.execute(text("DELETE FROM visits WHERE checked_in_at < :c"), {"c": limit}).rowcount
    one = time.perf_counter() - t0
    print(f"baseline, one DELETE statement (one transaction, no progress, no checkpoint): {deleted:,} rows in "
          f"{one:.2f} s; the batched sweep takes {seconds / one:.2f}x its time; {machine()}")
    engine.dispose()
    for name in ("gdpr_bench_visits_run", "gdpr_bench_visits_one", "gdpr_bench_visits_tmpl"):
        admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--members", type=int, default=5000)
    p.add_argument("--leads", type=int, default=100_000)
    p.add_argument("--loop", type=int, default=3000, help="leads erased one at a time for the baseline")
    p.add_argument("--visits", type=int, default=5_000_000)
    p.add_argument("--visit-batch", type=int, default=20_000)
    p.add_argument("--only", choices=["leads", "visits"])
    p.add_argument("--smoke", action="store_true", help="small sizes, for the test suite")
    args = p.parse_args()
    if args.smoke:
        args.members, args.leads, args.loop, args.visits, args.visit_batch = 300, 2000, 50, 20_000, 2_000
    if args.only != "visits":
        bench_leads(args)
    if args.only != "leads":
        bench_visits(args)


if __name__ == "__main__":
    main()
