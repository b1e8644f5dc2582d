"""Every benchmark runs in its smoke mode (small sizes), so none can rot; each prints the machine's load
beside its figures (the numbers themselves are README's, measured at full size)."""
from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from tests.conftest import PG_ADMIN, ROOT

pytestmark = pytest.mark.slow  # each benchmark in its smoke mode: a process each, seconds to half a minute

LOAD = re.compile(r"load \d+\.\d\d \d+\.\d\d \d+\.\d\d")


def _smoke(module: str, *extra: str, env: dict[str, str] | None = None) -> str:
    out = subprocess.run([sys.executable, "-m", f"benchmarks.{module}", "--smoke", *extra], cwd=ROOT,
                         capture_output=True, text=True, timeout=600,
                         env={k: v for k, v in {**os.environ, **(env or {})}.items()
                              if k not in ("DATABASE_URL", "REDIS_URL")})
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-3000:]
    assert LOAD.search(out.stdout), out.stdout  # the machine's load beside the figures
    return out.stdout


def test_the_anonymity_benchmark_runs_and_every_row_reaches_min_k() -> None:
    out = _smoke("anonymity")
    assert "below 10: 0 of 15" in out, out


@pytest.mark.parametrize("module, expect", [
    ("export_speed", r"2000 gdpr-bot streaming"),
    ("home_speed", r"App Home \(use case \+ Block Kit\):\s+median"),
    ("ack_latency", r"sustained: p99 gdpr-bot / bare = \d+\.\d\dx at \d+% of its throughput; CPU per request \d+\.\dx"),  # the warm-up is never taken for replays
    ("api_latency", r"gdpr-bot POST /v1/requests\s+p50"),
    ("purge_speed", r"bulk purge: [\d,]+ leads .* residue 0"),
])
def test_each_benchmark_runs_in_its_smoke_mode(module: str, expect: str) -> None:
    assert re.search(expect, _smoke(module))


def test_the_erasure_benchmark_runs_on_a_password_url_and_reports_residue_rather_than_aborting() -> None:
    url = PG_ADMIN.replace("postgres@", "postgres:any-password@", 1)  # trust auth: the password must survive
    out = _smoke("erasure_speed", "--database-url", url)
    assert out.count("whole job, Approve -> done") == 4, out  # two profiles, without and with the indexes
    assert out.count("2 at once, shared proofs") == out.count("2 at once, one proof each") == 2, out
    assert out.count("proven afterwards: all in one pass") == 2, out
    parts = re.findall(r"identifiers, plan, ledger, audit +([\d.]+) ms", out)
    assert len(parts) == 4 and all(float(p) > 0 for p in parts), out  # each job's parts were timed
    assert len(re.findall(r"of which k-anonymity +[1-9][\d.]* ms", out)) == 4, out


def test_a_benchmark_database_url_keeps_its_password() -> None:
    from benchmarks import with_database
    assert with_database("postgresql+psycopg://bench:s3cret@db:5432/gym", "gym_state") == \
        "postgresql+psycopg://bench:s3cret@db:5432/gym_state"  # str() of a URL gives ***, which the server refuses
