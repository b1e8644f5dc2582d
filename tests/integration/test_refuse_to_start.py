"""Every process checks all of its configuration at start and refuses to start on an error, naming it:
a worker that would fail every job, or a bot running on the sample policy, is worse than no process."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, SECRET

REDIS = "redis://127.0.0.1:6379/15"  # never reached: each process refuses before it connects
PROCESSES = [["serve", "--http", "--port", "0"], ["worker", "--processes", "1", "--threads", "1"], ["scheduler"]]


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bootstrap.cli", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=60, env={**os.environ, "SECRET_KEY": SECRET, **env})


@pytest.mark.parametrize("args", PROCESSES, ids=lambda a: a[0])
def test_a_config_dir_that_does_not_exist_is_refused_by_name(args: list[str], sqlite_url: str,
                                                             tmp_path: Path) -> None:
    missing = tmp_path / "no-such-config"
    done = _run(args, {"CONFIG_DIR": str(missing), "DATABASE_URL": sqlite_url, "REDIS_URL": REDIS})
    assert done.returncode == 2, done.stderr[-2000:]
    assert f"CONFIG_DIR {missing} is not a folder" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize("args", PROCESSES, ids=lambda a: a[0])
def test_a_typo_in_a_config_key_is_refused_with_file_line_and_key(args: list[str], sqlite_url: str,
                                                                  tmp_path: Path) -> None:
    config = tmp_path / "config"
    shutil.copytree(ROOT / "config", config)
    path = config / "retention.yaml"
    text = path.read_text()
    assert "  max_share: 0.20" in text
    path.write_text(text.replace("  max_share: 0.20", "  max_shares: 0.20", 1))  # a typo that could widen a policy
    line = next(i for i, text in enumerate(path.read_text().splitlines(), 1) if "max_shares" in text)
    done = _run(args, {"CONFIG_DIR": str(config), "DATABASE_URL": sqlite_url, "REDIS_URL": REDIS})
    assert done.returncode == 2, done.stderr[-2000:]
    assert f"retention.yaml:{line}" in done.stderr and "max_shares" in done.stderr and "Traceback" not in done.stderr


def test_a_worker_started_directly_by_dramatiq_with_a_broken_config_does_not_come_up(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "dramatiq", "workers.main", "--processes", "1", "--threads", "1"],
                          cwd=ROOT, capture_output=True, text=True, timeout=60,
                          env={**os.environ, "CONFIG_DIR": str(tmp_path / "nowhere"), "REDIS_URL": REDIS,
                               "SECRET_KEY": SECRET})
    assert done.returncode != 0 and "is not a folder" in done.stderr


TYPOS = [  # (file, the line as shipped, the typo, the key the error names)
    ("retention.yaml", "    older_than: 30d", "    older_then: 30d", "older_then"),  # would drop the age filter
    ("roles.yaml", "users:", "user:", "user"),  # would give nobody a role
    ("breaches.yaml", "dedicated_channel: false", "dedicated_channel: nope", "dedicated_channel"),  # not a boolean
    ("datamap.yaml", "identifier: true}", "identifer: true}", "identifer"),
]


@pytest.mark.parametrize("file, shipped, typo, key", TYPOS, ids=[t[3] for t in TYPOS])
@pytest.mark.parametrize("args", PROCESSES + [["config", "check"]], ids=lambda a: a[0])
def test_each_typo_is_refused_at_start_in_one_line_naming_file_line_and_key(
        args: list[str], file: str, shipped: str, typo: str, key: str, sqlite_url: str, tmp_path: Path) -> None:
    config = tmp_path / "config"
    shutil.copytree(ROOT / "config", config)
    path = config / file
    assert shipped in path.read_text()
    path.write_text(path.read_text().replace(shipped, typo, 1))
    line = next(i for i, text in enumerate(path.read_text().splitlines(), 1) if typo.strip() in text)
    done = _run(args, {"CONFIG_DIR": str(config), "DATABASE_URL": sqlite_url, "REDIS_URL": REDIS})
    assert done.returncode == 2, done.stderr[-2000:]
    lines = [x for x in done.stderr.splitlines() if x.strip()]
    assert len(lines) == 1 and f"{file}:{line}:" in lines[0] and key in lines[0], done.stderr[-2000:]


def test_config_check_passes_on_the_shipped_config_against_the_live_schema(sqlite_url: str) -> None:
    done = _run(["config", "check"], {"DATABASE_URL": sqlite_url})
    assert done.returncode == 0, done.stderr[-2000:]
    assert "config OK" in done.stdout and "against the live schema" in done.stdout


def test_config_check_names_a_data_map_column_the_live_schema_lacks(sqlite_url: str, tmp_path: Path) -> None:
    config = tmp_path / "config"
    shutil.copytree(ROOT / "config", config)
    path = config / "datamap.yaml"
    path.write_text(path.read_text().replace("      bic: {category", "      bic_code: {category", 1))
    done = _run(["config", "check"], {"CONFIG_DIR": str(config), "DATABASE_URL": sqlite_url})
    assert done.returncode == 2 and "bank_accounts.bic_code' does not exist" in done.stderr, done.stderr[-2000:]


# -- secure by default (issue 22, findings 1, 2 and 7): unsafe secrets stop every long-running process --------
PG = "postgresql://root@127.0.0.1:5432/never_reached"  # each process refuses before it connects
LONG_RUNNING = PROCESSES + [["api", "--port", "0"]]


def _production(**env: str) -> dict[str, str]:
    from tests.conftest import BOT_TOKEN, SIGNING_SECRET
    base = {"DATABASE_URL": PG, "REDIS_URL": REDIS, "SLACK_SIGNING_SECRET": SIGNING_SECRET, "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SMTP_URL": "smtp://127.0.0.1:9", "SECRET_KEY": SECRET}
    return {k: v for k, v in {**base, **env}.items() if v is not None}


def _refused(args: list[str], env: dict[str, str], variable: str) -> None:
    clean = {k: v for k, v in os.environ.items()
             if not k.startswith(("SLACK_", "SMTP_URL", "DATABASE_URL", "REDIS_URL", "SECRET_KEY"))}
    done = subprocess.run([sys.executable, "-m", "bootstrap.cli", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=60, env={**clean, **env})
    lines = [x for x in done.stderr.splitlines() if x.strip()]
    assert done.returncode == 2 and len(lines) == 1 and variable in lines[0], done.stderr[-2000:]
    assert "Traceback" not in done.stderr


UNSAFE = [  # (what is wrong, the environment's change, the variable the one line names)
    ("no signing secret", {"SLACK_SIGNING_SECRET": None}, "SLACK_SIGNING_SECRET"),
    ("the stand-in's signing secret", {"SLACK_SIGNING_SECRET": "local-standin-signing-secret"}, "SLACK_SIGNING_SECRET"),
    ("no bot token", {"SLACK_BOT_TOKEN": None}, "SLACK_BOT_TOKEN"),
    ("the stand-in's bot token", {"SLACK_BOT_TOKEN": "xoxb-local-standin"}, "SLACK_BOT_TOKEN"),
    ("no secret key", {"SECRET_KEY": None}, "SECRET_KEY"),
    ("env.example's placeholder", {"SECRET_KEY": "change-me-64-hex-chars"}, "SECRET_KEY"),
    ("one character", {"SECRET_KEY": "x"}, "SECRET_KEY"),
    ("long but not random", {"SECRET_KEY": "k" * 64}, "SECRET_KEY"),
    ("a short word list", {"SECRET_KEY": "abcabcabcabcabcabcabcabcabcabcabcabc"}, "SECRET_KEY"),
]


@pytest.mark.parametrize("what, change, variable", UNSAFE, ids=[u[0] for u in UNSAFE])
@pytest.mark.parametrize("args", LONG_RUNNING, ids=lambda a: a[0])
def test_unsafe_secrets_stop_every_process_outside_the_demo_in_one_line_naming_the_variable(
        args: list[str], what: str, change: dict, variable: str) -> None:
    _refused(args, _production(**change), variable)


@pytest.mark.parametrize("args", LONG_RUNNING, ids=lambda a: a[0])
def test_a_weak_secret_key_is_refused_on_the_embedded_default_too(args: list[str], sqlite_url: str) -> None:
    _refused(args, {"DATABASE_URL": sqlite_url, "REDIS_URL": REDIS, "SECRET_KEY": "k" * 32}, "SECRET_KEY")


@pytest.mark.parametrize("args", [["worker", "--processes", "1", "--threads", "1"]], ids=["worker"])
def test_a_process_that_mails_passphrases_needs_smtp_outside_the_demo(args: list[str]) -> None:
    """Finding 7: without SMTP_URL a club's passphrase would be an .eml file on disk, in clear."""
    _refused(args, _production(SMTP_URL=None), "SMTP_URL")
    _refused(["serve", "--http", "--port", "0"], _production(SMTP_URL=None, REDIS_URL=None), "SMTP_URL")


# -- the command line and config check say what is wrong, once, where (issue 23, defect 9) ----------------------
def _one_line(done: subprocess.CompletedProcess) -> str:
    lines = [x for x in done.stderr.splitlines() if x.strip()]
    assert done.returncode == 2 and len(lines) == 1, done.stderr[-2000:]
    return lines[0]


def test_version_and_a_restore_of_a_missing_file() -> None:
    done = _run(["--version"], {})
    assert done.returncode == 0 and done.stdout.startswith("gdpr-bot ") and done.stdout.split()[1][0].isdigit()
    assert "does not exist" in _one_line(_run(["restore", "/nonexistent/gdpr-state-x.bak"], {}))


def test_config_check_right_after_init_says_the_system_database_is_empty(tmp_path: Path) -> None:
    assert _run(["init", str(tmp_path / "etc")], {}).returncode == 0
    empty = f"sqlite:///{tmp_path / 'empty.sqlite3'}"
    line = _one_line(_run(["config", "check"], {"CONFIG_DIR": str(tmp_path / "etc" / "config"),
                                                "TEMPLATES_DIR": str(tmp_path / "etc" / "templates"),
                                                "DATABASE_URL": empty}))
    assert "SYSTEM_DATABASE_URL" in line and "gdpr-bot seed" in line


def test_a_missing_table_is_one_problem_with_its_line(sqlite_url: str, tmp_path: Path) -> None:
    config = tmp_path / "config"
    shutil.copytree(ROOT / "config", config)
    path = config / "datamap.yaml"
    path.write_text(path.read_text().replace("  bank_accounts:", "  bank_accountz:", 1))  # five columns, one table
    line_no = next(i for i, text in enumerate(path.read_text().splitlines(), 1) if "bank_accountz:" in text)
    done = _run(["config", "check"], {"CONFIG_DIR": str(config), "DATABASE_URL": sqlite_url})
    line = _one_line(done)
    assert f"datamap.yaml:{line_no}: tables.bank_accountz: table 'bank_accountz' does not exist" in line


def test_yaml_yes_and_no_are_not_booleans(sqlite_url: str, tmp_path: Path) -> None:
    config = tmp_path / "config"
    shutil.copytree(ROOT / "config", config)
    path = config / "breaches.yaml"
    assert "dedicated_channel: false" in path.read_text()
    path.write_text(path.read_text().replace("dedicated_channel: false", "dedicated_channel: yes", 1))
    line = _one_line(_run(["config", "check"], {"CONFIG_DIR": str(config), "DATABASE_URL": sqlite_url}))
    assert "dedicated_channel" in line and "true or false" in line


def test_crm_purge_columns_are_checked_against_the_live_schema(sqlite_url: str, tmp_path: Path) -> None:
    config = tmp_path / "config"
    shutil.copytree(ROOT / "config", config)
    path = config / "retention.yaml"
    text = path.read_text()
    assert "age_column: status_changed_at" in text
    path.write_text(text.replace("age_column: status_changed_at", "age_column: status_changd_at", 1))
    line = _one_line(_run(["config", "check"], {"CONFIG_DIR": str(config), "DATABASE_URL": sqlite_url}))
    assert "retention.yaml:" in line and "crm_purge.age_column" in line and "status_changd_at" in line


def test_config_check_reads_templates_dir(sqlite_url: str, tmp_path: Path) -> None:
    templates = tmp_path / "templates"
    shutil.copytree(ROOT / "templates", templates)
    (templates / "ropa.html.j2").write_text((templates / "ropa.html.j2").read_text() + "\n{% if %}\n")
    line = _one_line(_run(["config", "check"], {"TEMPLATES_DIR": str(templates), "DATABASE_URL": sqlite_url}))
    assert "ropa.html.j2:" in line
