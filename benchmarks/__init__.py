"""Benchmarks: each measures against a baseline in the same run, prints the machine's load beside its
figures, and has a --smoke mode (small sizes) that the test suite runs, so none can rot."""
from __future__ import annotations

import os

from sqlalchemy import make_url


def machine() -> str:
    """The load beside every figure: 1-, 5- and 15-minute load averages and the cores they share."""
    one, five, fifteen = os.getloadavg()
    return f"load {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} cores"


def with_database(url: str, name: str) -> str:
    """`url` pointing at database `name`, its password kept (str() of a URL masks it as ***)."""
    return make_url(url).set(database=name).render_as_string(hide_password=False)
