"""The residue proof's indexes are on by default on PostgreSQL: the scheduler's pass builds them in the
background, leaves them alone while they match, and replaces one whose table changed."""
from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from gdpr.erasure.residue import INDEX_PREFIX, stale_indexes
from tests.unit.conftest import _app


def _ours(engine) -> set[str]:
    with engine.connect() as conn:
        return set(conn.execute(text("SELECT indexname FROM pg_indexes WHERE starts_with(indexname, :p)"),
                                {"p": INDEX_PREFIX}).scalars())


def test_the_scheduler_builds_the_indexes_in_the_background_and_keeps_them_current(pg_url: str, tmp_path: Path) -> None:
    app = next(_app(pg_url, tmp_path))
    services, keeper = app.services, app.services.residue_indexes
    engine = services.system.engine
    assert _ours(engine) == set() and stale_indexes(engine, services.datamap)
    services.housekeeping.run_pass(owner="scheduler-1")  # the first pass after the migrations
    assert keeper.wait(120)
    built = _ours(engine)
    assert not stale_indexes(engine, services.datamap)
    assert any(n.startswith(INDEX_PREFIX + "members_text_") for n in built) and len(built) >= 20
    assert keeper.keep() is False  # nothing to do while they match
    with engine.begin() as conn:  # the platform's schema changes: a column the proof must now read
        conn.execute(text("ALTER TABLE staff_notes ADD COLUMN summary TEXT"))
    assert stale_indexes(engine, services.datamap)
    services.housekeeping.run_pass(owner="scheduler-1")
    assert keeper.wait(120) and not stale_indexes(engine, services.datamap)
    after = _ours(engine)
    replaced = built - after  # the table's text changed: its index, and only its
    assert {n.rsplit("_", 1)[0] for n in replaced} == {INDEX_PREFIX + "staff_notes_text"}
    assert len(after) == len(built)
    services.close()
