"""Engines and the unit of work."""
from __future__ import annotations

import functools
import os
import re
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar, cast

from sqlalchemy import Connection, CursorResult, Engine, Result, create_engine, event, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.types import TypeEngine

T = TypeVar("T")


def make_engine(url: str, *, immediate: bool = True) -> Engine:
    """An engine; SQLite gets WAL, a busy timeout and (for the state DB) write-locking transactions."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        if parsed.drivername == "postgresql":
            url = str(parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False))
        # application_name shows who holds a connection in pg_stat_activity (operators, and fault tests).
        return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10, hide_parameters=True,
                             connect_args={"application_name": f"gdpr-bot[{os.getpid()}]"})
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, hide_parameters=True)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: sqlite3.Connection, _record: object) -> None:
        dbapi_conn.isolation_level = None  # we emit BEGIN ourselves
        dbapi_conn.create_function("gdpr_regexp", 2, _regexp, deterministic=True)  # the residue check
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # IMMEDIATE takes the write lock up front, so two writers queue instead of deadlocking.
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


@functools.lru_cache(maxsize=64)
def _compiled(pattern: str) -> re.Pattern:
    return re.compile(pattern)


def _regexp(pattern: str, text: str | None) -> int:
    """SQLite has no regular expressions of its own: `gdpr_regexp(pattern, text)`, 1 when it matches."""
    return int(text is not None and _compiled(pattern).search(text) is not None)


class Database:
    """One database: an engine and a session factory whose unit of work commits or rolls back."""

    def __init__(self, url: str, *, immediate: bool = True) -> None:
        self.url = url
        self.engine = make_engine(url, immediate=immediate)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def session(self) -> Iterator[Session]:
        session = self._sessions()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def load(self, model: type[T], item_id: int, missing: Exception) -> T:
        """One row by id, read in its own unit of work (its attributes stay readable); `missing` if none."""
        with self.session() as s:
            item = s.get(model, item_id)
            if item is None:
                raise missing
            s.expunge(item)
            return item

    def dispose(self) -> None:
        self.engine.dispose()


def changed(result: Result) -> int:
    """Rows an UPDATE or DELETE run through a Session touched (a Session types its result loosely)."""
    return cast(CursorResult, result).rowcount


def unavailable(exc: BaseException) -> bool:
    """Whether `exc` says the database cannot be reached (down, refusing, the pool exhausted): an adapter
    answers it as 'try again shortly' (503), not as its own error."""
    from sqlalchemy.exc import InterfaceError, OperationalError
    from sqlalchemy.exc import TimeoutError as PoolTimeout
    return isinstance(exc, (OperationalError, InterfaceError, PoolTimeout, ConnectionError))


def live_columns(engine: Engine) -> dict[str, dict[str, TypeEngine]]:
    """Every table of the database's default schema and its columns' types: on PostgreSQL one catalog query
    for all tables (every process checks the schema at start; a query per table was most of its start)."""
    found = inspect(engine).get_multi_columns()
    return {table: {c["name"]: c["type"] for c in cols} for (_, table), cols in found.items()}
