"""Erasing one member on PostgreSQL at scale, every figure from the same run:

* the whole job, Approve -> done (the use cases with the real state and system databases, Slack
  left out: identifiers, plan, ledger, Art. 19 outbox, the one-statement erasure, the residue proof
  over every text column, the outbox released), beside one sequential pass over every text column of
  the database (the floor any proof that reads the data must pay), measured next to each job;
* the erasure alone: our engine, a hand-written set-based floor (one statement per table in one
  transaction, no plan, no proof) and a row-by-row baseline (one UPDATE or DELETE per row by primary
  key, as Fides' SQL connector masks), on members with the same profile;
* each profile without, then with the optional indexes (`gdpr-bot residue index`; dropped at the end
  unless --keep-indexes).

    gdpr-bot seed --members 200000      # with DATABASE_URL pointing at the benchmark database
    python -m benchmarks.erasure_speed --database-url postgresql://postgres@127.0.0.1/gdpr_bench200k --history 3000
"""
from __future__ import annotations

import argparse
import secrets
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from dramatiq.brokers.stub import StubBroker
from slack_sdk import WebClient
from sqlalchemy import column, delete, event, make_url, select, table, text, update

from benchmarks import machine, with_database
from bootstrap.compose import Presenters, Services, build
from gdpr.core.datamap import load_datamap
from gdpr.core.db import make_engine
from gdpr.core.migrate import upgrade_database
from gdpr.core.settings import PROJECT_ROOT, Settings
from gdpr.erasure.engine import ErasureEngine
from gdpr.erasure.residue import INDEX_PREFIX, Sought, ensure_indexes, residue_checks, text_tables
from tests.fakes import (
    FakeBreachPresenter,
    FakeBulkPresenter,
    FakeGrantPresenter,
    FakeHomePresenter,
    FakeOwed,
    FakeQueue,
    FakeRequestPresenter,
)
from tests.helpers import DPO, SUPPORT


def row_by_row(engine, erasure: ErasureEngine, datamap, key: str) -> int:
    """The baseline: same rules, but one statement per row."""
    n = 0
    with engine.begin() as conn:
        for spec in datamap.tables_for("member"):
            where = erasure._where(spec, "member", key, held=False)
            ids = [r[0] for r in conn.execute(select(column("id")).select_from(table(spec.name)).where(where))]
            values = erasure._assignments(spec, "member", key)
            tbl = table(spec.name, *[column(c) for c in erasure._col_types(spec.name)])
            for row_id in ids:
                if spec.erasure.rows == "delete":
                    conn.execute(delete(tbl).where(column("id") == row_id))
                elif values:
                    conn.execute(update(tbl).where(column("id") == row_id).values(values))
                n += 1
    return n


class DbClock:
    """Database time: the time spent inside the driver's execute (round trip + server work)."""

    def __init__(self, engine) -> None:
        self.total = 0.0
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, conn, *args) -> None:
        conn.info["t0"] = time.perf_counter()

    def _after(self, conn, *args) -> None:
        self.total += time.perf_counter() - conn.info.pop("t0")

    def measure(self, fn) -> tuple[float, float]:
        """(wall seconds, database seconds) of fn()."""
        self.total, t0 = 0.0, time.perf_counter()
        fn()
        return time.perf_counter() - t0, self.total


def text_pass(engine) -> float:
    """One sequential read of every text column of every table, lower-cased once per row (the cheapest
    case-insensitive read measured: a fifth cheaper than lower-casing each column), tested against one
    pattern that nothing matches, on one connection (PostgreSQL adds parallel workers where it plans
    them), never through an index (a one-column table's text is the very expression `residue index`
    indexes), in seconds."""
    tables, t0 = text_tables(engine), time.perf_counter()
    with engine.connect() as conn:
        conn.execute(text("SET LOCAL enable_indexscan = off"))
        conn.execute(text("SET LOCAL enable_bitmapscan = off"))
        for t in tables:
            joined = "lower(" + " || ' ' || ".join(f"coalesce(\"{c}\"::text, '')" for c, _ in t.cols) + ")"
            conn.execute(text(f'SELECT COUNT(*) FROM "{t.name}" WHERE {joined} LIKE :x'), {"x": "%\x01none\x01%"})
    return time.perf_counter() - t0


def set_based_floor(engine, erasure: ErasureEngine, datamap, key: str) -> None:
    """The hand-written floor: the same rules, one statement per table, one transaction; no plan, no
    hold, no ledger, no proof."""
    with engine.begin() as conn:
        for spec in datamap.tables_for("member"):
            where = erasure._where(spec, "member", key, held=False)
            tbl = table(spec.name, *[column(c) for c in erasure._col_types(spec.name)])
            values = erasure._assignments(spec, "member", key)
            if spec.erasure.rows == "delete":
                conn.execute(delete(tbl).where(where))
            elif values:
                conn.execute(update(tbl).where(where).values(values))


def add_history(engine, member_ids: list[str], visits: int) -> None:
    """A long-standing member: years of check-ins, bookings and counter sales."""
    with engine.begin() as conn:
        for mid in member_ids:
            conn.execute(text("INSERT INTO visits (member_id, club_id, checked_in_at) SELECT :m, 1, "
                              "TIMESTAMP '2019-01-01' + g * INTERVAL '13 hours' FROM generate_series(1, :n) g"),
                         {"m": int(mid), "n": visits})
            conn.execute(text("INSERT INTO class_bookings (member_id, club_id, class_name, starts_at, status) "
                              "SELECT :m, 1, 'Yoga', TIMESTAMP '2019-01-01' + g * INTERVAL '5 days', 'attended' "
                              "FROM generate_series(1, :n) g"), {"m": int(mid), "n": visits // 10})
            conn.execute(text("INSERT INTO pos_sales (member_id, club_id, sold_at, item, amount) SELECT :m, 1, "
                              "TIMESTAMP '2019-01-01' + g * INTERVAL '7 days', 'Water', 1.5 "
                              "FROM generate_series(1, :n) g"), {"m": int(mid), "n": visits // 20})


class Jobs:
    """The real use cases on a state database of their own, the system database the benchmark's; the
    ports (Slack, queue) are in-memory fakes, so the time is the job's own."""

    def __init__(self, system_url: str, state_url: str, folder: Path) -> None:
        settings = Settings(database_url=state_url, system_database_url=system_url, secret_key=secrets.token_hex(32),
                            export_dir=folder / "exports", outbox_dir=folder / "outbox", config_dir=PROJECT_ROOT / "config")
        self.requests, self.queue = FakeRequestPresenter(), FakeQueue()
        self.services: Services = build(settings, broker=StubBroker(), slack=WebClient(base_url="http://127.0.0.1:9/"),
                                        presenters=Presenters(self.requests, FakeBulkPresenter(), FakeBreachPresenter(),
                                                              FakeOwed(), FakeGrantPresenter(), FakeHomePresenter()), queue=self.queue)
        upgrade_database(self.services.db)
        self.parts = PartsClock(self.services)

    def opened(self, key: str) -> int:
        """An erasure request for the member, opened by support and previewed (before the clock starts)."""
        with self.services.system.engine.connect() as conn:
            number = conn.execute(text("SELECT member_number FROM members WHERE id = :i"), {"i": int(key)}).scalar()
        use = self.services.subject_requests
        return use.open(actor=self.services.policy.actor(SUPPORT), kind="erase", identity=number,
                        subject_type="member", club_code=None).request_id

    def approve_to_done(self, request_id: int) -> tuple[float, float, int]:
        """(seconds from the DPO's approval to the job's end, of which the residue check, residue found).
        Residue is reported, not asserted: a seeded database can hold the same phone number for two
        members, and the proof then rightly finds the other's (the job ends for the DPO to decide)."""
        services, t0 = self.services, time.perf_counter()
        self.parts.start()
        dpo = services.policy.actor(DPO, frozenset({"S0DPOTEAM"}))
        assert services.subject_requests.approve(actor=dpo, request_id=request_id)
        job = services.erasure_job()
        clock = ResidueClock(job)
        status = job.run(request_id=request_id, owner="bench")
        elapsed = time.perf_counter() - t0
        self.parts.job(elapsed, clock.seconds)
        req = services.requests.get(request_id)
        assert req.status == status, (status, req.status)
        return elapsed, clock.seconds, len((req.result or {}).get("residue") or [])


class PartsClock:
    """Where the rest of each job goes (item 3 of issue 25): identifier lookup, plan, ledger, audit, the
    erasure (its k-anonymity check apart) and the other stores, timed around the real calls of the job's
    collaborators while `approve_to_done` runs (the approval's preview included: its plan is the job's)."""

    PARTS = {"identifiers": ("engine", "identifiers"), "plan": ("engine", "plan"), "erasure": ("engine", "erase"),
             "  of which k-anonymity": ("engine", "_reach_k"), "ledger": ("job", "erasure_intent record_intent "
                                                                          "confirm_erasure forget_identifiers"),
             "audit": ("job", "_record_audit"), "other stores": ("job", "forget_everywhere")}

    def __init__(self, services: Services) -> None:
        import gdpr.erasure.job as job_module
        self.samples: dict[str, list[float]] = {name: [] for name in [*self.PARTS, "rest", "target"]}
        self._now: dict[str, float] = {}
        owners = {"engine": services.erasure, "job": job_module}
        for name, (owner, attrs) in self.PARTS.items():
            for attr in attrs.split():
                if attr == "_record_audit":
                    owner_obj, attr = job_module.ErasureJob, "_record"
                else:
                    owner_obj = owners[owner]
                setattr(owner_obj, attr, self._timed(name, getattr(owner_obj, attr)))

    def _timed(self, name: str, inner):
        def timed(*args, **kwargs):
            t0 = time.perf_counter()
            try:
                return inner(*args, **kwargs)
            finally:
                self._now[name] = self._now.get(name, 0.0) + time.perf_counter() - t0
        return timed

    def start(self) -> None:
        self._now.clear()  # what jobs run at once (`at_once`) left: not this job's

    def job(self, elapsed: float, proof: float) -> None:
        """One job ended: book its parts (0 for a part it did not call) and its rest (the job less its proof)."""
        for name in self.PARTS:
            self.samples[name].append(self._now.get(name, 0.0))
        self.samples["rest"].append(elapsed - proof)
        self.samples["target"].append(sum(self._now.get(n, 0.0) for n in ("identifiers", "plan", "ledger", "audit")))
        self._now.clear()


class PassClock:
    """The time a proof group's passes take (and how many ran), from now until `stop`."""

    def __init__(self, group, *, once: bool = False) -> None:
        self.group, self.inner, self.seconds, self.passes = group, group.check, 0.0, 0

        def timed(*args):
            t0 = time.perf_counter()
            try:
                return self.inner(*args)
            finally:
                self.seconds, self.passes = self.seconds + time.perf_counter() - t0, self.passes + 1
                if once:
                    self.stop()
        self.timed = timed
        group.check = timed

    def stop(self) -> None:
        self.group.check = self.inner


class ResidueClock(PassClock):
    """The residue proof's share of one job (the pass its proof group runs)."""

    def __init__(self, job) -> None:
        super().__init__(job.proofs, once=True)


class Alone:
    """The baseline of `--at-once`: each erasure proven by a pass of its own, as many at once as there are
    worker threads (what every job did before proofs were shared)."""

    def __init__(self, services: Services, check) -> None:
        self.services, self.check = services, check

    def prove(self, *, request_id: int, identifiers, still_mine) -> object:
        req, s = self.services.requests.get(request_id), self.services
        return self.check(s.system.engine, s.datamap, s.erasure, [Sought(req.subject_type, req.subject_key,
                                                                         identifiers)])[0]


def at_once(engine, jobs: Jobs, members: list[str], threads: int, shared: bool) -> dict[str, float]:
    """N erasure requests approved at once and run by `threads` worker threads: seconds from the first
    approval to the last job's end, the seconds spent in proof passes (summed over passes; with the
    baseline, over jobs, some of them at the same time) and the number of passes; then a text pass."""
    services, dpo = jobs.services, jobs.services.policy.actor(DPO, frozenset({"S0DPOTEAM"}))
    request_ids = [jobs.opened(key) for key in members]
    sought = [Sought("member", key, services.erasure.identifiers(kind="member", key=key)) for key in members]
    group = services.proofs
    clock = PassClock(group)
    if not shared:
        services.proofs = Alone(services, clock.timed)  # type: ignore[assignment]
    try:
        t0 = time.perf_counter()
        for request_id in request_ids:
            assert services.subject_requests.approve(actor=dpo, request_id=request_id)
        with ThreadPoolExecutor(threads) as pool:
            statuses = list(pool.map(lambda r: services.erasure_job().run(request_id=r, owner="bench"), request_ids))
        total = time.perf_counter() - t0
    finally:
        clock.stop()
        services.proofs = group
    assert all(s in ("done", "notifying", "failed") for s in statuses), statuses
    out = {"total": total, "proof": clock.seconds, "passes": clock.passes, "pass": text_pass(engine)}
    if shared:  # the proof alone, after the fact: all N in one pass, and each in a pass of its own
        s = services
        t0 = time.perf_counter()
        residue_checks(s.system.engine, s.datamap, s.erasure, sought)
        out["one pass"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        for one in sought:
            residue_checks(s.system.engine, s.datamap, s.erasure, [one])
        out["each alone"] = time.perf_counter() - t0
    return out


def report_at_once(n: int, threads: int, shared: dict[str, float], alone: dict[str, float]) -> None:
    tp = (shared["pass"] + alone["pass"]) / 2
    for label, r in (("shared proofs", shared), ("one proof each", alone)):
        print(f"    {n:5d} at once, {label:15s} last done {r['total']:8.2f} s = {r['total'] / tp:6.1f} text passes; "
              f"proof {r['proof']:7.2f} s in {r['passes']:5d} passes = {r['proof'] / tp:6.1f} text passes")
    print(f"    {n:5d} proven afterwards: all in one pass {shared['one pass']:7.2f} s = "
          f"{shared['one pass'] / tp:6.1f} text passes; each in its own {shared['each alone']:7.2f} s = "
          f"{shared['each alone'] / tp:6.1f} text passes")
    print(f"          one text pass {tp * 1000:.0f} ms; {threads} worker threads; {machine()}")


def spare(engine, picks: list[str], n: int) -> list[str]:
    """n members not erased yet and not among the profiles' picks, from the highest id down."""
    with engine.connect() as conn:
        found = [str(r[0]) for r in conn.execute(text(
            "SELECT id FROM members WHERE first_name <> 'Anonymised' AND email IS NOT NULL "
            "AND NOT (id = ANY(CAST(:p AS integer[]))) ORDER BY id DESC LIMIT :n"), {"p": [int(p) for p in picks], "n": n})]
    assert len(found) == n, "not enough members left: seed a larger database"
    return found


def pick_members(engine, n: int) -> list[str]:
    """The busiest seeded members not erased yet (under 100 visits, so a long-history profile is added)."""
    with engine.connect() as conn:
        return [str(r[0]) for r in conn.execute(text(
            "SELECT m.id FROM members m WHERE m.first_name <> 'Anonymised' "
            "AND (SELECT COUNT(*) FROM visits v WHERE v.member_id = m.id) < 100 ORDER BY "
            "(SELECT COUNT(*) FROM visits v WHERE v.member_id = m.id) DESC, m.id LIMIT :n"), {"n": n})]


def profile_rounds(engine, datamap, erasure, jobs: Jobs, clock: DbClock, picks: list[str],
                   rows_of) -> dict[str, list[float]]:
    """Per sample: a text pass, then the whole job, the engine, the floor and the row-by-row baseline, each on
    a member of its own."""
    out: dict[str, list[float]] = {k: [] for k in ("pass", "job", "residue", "engine", "floor", "slow", "rows", "found")}
    first = {name: len(v) for name, v in jobs.parts.samples.items()}
    for a, b, c, d in zip(picks[0::4], picks[1::4], picks[2::4], picks[3::4], strict=False):
        request_id = jobs.opened(a)
        out["rows"].append(rows_of(a))
        out["pass"].append(text_pass(engine))
        job, residue, found = jobs.approve_to_done(request_id)
        out["job"].append(job)
        out["residue"].append(residue)
        out["found"].append(found)
        out["engine"].append(clock.measure(lambda b=b: erasure.erase(kind="member", key=b))[1])  # b: the engine alone
        out["floor"].append(clock.measure(lambda c=c: set_based_floor(engine, erasure, datamap, c))[1])
        out["slow"].append(clock.measure(lambda d=d: row_by_row(engine, erasure, datamap, d))[1])
    out.update({f"part:{name}": v[first[name]:] for name, v in jobs.parts.samples.items()})
    return out


def report(label: str, r: dict[str, list[float]]) -> None:
    med = statistics.median
    ms = lambda k: f"{med(r[k]) * 1000:8.1f} ms (max {max(r[k]) * 1000:7.1f})"  # noqa: E731
    print(f"  {label}: {len(r['job'])} members, median {med(r['rows']):.0f} rows erased each; {machine()}")
    if any(r["found"]):
        print(f"    residue found by the proof in {sum(1 for f in r['found'] if f)} job(s) (seeded collisions: "
              "another member's identical value; the job leaves it to the DPO)")
    print(f"    one sequential text pass          {ms('pass')}")
    print(f"    whole job, Approve -> done        {ms('job')} = {med(r['job']) / med(r['pass']):.2f}x the text pass")
    print(f"      of which the residue check      {ms('residue')}")
    print(f"      the rest of the job             {ms('part:rest')}")
    print(f"        identifiers, plan, ledger, audit {ms('part:target')} (issue 25: under 100 ms)")
    for name in PartsClock.PARTS:
        print(f"        {name:30s}{ms('part:' + name)}")
    print(f"    erasure: engine, database time    {ms('engine')}")
    print(f"    erasure: set-based floor          {ms('floor')}")
    print(f"    erasure: row by row (baseline)    {ms('slow')} = {med(r['slow']) / med(r['engine']):.1f}x the engine")


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--database-url", required=True, help="the seeded system database (PostgreSQL); with --smoke, "
                                                          "any database on the server: one is made, seeded and dropped")
    p.add_argument("--smoke", action="store_true", help="small sizes on a database of its own, for the test suite")
    p.add_argument("--samples", type=int, default=5)
    p.add_argument("--history", type=int, default=0, help="also a long-standing member: this many extra visits")
    p.add_argument("--keep-indexes", action="store_true", help="leave `residue index`'s indexes in place")
    p.add_argument("--at-once", default="1,10,100", help="erasures approved at once, shared proofs beside one "
                                                          "proof each (comma-separated sizes; empty: none)")
    p.add_argument("--at-once-unindexed", default="1,10", help="the same without the indexes")
    p.add_argument("--threads", type=int, default=8, help="worker threads (the default deployment: 2 x 4)")
    p.add_argument("--only-at-once", action="store_true", help="skip the single-erasure profiles")
    args = p.parse_args()
    if args.smoke:
        smoke(args)
        return
    run(args)


def smoke(args: argparse.Namespace) -> None:
    """400 members, one sample per profile, a short history: on a database made and dropped here."""
    from gym.seed import seed
    name = f"bench_erasure_smoke_{secrets.token_hex(3)}"
    admin = make_engine(args.database_url, immediate=False)
    _recreate(admin, with_database(args.database_url, name))
    try:
        engine = make_engine(with_database(args.database_url, name), immediate=False)
        seed(engine, members=400, seed_value=11)
        engine.dispose()
        args.database_url, args.samples, args.history = with_database(args.database_url, name), 1, 50
        args.at_once, args.at_once_unindexed = "2", "2"
        run(args)
    finally:
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            for db in (name, name + "_state"):
                conn.execute(text(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))
        admin.dispose()


def run(args: argparse.Namespace) -> None:
    engine = make_engine(args.database_url, immediate=False)
    datamap = load_datamap(PROJECT_ROOT / "config" / "datamap.yaml")
    erasure = ErasureEngine(engine, datamap)
    state_url = with_database(args.database_url, make_url(args.database_url).database + "_state")
    _recreate(engine, state_url)
    _drop_indexes(engine)  # "without the indexes" means without: a run with --keep-indexes before left them
    _vacuum(engine)
    with engine.connect() as conn:
        total = sum(conn.execute(text(f"SELECT COUNT(*) FROM {t}")).scalar() for t in datamap.tables)
        members = conn.execute(text("SELECT COUNT(*) FROM members")).scalar()
    profiles = [("busiest seeded members", 0)] + ([(f"long-standing member, +{args.history} visits", args.history)]
                                                  if args.history else [])
    picks = pick_members(engine, 8 * args.samples * len(profiles))
    print(f"{members:,} members, {total:,} rows in mapped tables (PostgreSQL)")
    with tempfile.TemporaryDirectory() as folder:
        jobs, clock = Jobs(args.database_url, state_url, Path(folder)), DbClock(engine)
        rows_of = lambda key: sum(t.rows for t in erasure.plan(kind="member", key=key).tables)  # noqa: E731
        batches = {}
        for i, (label, history) in enumerate(profiles):
            batches[label] = picks[8 * args.samples * i: 8 * args.samples * (i + 1)]
            if history:
                add_history(engine, batches[label], history)
                _vacuum(engine, ("visits", "class_bookings", "pos_sales"))  # as autovacuum would, before measuring
        for indexed in (False, True):
            if indexed:
                t0 = time.perf_counter()
                made = ensure_indexes(engine, datamap, progress=lambda _: None)
                _vacuum(engine)
                print(f"with the optional indexes ({len(made)}, built in {time.perf_counter() - t0:.0f} s):")
            else:
                print("without any index of ours on the platform's database:")
            text_pass(engine)  # warm the caches: both phases start from the same state
            for label, batch in batches.items():
                half = batch[4 * args.samples:] if indexed else batch[:4 * args.samples]
                if not args.only_at_once:
                    report(label, profile_rounds(engine, datamap, erasure, jobs, clock, half, rows_of))
            sizes = [int(x) for x in (args.at_once if indexed else args.at_once_unindexed).split(",") if x]
            if sizes:  # warm up (connections, templates): not measured
                at_once(engine, jobs, spare(engine, picks, 1), args.threads, shared=True)
            for n in sizes:
                shared = at_once(engine, jobs, spare(engine, picks, n), args.threads, shared=True)
                alone = at_once(engine, jobs, spare(engine, picks, n), args.threads, shared=False)
                report_at_once(n, args.threads, shared, alone)
        jobs.services.close()
    if not args.keep_indexes:
        _drop_indexes(engine)
    engine.dispose()


def _vacuum(engine, tables: tuple[str, ...] = ()) -> None:
    """Steady state, as autovacuum keeps it (GIN pending lists merged, statistics current)."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for t in tables or ("",):
            conn.execute(text(f"VACUUM ANALYZE {t}"))


def _recreate(engine, url: str) -> None:
    name = make_url(url).database
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))  # a killed run's sessions
        conn.execute(text(f'CREATE DATABASE "{name}"'))


def _drop_indexes(engine) -> None:
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        names = conn.execute(text("SELECT indexname FROM pg_indexes WHERE indexname LIKE :p"),
                             {"p": INDEX_PREFIX.replace("_", "\\_") + "%"}).scalars().all()
        for name in names:
            conn.execute(text(f'DROP INDEX CONCURRENTLY "{name}"'))


if __name__ == "__main__":
    main()
