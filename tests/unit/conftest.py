"""Fixtures of the unit layer: a seeded database on each engine, as a SQLAlchemy engine."""
from __future__ import annotations

import pytest

from gdpr.db import make_engine


@pytest.fixture
def engine(db_url: str):  # noqa: ANN201
    """The seeded system database (SQLite and PostgreSQL, from `db_url`), disposed after the test."""
    e = make_engine(db_url, immediate=False)
    yield e
    e.dispose()
