"""Erasing one member on PostgreSQL at scale: the set-based engine against a row-by-row baseline
(select the rows, then one UPDATE or DELETE per row by primary key, as Fides' SQL connector
masks), measured side by side in the same run on members with the same profile; the residue check
of one subject at that size; and the whole job's database work (identifiers, plan, the erasure, the
proof) beside one sequential pass over every text column of the database, measured in the same run:
the floor any proof that reads the data must pay.

    gdpr-bot seed --members 200000      # with DATABASE_URL pointing at the benchmark database
    python -m benchmarks.erasure_speed --database-url postgresql://postgres@127.0.0.1/gdpr_bench200k
"""
from __future__ import annotations

import argparse
import statistics
import time

from sqlalchemy import column, delete, event, select, table, text, update

from gdpr.datamap import load_datamap
from gdpr.db import make_engine
from gdpr.erasure import ErasureEngine
from gdpr.residue import residue_check
from gdpr.settings import PROJECT_ROOT


def row_by_row(engine, erasure: ErasureEngine, datamap, key: str) -> int:  # noqa: ANN001
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

    def __init__(self, engine) -> None:  # noqa: ANN001
        self.total = 0.0
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, conn, *args) -> None:  # noqa: ANN001
        conn.info["t0"] = time.perf_counter()

    def _after(self, conn, *args) -> None:  # noqa: ANN001
        self.total += time.perf_counter() - conn.info.pop("t0")

    def measure(self, fn) -> tuple[float, float]:  # noqa: ANN001
        """(wall seconds, database seconds) of fn()."""
        self.total, t0 = 0.0, time.perf_counter()
        fn()
        return time.perf_counter() - t0, self.total


def text_pass(engine) -> float:  # noqa: ANN001
    """One sequential read of every text column of every table (a LIKE nothing matches), in seconds."""
    from sqlalchemy import JSON, String, Text, inspect
    insp, t0 = inspect(engine), time.perf_counter()
    with engine.connect() as conn:
        for tname in insp.get_table_names():
            cols = [c["name"] for c in insp.get_columns(tname) if isinstance(c["type"], (String, Text, JSON))]
            if cols:
                joined = " || ' ' || ".join(f"coalesce(lower(\"{c}\"::text), '')" for c in cols)
                conn.execute(text(f'SELECT COUNT(*) FROM "{tname}" WHERE {joined} LIKE :x'), {"x": "%\x01none\x01%"})
    return time.perf_counter() - t0


def add_history(engine, member_ids: list[str], visits: int) -> None:  # noqa: ANN001
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


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--database-url", required=True)
    p.add_argument("--samples", type=int, default=5)
    p.add_argument("--history", type=int, default=0, help="give each picked member this many extra visits")
    args = p.parse_args()
    engine = make_engine(args.database_url, immediate=False)
    datamap = load_datamap(PROJECT_ROOT / "config" / "datamap.yaml")
    erasure = ErasureEngine(engine, datamap)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))  # steady state, as autovacuum keeps it (GIN pending lists merged)
    with engine.connect() as conn:
        total = sum(conn.execute(text(f"SELECT COUNT(*) FROM {t}")).scalar() for t in datamap.tables)
        members = conn.execute(text("SELECT COUNT(*) FROM members")).scalar()
        # members with the most related rows, paired so both methods get the same profile
        picks = [str(r[0]) for r in conn.execute(text(
            "SELECT m.id FROM members m WHERE m.first_name <> 'Anonymised' "
            "AND (SELECT COUNT(*) FROM visits v WHERE v.member_id = m.id) < 100 ORDER BY "
            "(SELECT COUNT(*) FROM visits v WHERE v.member_id = m.id) DESC, m.id LIMIT :n"), {"n": 2 * args.samples})]
    if args.history:
        add_history(engine, picks, args.history)
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            for t in ("visits", "class_bookings", "pos_sales"):  # as autovacuum would, before measuring
                conn.execute(text(f"VACUUM ANALYZE {t}"))
    print(f"{members} members, {total:,} rows in mapped tables (PostgreSQL); "
          f"profile: {'long-standing member, +' + str(args.history) + ' visits' if args.history else 'busiest seeded members'}")
    clock = DbClock(engine)
    fast, slow, fast_db, slow_db, residue, rows, jobs, passes = [], [], [], [], [], [], [], []
    for i in range(args.samples):
        a, b = picks[2 * i], picks[2 * i + 1]
        passes.append(text_pass(engine))  # the floor, measured next to each job
        job = time.perf_counter()
        ids = erasure.identifiers(kind="member", key=a)
        erasure.plan(kind="member", key=a)
        report = []
        wall, db = clock.measure(lambda: report.append(erasure.erase(kind="member", key=a)))
        fast.append(wall)
        fast_db.append(db)
        rows.append(report[0].rows)
        t0 = time.perf_counter()
        found = residue_check(engine, datamap, erasure, kind="member", key=a, identifiers=ids)
        residue.append(time.perf_counter() - t0)
        jobs.append(time.perf_counter() - job)
        assert not found.hits, found.hits
        wall, db = clock.measure(lambda: row_by_row(engine, erasure, datamap, b))
        slow.append(wall)
        slow_db.append(db)
    med = statistics.median
    ms = lambda values: f"median {med(values) * 1000:7.1f} ms   max {max(values) * 1000:7.1f} ms"  # noqa: E731
    print(f"rows erased per member (median): {med(rows):.0f}")
    print(f"set-based engine     database time: {ms(fast_db)}   wall: {ms(fast)}")
    print(f"row-by-row baseline  database time: {ms(slow_db)}   wall: {ms(slow)}")
    print(f"speed-up: database time {med(slow_db) / med(fast_db):.1f}x, wall {med(slow) / med(fast):.1f}x")
    print(f"residue check of one subject:        median {med(residue) * 1000:7.1f} ms   max {max(residue) * 1000:7.1f} ms")
    print(f"one sequential text pass:            median {med(passes) * 1000:7.1f} ms   max {max(passes) * 1000:7.1f} ms")
    print(f"whole job (identifiers, plan, erasure, proof): median {med(jobs) * 1000:7.1f} ms   "
          f"max {max(jobs) * 1000:7.1f} ms = {med(jobs) / med(passes):.2f}x one text pass")


if __name__ == "__main__":
    main()
