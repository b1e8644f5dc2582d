"""Two deployments, one folder (issue 23, defect 7): a second bot with another state database pointed at
the first one's EXPORT_DIR refuses to start, naming the variable, and the first one's archive is still
there; the scheduler process refuses the same way; `backup` will not prune another deployment's folder;
a restore keeps the deployment (its folders stay its own)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from gdpr.core import models as m
from gdpr.core.errors import ConfigError
from tests.conftest import ROOT, SECRET, credentials, make_system
from tests.helpers import file_and_approve, unique_member


def test_a_second_deployment_is_refused_the_first_ones_export_folder(sqlite_url: str, pg_url: str, redis_url: str,
                                                                       standin, tmp_path: Path) -> None:
    first = make_system("embedded", sqlite_url, standin, tmp_path, None)
    try:
        member = unique_member(first.services.system.engine)
        done = first.wait_status(file_and_approve(first, "access", member["member_number"]))
        assert done.status == m.DONE
        archive = first.services.settings.export_dir / done.export_name
        assert archive.exists()
        with pytest.raises(ConfigError, match="EXPORT_DIR .* belongs to another deployment"):
            make_system("postgres+redis", pg_url, standin, tmp_path, redis_url)  # the same tmp_path/exports
        env = {**os.environ, "DATABASE_URL": pg_url, "REDIS_URL": redis_url, **credentials(),
               "EXPORT_DIR": str(first.services.settings.export_dir), "SLACK_API_URL": standin.api_url}
        refused = subprocess.run([sys.executable, "-m", "bootstrap.cli", "scheduler"], cwd=ROOT, env=env,
                                 capture_output=True, text=True, timeout=120)
        assert refused.returncode == 2 and "EXPORT_DIR" in refused.stderr and len(refused.stderr.splitlines()) == 1
        assert archive.exists()  # nothing of the first one's was swept as a leftover
        assert first.services.exports.sweep() == 0 and archive.exists()
    finally:
        first.stop()


def test_backup_refuses_another_deployments_folder_and_a_restore_keeps_the_deployment(
        pg_url: str, pg_empty_url: str, sqlite_url: str, tmp_path: Path) -> None:
    backups = tmp_path / "backups"
    run = lambda url, *args: subprocess.run(  # noqa: E731
        [sys.executable, "-m", "bootstrap.cli", *args], cwd=ROOT, capture_output=True, text=True, timeout=180,
        env={**os.environ, "DATABASE_URL": url, "SECRET_KEY": SECRET, "BACKUP_DIR": str(backups)})
    assert run(pg_url, "db", "upgrade").returncode == 0
    made = run(pg_url, "backup")
    assert made.returncode == 0, made.stderr
    assert run(sqlite_url, "db", "upgrade").returncode == 0
    other = run(sqlite_url, "backup", "--keep", "0")  # would prune the first one's backups as its own
    assert other.returncode == 2 and "BACKUP_DIR" in other.stderr and len(list(backups.glob("gdpr-state-*.bak"))) == 1
    assert run(pg_empty_url, "db", "upgrade").returncode == 0
    restored = run(pg_empty_url, "restore", str(next(p for p in backups.iterdir() if not p.name.startswith("."))))
    assert restored.returncode == 0, restored.stdout + restored.stderr
    again = run(pg_empty_url, "backup")  # the restored database is the same deployment: its folder
    assert again.returncode == 0, again.stderr
