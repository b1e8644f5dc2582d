"""k-anonymity of erased members, measured: seed a gym, erase a random sample one at a time, and report the
k each anonymised row reaches (the product's count and the tests' independent one), how far rows were
coarsened, and what the k check costs per erasure against the same erasures without it (baseline, same run).

    python -m benchmarks.anonymity                       # 3,000 members, 150 erased, SQLite
    python -m benchmarks.anonymity --url postgresql+psycopg://postgres@127.0.0.1:5432/bench
    python -m benchmarks.anonymity --smoke               # small sizes (the test suite runs this)
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import random
import statistics
import tempfile
import time
from collections import Counter
from pathlib import Path

from sqlalchemy import text

from gdpr.core.datamap import load_datamap
from gdpr.core.db import make_engine
from gdpr.erasure.engine import ErasureEngine
from gym.seed import seed
from tests.kanon import k_per_erased_member

ROOT = Path(__file__).resolve().parents[1]


def _fresh(url: str | None, folder: Path, name: str, members: int):
    if url is None:
        engine = make_engine(f"sqlite:///{folder / name}.sqlite3", immediate=False)
    else:
        from sqlalchemy import create_engine
        base = create_engine(url, isolation_level="AUTOCOMMIT")
        with base.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            conn.execute(text(f"CREATE DATABASE {name}"))
        base.dispose()
        engine = make_engine(url.rsplit("/", 1)[0] + "/" + name, immediate=False)
    seed(engine, members=members, seed_value=23)
    return engine


def _erase(engine, datamap, chosen: list[int]) -> list[float]:
    eraser = ErasureEngine(engine, datamap)
    times = []
    for member_id in chosen:
        start = time.perf_counter()
        eraser.erase(kind="member", key=str(member_id))
        times.append(time.perf_counter() - start)
    return times


def _levels(engine) -> Counter:
    """How erased rows ended: which quasi columns they still hold, and at what grain."""
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT birth_date, postcode, joined_on, ended_on FROM members "
                                 "WHERE status = 'erased'")).all()
    out: Counter = Counter()
    for birth, postcode, joined, _ended in rows:
        out["postcode kept" if postcode else "postcode gone"] += 1
        out["birth: decade or year" if birth else "birth gone"] += 1
        out["joined: month" if str(joined)[5:7] != "01" else "joined: year or decade"] += 1
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", type=int, default=3000)
    parser.add_argument("--erase", type=int, default=150)
    parser.add_argument("--url", default=None, help="a PostgreSQL server URL (a database is created on it)")
    parser.add_argument("--smoke", action="store_true", help="small sizes, for the test suite")
    args = parser.parse_args()
    if args.smoke:
        args.members, args.erase = 300, 15
    datamap = load_datamap(ROOT / "config" / "datamap.yaml")
    plain = dataclasses.replace(datamap, tables={n: dataclasses.replace(t, anonymity=None)
                                                 for n, t in datamap.tables.items()})
    load = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        measured = _fresh(args.url, Path(tmp), "bench_k", args.members)
        baseline = _fresh(args.url, Path(tmp), "bench_plain", args.members)
        with measured.connect() as conn:
            ids = conn.execute(text("SELECT id FROM members ORDER BY id")).scalars().all()
        chosen = random.Random(5).sample(list(ids), args.erase)
        with_k = _erase(measured, datamap, chosen)
        without = _erase(baseline, plain, chosen)
        ks = k_per_erased_member(measured)
        base_ks = k_per_erased_member(baseline)
        levels = _levels(measured)
        measured.dispose()
        baseline.dispose()
    backend = "PostgreSQL" if args.url else "SQLite"
    print(f"k-anonymity of erased members: {args.erase} of {args.members:,} erased, {backend}, "
          f"load {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} (2 cores)")
    print(f"  with the k check:    min k {min(ks.values())}, median {statistics.median(ks.values()):.0f}, "
          f"below 10: {sum(k < 10 for k in ks.values())} of {len(ks)}")
    print(f"  without (baseline):  min k {min(base_ks.values())}, median {statistics.median(base_ks.values()):.0f}, "
          f"unique (k = 1): {sum(k == 1 for k in base_ks.values())} of {len(base_ks)}")
    print(f"  where rows ended:    {dict(sorted(levels.items()))}")
    median_k, median_plain = statistics.median(with_k) * 1000, statistics.median(without) * 1000
    print(f"  erasure, median:     {median_k:.1f} ms with the check, {median_plain:.1f} ms without "
          f"({median_k / median_plain:.2f}x)")


if __name__ == "__main__":
    main()
