"""The App Home on a large state database: 10,000 open requests (and a register of 2,000 breaches, 20 of
them open, 50 live grants, 30 retention runs waiting for the DPO), the DPO's overview built by the use
case and rendered to Block Kit, against a baseline in the same run that loads every open request and
sorts in Python (what a first version would do). Median, p95 and max of 30 rounds each.

    python -m benchmarks.home_speed                       # SQLite (a temporary file)
    python -m benchmarks.home_speed --database-url postgresql://postgres@127.0.0.1/gdpr_home_bench
    python -m benchmarks.home_speed --smoke               # 300 requests, 3 rounds (the test suite runs this)
"""
from __future__ import annotations

import argparse
import datetime as dt
import random
import secrets
import statistics
import tempfile
import time
from pathlib import Path

from sqlalchemy import insert, make_url, select, text

from benchmarks import machine, with_database
from bot.render_home import home_view
from gdpr.app.home import Home, Listed, Overview
from gdpr.breaches.config import load_breach_config
from gdpr.breaches.service import BreachService
from gdpr.core import models as m
from gdpr.core.access import load_policy
from gdpr.core.audit import AuditLog
from gdpr.core.db import Database
from gdpr.core.migrate import upgrade_database
from gdpr.core.settings import PROJECT_ROOT
from gdpr.core.shown import ShownMessages
from gdpr.grants.service import GrantService
from gdpr.requests.service import utcnow

UTC = dt.UTC


def fill(db: Database, requests: int) -> None:
    rng, now = random.Random(7), utcnow()
    statuses = [m.AWAITING_APPROVAL, m.APPROVED, m.QUEUED, m.RUNNING]
    rows = [dict(kind=rng.choice(["access", "erase"]), status=rng.choice(statuses), subject_type="member",
                 subject_key=str(i), subject_ref=f"ref{i:08d}", requester_id="U0SUPPORT1", received_at=now,
                 due_on=now.date() + dt.timedelta(days=rng.randint(-5, 31)), attempts=0) for i in range(requests)]
    at = now - dt.timedelta(hours=10)
    breaches = [dict(status=m.BREACH_OPEN if i < 20 else m.BREACH_CLOSED, reported_by="U0DPO1", reported_at=at,
                     detected_at=at, aware_at=at, kinds=["confidentiality"], description="-", data_categories=["contact"],
                     subject_categories=["members"], approx_people=1, approx_records=1, clubs=["ghent-centre"],
                     consequences="-", measures="-", contact="-", risk="unassessed", phase=0, members_total=0,
                     members_done=0) for i in range(2000)]
    grants = [dict(status=m.APPROVED, requester_id=f"U0S{i:04d}", subject_type="member", subject_key=str(i),
                   subject_ref=f"ref{i:08d}", reason="ticket", minutes=60, asked_at=now, decided_by="U0DPO1",
                   decided_at=now, expires_at=now + dt.timedelta(minutes=30 + i)) for i in range(50)]
    runs = [dict(source="retention", policy="visits-3y", spec={}, as_of=now, status=m.AWAITING_APPROVAL,
                 requester_id="scheduler", created_at=now, total=1000 + i) for i in range(30)]
    with db.session() as s:
        for model, batch in ((m.SubjectRequest, rows), (m.Breach, breaches), (m.AccessGrant, grants), (m.BulkRun, runs)):
            s.execute(insert(model), batch)


def naive(db: Database, now: dt.datetime) -> Home:
    """The baseline: every open request loaded as an object, sorted and counted in Python."""
    with db.session() as s:
        open_ = [r for r in s.execute(select(m.SubjectRequest)).scalars() if r.status in m.UNANSWERED]
        open_.sort(key=lambda r: (r.due_on, r.id))
        items = [{"ref": f"R-{r.id}", "kind": r.kind, "status": r.status, "due_on": r.due_on, "extended": False}
                 for r in open_[:15]]
    empty = Listed([], 0)
    return Home("U0DPO1", now, Listed(items, len(open_)), empty, empty, empty, empty)


def timed(fn, rounds: int) -> list[float]:
    out = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        home_view(fn())
        out.append(time.perf_counter() - t0)
    return out


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--database-url", help="an empty PostgreSQL database (dropped and recreated); default SQLite")
    p.add_argument("--requests", type=int, default=10_000)
    p.add_argument("--rounds", type=int, default=30)
    p.add_argument("--smoke", action="store_true", help="small sizes, for the test suite")
    args = p.parse_args()
    if args.smoke:
        args.requests, args.rounds = 300, 3
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{Path(tmp) / 'state.sqlite3'}"
        if args.database_url:
            name = make_url(url).database
            admin = Database(with_database(url, "postgres"))
            with admin.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            admin.dispose()
        db = Database(url)
        upgrade_database(db)
        fill(db, args.requests)
        if db.engine.dialect.name == "postgresql":
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM ANALYZE"))
        audit, policy = AuditLog(secrets.token_bytes(32)), load_policy(PROJECT_ROOT / "config" / "roles.yaml")
        dpo = policy.actor("U0DPO1", frozenset({"S0DPOTEAM"}))
        overview = Overview(db=db, staff=lambda u: dpo, grants=GrantService(db, audit, utcnow),
                            breaches=BreachService(db, audit, load_breach_config(PROJECT_ROOT / "config" / "breaches.yaml"),
                                                   utcnow),
                            shown=ShownMessages(db, utcnow), presenter=None)  # type: ignore[arg-type]
        home = overview.home(actor=dpo)
        assert home.requests.total == args.requests and len(home.requests.items) == 15
        ours = timed(lambda: overview.home(actor=dpo), args.rounds)
        base = timed(lambda: naive(db, utcnow()), args.rounds)
        ms = lambda v: f"median {statistics.median(v) * 1000:7.1f} ms  p95 {sorted(v)[int(len(v) * .95) - 1] * 1000:7.1f} ms  max {max(v) * 1000:7.1f} ms"  # noqa: E731
        print(f"{db.engine.dialect.name}: {home.requests.total:,} open requests, {home.breaches.total if home.breaches else 0} "
              f"open breaches of 2,000, {home.grants.total} live grants, {home.runs.total if home.runs else 0} runs waiting")
        print(f"App Home (use case + Block Kit):  {ms(ours)}  {machine()}")
        print(f"baseline (load all, sort in Python): {ms(base)}  {machine()}")
        print(f"speed-up (median): {statistics.median(base) / statistics.median(ours):.0f}x; "
              f"blocks in the view: {len(home_view(home)['blocks'])}")
        db.dispose()


if __name__ == "__main__":
    main()
