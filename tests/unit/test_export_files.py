"""An export's copies go together, and the record says so only once both are gone."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy import text

from gdpr.core import models as m
from gdpr.core.audit import AuditLog
from gdpr.core.db import Database
from gdpr.core.keyring import KeyRing
from gdpr.core.migrate import upgrade_database
from gdpr.requests.export_files import ERASED, ExportFiles
from gdpr.requests.service import RequestService


def _answered(db: Database, export_dir: Path) -> int:
    export_dir.mkdir(parents=True, exist_ok=True)
    (export_dir / "export-R1-ab.zip").write_bytes(b"zip")
    with db.session() as s:
        s.execute(text("INSERT INTO subject_requests (id, kind, status, subject_type, subject_key, subject_ref, "
                       "requester_id, received_at, due_on, attempts, export_name, file_id, finished_at) VALUES "
                       "(1, 'access', 'done', 'member', '7', 'ref-7', 'U0SUPPORT1', '2026-11-01 10:00:00', "
                       "'2026-12-01', 1, 'export-R1-ab.zip', 'F0001', '2026-11-01 10:05:00')"))
        s.execute(text("INSERT INTO shown_messages (ref, role, channel, ts, attempts) VALUES "
                       "('R-1', 'request', 'C0SUPPORT', '1700000000.000100', 0)"))
    return 1


def test_a_withdrawal_that_fails_in_any_way_leaves_the_export_due(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'state.sqlite3'}")
    upgrade_database(db)
    requests = RequestService(db, AuditLog(b"k" * 32), KeyRing([b"k" * 32]))
    attempts: list[str] = []

    def withdraw(req: m.SubjectRequest, why: str) -> bool:
        attempts.append(why)
        if len(attempts) == 1:
            raise ConnectionError("slack.com unreachable")
        return True

    files = ExportFiles(requests, tmp_path / "exports", dt.timedelta(days=7), withdraw)
    request_id = _answered(db, tmp_path / "exports")
    assert files.mark_subject(subject_ref="ref-7") == [request_id]
    assert files.remove(request_id=request_id, reason=ERASED) is False  # the network failed: no exception
    req = requests.get(request_id)
    assert req.export_deleted_at is None and req.export_delete_reason == ERASED
    assert not (tmp_path / "exports" / "export-R1-ab.zip").exists()  # the server copy went already
    assert files.due() == [request_id] and files.expire() == 1  # the next pass finishes it
    assert requests.get(request_id).export_deleted_at is not None and attempts == [ERASED, ERASED]
    with db.session() as s:
        assert s.execute(text("SELECT COUNT(*) FROM audit_events WHERE action = 'export.deleted'")).scalar() == 1
    db.dispose()
