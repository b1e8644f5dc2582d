"""The audit log is hash-chained: edits, deletions and reordering are reported (SQLite and PostgreSQL)."""
from __future__ import annotations

import subprocess
import sys

import pytest
from sqlalchemy import text

from gdpr.core.audit import AuditLog, Event, verify_chain
from gdpr.core.db import Database
from gdpr.core.migrate import upgrade_database
from tests.conftest import ROOT, SECRET

KEY = SECRET.encode()


@pytest.fixture
def state(state_url: str) -> Database:
    db = Database(state_url)
    upgrade_database(db)
    log = AuditLog(KEY)
    for i in range(2):  # two appended alone, then three in one batch (an erasure's per-table events)
        with db.session() as s:
            log.record(s, actor="U1", action="request.received", request_id=i + 1, subject_ref=f"ref{i}", n=i)
    with db.session() as s:
        assert log.record_many(s, [Event("U1", "request.received", i + 1, f"ref{i}", {"n": i}) for i in range(2, 5)]) == 5
    yield db
    db.dispose()


def _verify(db: Database) -> list[str]:
    with db.session() as s:
        return verify_chain(s, [KEY]).problems


def test_intact_chain_verifies(state: Database) -> None:
    assert _verify(state) == []


@pytest.mark.parametrize("tamper, expected", [
    ("UPDATE audit_events SET actor = 'U2' WHERE seq = 3", "event 3: content does not match"),
    ("UPDATE audit_events SET details = replace(details, '1', '7') WHERE seq = 2", "event 2: content does not match"),
    ("DELETE FROM audit_events WHERE seq = 3", "event 4: expected sequence 3"),
    ("DELETE FROM audit_events WHERE seq = 5", "head records event 5"),
    ("UPDATE audit_events SET seq = CASE seq WHEN 2 THEN 4 WHEN 4 THEN 2 ELSE seq END WHERE seq IN (2, 4)",
     "previous-hash link broken"),
])
def test_tampering_is_reported(state: Database, tamper: str, expected: str) -> None:
    with state.engine.begin() as conn:
        if "CASE" in tamper:  # swap in two steps so the primary key never collides
            conn.execute(text("UPDATE audit_events SET seq = -seq WHERE seq IN (2, 4)"))
            conn.execute(text("UPDATE audit_events SET seq = CASE seq WHEN -2 THEN 4 ELSE 2 END WHERE seq < 0"))
        else:
            conn.execute(text(tamper))
    problems = _verify(state)
    assert any(expected in p for p in problems), problems


def test_a_forged_event_without_the_key_is_reported(state: Database) -> None:
    forger = AuditLog(b"another key")
    with state.session() as s:
        forger.record(s, actor="U9", action="request.approved")
    assert any("event 6: content does not match" in p for p in _verify(state))


def test_cli_audit_verify_exit_codes(state: Database) -> None:
    env = {"DATABASE_URL": state.url, "SECRET_KEY": SECRET, "PATH": "/usr/bin:/bin"}
    ok = subprocess.run([sys.executable, "-m", "bootstrap.cli", "audit", "verify"], env=env, cwd=ROOT,
                        capture_output=True, text=True)
    assert ok.returncode == 0 and "chain intact" in ok.stdout
    with state.engine.begin() as conn:
        conn.execute(text("UPDATE audit_events SET action = 'request.rejected' WHERE seq = 1"))
    bad = subprocess.run([sys.executable, "-m", "bootstrap.cli", "audit", "verify"], env=env, cwd=ROOT,
                         capture_output=True, text=True)
    assert bad.returncode == 1 and "event 1" in bad.stdout
