"""`gdpr-bot backup` -> wipe -> `gdpr-bot restore` on both backends: every state row comes back, the audit
chain verifies; a changed byte, another key, a database that is not empty are refused; old backups pruned."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import func, select, text

from gdpr.core import models as m
from gdpr.core.db import make_engine
from tests.conftest import ROOT, SECRET
from tests.helpers import SUPPORT, file_and_approve, unique_member, wait_ephemeral


def _cli(*args: str, db: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bootstrap.cli", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, env={**os.environ, "DATABASE_URL": db, "SECRET_KEY": SECRET, **env})


def _counts(url: str) -> dict[str, int]:
    engine = make_engine(url, immediate=False)
    with engine.connect() as conn:
        found = {t.name: conn.execute(select(func.count()).select_from(t)).scalar_one()
                 for t in m.Base.metadata.sorted_tables}
    engine.dispose()
    return found


def _wipe(url: str) -> None:
    engine = make_engine(url, immediate=False)
    m.Base.metadata.drop_all(engine)
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE alembic_version"))
    engine.dispose()


def test_backup_wipe_restore_round_trip_and_the_chain_verifies(system, gym, tmp_path: Path) -> None:
    member = unique_member(gym)
    system.slack.command(SUPPORT, f"find {member['member_number']}")
    wait_ephemeral(system.standin, SUPPORT, 1)
    system.wait_status(file_and_approve(system, "access", member["member_number"]))
    url = system.settings.database_url
    before = _counts(url)
    assert before["audit_events"] >= 4 and before["subject_requests"] == 1

    made = _cli("backup", "--to", str(tmp_path / "backups"), db=url)
    assert made.returncode == 0, made.stderr[-2000:]
    backup = next((tmp_path / "backups").glob("gdpr-state-*.bak"))
    raw = backup.read_bytes()
    assert member["email"].encode() not in raw and b"audit_events" not in raw  # encrypted, names included
    assert oct(backup.stat().st_mode & 0o777) == "0o600"

    _wipe(url)
    restored = _cli("restore", str(backup), db=url)
    assert restored.returncode == 0, restored.stderr[-2000:]
    assert "audit chain" in restored.stdout and "intact" in restored.stdout
    assert _counts(url) == before
    verify = _cli("audit", "verify", db=url)
    assert verify.returncode == 0 and "chain intact" in verify.stdout

    again = _cli("restore", str(backup), db=url)  # into a database that is not empty
    assert again.returncode == 2 and "not empty" in again.stderr

    tampered = tmp_path / "tampered.bak"
    tampered.write_bytes(raw[:-40] + bytes([raw[-40] ^ 1]) + raw[-39:])
    _wipe(url)
    refused = _cli("restore", str(tampered), db=url)
    assert refused.returncode == 2 and "changed since it was written" in refused.stderr
    other_key = _cli("restore", str(backup), db=url, BACKUP_KEY="ab" * 32)
    assert other_key.returncode == 2 and "does not open with this key" in other_key.stderr
    assert _counts(url)["audit_events"] == 0  # nothing half-restored


def test_only_the_newest_backups_are_kept(sqlite_url: str, tmp_path: Path) -> None:
    assert _cli("db", "upgrade", db=sqlite_url).returncode == 0
    folder = tmp_path / "backups"
    for stamp in ("20260101T000000Z", "20260102T000000Z", "20260103T000000Z"):
        (folder / f"gdpr-state-{stamp}.bak").parent.mkdir(exist_ok=True)
        (folder / f"gdpr-state-{stamp}.bak").write_bytes(b"old")
    made = _cli("backup", "--to", str(folder), "--keep", "2", db=sqlite_url)
    assert made.returncode == 0, made.stderr
    kept = sorted(p.name for p in folder.glob("gdpr-state-*.bak"))
    assert kept[0] == "gdpr-state-20260103T000000Z.bak"
    assert len(kept) == 2 and "2 older one(s) removed" in made.stdout
    assert {p.name for p in folder.iterdir()} - set(kept) == {".gdpr-bot-deployment"}  # the folder is this deployment's


def test_backups_go_to_an_s3_bucket_pruned_there_and_restore_from_it(pg_url: str, pg_empty_url: str, s3: str) -> None:
    """The separate server is a bucket: three backups with --keep 2 leave the newest two; one restores."""
    import boto3

    from tests.conftest import S3_BUCKET
    assert _cli("db", "upgrade", db=pg_url).returncode == 0
    target, env = f"s3://{S3_BUCKET}/backups", {"S3_ENDPOINT_URL": s3}
    client = boto3.client("s3", endpoint_url=s3)
    for i in range(3):
        client.put_object(Bucket=S3_BUCKET, Key=f"backups/gdpr-state-2026010{i + 1}T000000Z.bak", Body=b"old")
    made = _cli("backup", "--to", target, "--keep", "2", db=pg_url, **env)
    assert made.returncode == 0, made.stderr[-2000:]
    keys = sorted(o["Key"] for o in client.list_objects_v2(Bucket=S3_BUCKET, Prefix="backups/")["Contents"])
    assert len(keys) == 2 and keys[0] == "backups/gdpr-state-20260103T000000Z.bak" and "3 older" not in made.stdout
    restored = _cli("restore", f"s3://{S3_BUCKET}/{keys[1]}", db=pg_empty_url, **env)
    assert restored.returncode == 0 and "intact" in restored.stdout, restored.stderr[-2000:]
    assert _counts(pg_empty_url) == _counts(pg_url)
