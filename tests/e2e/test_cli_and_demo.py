"""The command line of the interface contract, as an operator runs it."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import create_engine, inspect, text

from tests.conftest import ROOT

CLI = [sys.executable, "-m", "bootstrap.cli"]


def _run(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "REDIS_URL", "SECRET_KEY"))}
    return subprocess.run(CLI + args, cwd=cwd, env={**base, **env}, capture_output=True, text=True, timeout=300)


def test_demo_plays_the_story_and_leaves_an_openable_zip(tmp_path: Path) -> None:
    result = _run(["demo"], tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    for line in ("Only the DPO may approve", "DM to Sam (support)", "uploaded a file", "Opened with the passphrase"):
        assert line in out
    zips = list((tmp_path / "var" / "demo" / "slack-files").glob("*.zip"))
    assert len(zips) == 1 and str(zips[0].resolve()) in out


def test_seed_db_upgrade_and_datamap_check_on_the_embedded_default(tmp_path: Path) -> None:
    assert _run(["db", "upgrade"], tmp_path).returncode == 0
    seeded = _run(["seed", "--members", "120", "--seed", "3", "--rejected-leads", "500"], tmp_path)
    assert seeded.returncode == 0 and "120 members" in seeded.stdout and "added 500 rejected" in seeded.stdout
    engine = create_engine(f"sqlite:///{tmp_path / 'var' / 'gdpr-bot.sqlite3'}")
    assert {"subject_requests", "audit_events", "members", "visits", "bulk_runs"} <= set(inspect(engine).get_table_names())
    with engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM members")).scalar() == 120
        assert conn.execute(text("SELECT COUNT(*) FROM crm_leads WHERE status = 'rejection'")).scalar() >= 500
    assert _run(["datamap", "check"], tmp_path, CONFIG_DIR=str(ROOT / "config")).returncode == 0
    verify = _run(["audit", "verify"], tmp_path)
    assert verify.returncode == 0 and "0 events, chain intact" in verify.stdout
    assert (tmp_path / "var" / "secret.key").stat().st_mode & 0o077 == 0  # embedded key is private


def test_worker_refuses_without_redis(tmp_path: Path) -> None:
    result = _run(["worker"], tmp_path)
    assert result.returncode == 2 and "REDIS_URL" in result.stderr


def test_console_lets_a_person_file_and_approve(tmp_path: Path) -> None:
    script = "/gdpr access M0000005\nbuttons\nclick 1\nas U0DPO1\nclick 1\nquit\n"
    result = subprocess.run(CLI + ["console"], cwd=tmp_path, input=script, capture_output=True, text=True,
                            timeout=120, env={k: v for k, v in os.environ.items() if k != "DATABASE_URL"})
    assert result.returncode == 0, result.stderr
    assert "four-eyes" in result.stdout  # Sam clicked Approve on his own request
    assert "uploaded a file" in result.stdout and "done" in result.stdout


def test_console_fills_a_breach_report_and_names_what_each_button_is_on(tmp_path: Path) -> None:
    """Issue 23, defect 9: `/gdpr breach` was a dead end in the console (a form it could not fill), `click 99`
    crashed it, and every button read "on R-…" whatever it belonged to."""
    script = ("as U0DPO1\n/gdpr breach\nform\nset what A laptop was stolen\nset aware -30h\nset detected -31h\n"
              "set kinds confidentiality\nset data contact\nset subjects members\nset people 40\nset records 40\n"
              "set clubs 1\nset consequences Phishing\nset measures Wipe\nsubmit\nset measures Remote wipe\nsubmit\nbuttons\nclick 99\nclick x\nquit\n")
    result = subprocess.run(CLI + ["console"], cwd=tmp_path, input=script, capture_output=True, text=True,
                            timeout=120, env={k: v for k, v in os.environ.items() if k != "DATABASE_URL"})
    assert result.returncode == 0, result.stderr[-2000:]
    out = result.stdout
    assert "kinds: Kind of breach [checkboxes]" in out and "Personal data breach B-1 (open)" in out
    assert "[Notify clubs] on B-1" in out and "on R-" not in out
    assert "not accepted: measures: Required: at least 5 characters." in out  # a refused field, said plainly
    assert "There is no button 99" in out and "There is no button x" in out and "Traceback" not in result.stderr
