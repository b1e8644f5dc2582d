"""Every benchmark the suite knows runs in its smoke mode, so none can rot (the numbers are README's)."""
from __future__ import annotations

import subprocess
import sys

from tests.conftest import ROOT


def test_the_anonymity_benchmark_runs_and_every_row_reaches_min_k() -> None:
    out = subprocess.run([sys.executable, "-m", "benchmarks.anonymity", "--smoke"], cwd=ROOT, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "below 10: 0 of 15" in out.stdout and "load " in out.stdout, out.stdout
