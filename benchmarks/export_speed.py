"""Export of one member with many visits: time and peak memory, streaming exporter against a
baseline that loads each table whole (fetchall + one json.dumps), same data, same run.
Each measurement runs in a fresh process so peak RSS belongs to that variant alone.

    python -m benchmarks.export_speed [--rows 10000 100000 1000000]
    python -m benchmarks.export_speed --smoke                # 2,000 rows (the test suite runs this)
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import column, select, table

from benchmarks import machine
from gdpr.core.crypto import new_passphrase, write_aes_zip
from gdpr.core.datamap import load_datamap
from gdpr.core.db import make_engine
from gdpr.core.scope import subject_rows
from gdpr.core.settings import PROJECT_ROOT
from gdpr.core.templating import Templates
from gdpr.requests.export import Exporter
from gym import schema
from gym.seed import add_rows, seed

MEMBER = 1


def rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def prepare(db: Path, rows: int) -> None:
    engine = make_engine(f"sqlite:///{db}", immediate=False)
    seed(engine, members=50, seed_value=1)
    start = dt.datetime(2015, 1, 1)
    batch = 100_000
    for first in range(0, rows, batch):
        add_rows(engine, schema.visits, ((1_000_000 + i, MEMBER, 1, start + dt.timedelta(minutes=30 * i), None)
                                         for i in range(first, min(first + batch, rows))))
    engine.dispose()


def naive_export(engine, datamap, out: Path, passphrase: str) -> None:
    """The baseline: every table loaded whole, one json.dumps of everything."""
    data = {}
    with engine.connect() as conn:
        for spec in datamap.tables_for("member"):
            cols = spec.exported_columns()
            query = select(*[column(c) for c in cols]).select_from(table(spec.name)).where(
                subject_rows(datamap, spec, "member", str(MEMBER), engine.dialect.name))  # the rows the exporter reads
            data[spec.name] = [dict(zip(cols, [str(v) if v is not None else None for v in r], strict=True))
                               for r in conn.execute(query).fetchall()]
    (out / "data.json").write_text(json.dumps(data))
    write_aes_zip(out / "naive.zip", [("data.json", out / "data.json")], passphrase)


def run_variant(variant: str, db: Path) -> None:
    engine = make_engine(f"sqlite:///{db}", immediate=False)
    datamap = load_datamap(PROJECT_ROOT / "config" / "datamap.yaml")
    out = Path(tempfile.mkdtemp(prefix="bench-export-"))
    before = rss_mb()
    t0 = time.perf_counter()
    if variant == "streaming":
        Exporter(engine, datamap, Templates(PROJECT_ROOT / "templates"), out).build(
            request_id=1, kind="member", key=str(MEMBER), passphrase=new_passphrase())
    else:
        naive_export(engine, datamap, out, new_passphrase())
    elapsed = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": elapsed, "peak_growth_mb": peak - before}))


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--rows", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    p.add_argument("--variant")
    p.add_argument("--db")
    p.add_argument("--smoke", action="store_true", help="small sizes, for the test suite")
    args = p.parse_args()
    if args.variant:
        run_variant(args.variant, Path(args.db))
        return
    if args.smoke:
        args.rows = [2_000]
    print(f"{'visits':>9} {'variant':<28} {'seconds':>8} {'peak RSS growth MB':>19}  machine")
    for rows in args.rows:
        db = Path(tempfile.mkdtemp(prefix="bench-export-db-")) / "gym.sqlite3"
        prepare(db, rows)
        for variant, label in (("baseline", "baseline (fetchall + dumps)"), ("streaming", "gdpr-bot streaming")):
            out = subprocess.run([sys.executable, "-m", "benchmarks.export_speed", "--variant", variant,
                                  "--db", str(db)], capture_output=True, text=True, check=True).stdout
            r = json.loads(out.strip().splitlines()[-1])
            print(f"{rows:>9} {label:<28} {r['seconds']:>8.2f} {r['peak_growth_mb']:>19.1f}  {machine()}")


if __name__ == "__main__":
    main()
