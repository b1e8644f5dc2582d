"""`gdpr-bot db upgrade`: Alembic migrations of the state DB, run programmatically."""
from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from gdpr.db import Database


def upgrade_database(db: Database, revision: str = "head") -> None:
    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    with db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
