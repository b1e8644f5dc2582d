"""The state database's upgrade: a database already at head is recognised without Alembic, and only then."""
from __future__ import annotations

from pathlib import Path

from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import text

from gdpr.core.db import Database
from gdpr.core.migrate import at_head, head_revision, upgrade_database
from tests.conftest import ROOT


def test_the_head_read_from_the_file_names_is_alembics_one_head() -> None:
    config = Config()
    config.set_main_option("script_location", str(ROOT / "gdpr" / "migrations"))
    script = ScriptDirectory.from_config(config)
    assert script.get_heads() == [head_revision()]  # one line of history, named by the files' prefixes
    revisions = {r.revision for r in script.walk_revisions()}
    assert revisions == {p.name[:4] for p in (ROOT / "gdpr" / "migrations" / "versions").glob("0*.py")}


def test_only_a_database_at_head_skips_the_upgrade(state_url: str, tmp_path: Path) -> None:
    db = Database(state_url)
    try:
        assert not at_head(db)  # empty: no version table yet
        upgrade_database(db, revision="0019")
        assert not at_head(db)  # behind: the upgrade runs
        upgrade_database(db)
        assert at_head(db)
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one() == head_revision()
            assert conn.execute(text("SELECT COUNT(*) FROM subject_requests")).scalar_one() == 0
        upgrade_database(db)  # at head: nothing to do, nothing raised
        assert at_head(db)
    finally:
        db.dispose()
