"""`gdpr-bot db upgrade`: Alembic migrations of the state DB, run programmatically.

Every process may start at once on a fresh database (honcho, compose, an orchestrator): on PostgreSQL
the upgrade runs under a transaction-level advisory lock, so one process migrates while the others
wait for it and then find the schema at head. (Without it two processes both created the first
tables, and one of them crashed.)

A database already at head is seen without Alembic: every process starts with an upgrade, and loading
Alembic and the migration scripts to find nothing to do cost each start ~0.15 s of CPU. The history is a
line whose revisions are the files' four-digit prefixes (`0020_….py` is revision "0020"; a test holds to it).
"""
from __future__ import annotations

from pathlib import Path

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from gdpr.core.db import Database

LOCK_KEY = 0x6764_7072_6D69_67  # "gdprmig": one lock for every process of every replica
VERSIONS = Path(__file__).parents[1] / "migrations" / "versions"


def head_revision() -> str:
    """The newest migration's revision, from the file names."""
    return max(p.name[:4] for p in VERSIONS.glob("[0-9][0-9][0-9][0-9]_*.py"))


def at_head(db: Database) -> bool:
    """Whether the state DB is at the newest revision (False when it has no version table yet)."""
    try:
        with db.engine.connect() as conn:
            found = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    except DBAPIError:  # no version table: a fresh database
        return False
    return found == [head_revision()]


def upgrade_database(db: Database, revision: str = "head") -> None:
    if revision == "head" and at_head(db):
        return
    from alembic import command  # only when there is something to do (Alembic brings Mako and Pygments)
    from alembic.config import Config
    cfg = Config()
    cfg.set_main_option("script_location", str(VERSIONS.parent))
    with db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})  # released at COMMIT
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
