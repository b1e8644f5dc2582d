"""`gdpr-bot db upgrade`: Alembic migrations of the state DB, run programmatically.

Every process may start at once on a fresh database (honcho, compose, an orchestrator): on PostgreSQL
the upgrade runs under a transaction-level advisory lock, so one process migrates while the others
wait for it and then find the schema at head. (Without it two processes both created the first
tables, and one of them crashed.)
"""
from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import text

from gdpr.core.db import Database

LOCK_KEY = 0x6764_7072_6D69_67  # "gdprmig": one lock for every process of every replica


def upgrade_database(db: Database, revision: str = "head") -> None:
    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).parents[1] / "migrations"))
    with db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})  # released at COMMIT
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
