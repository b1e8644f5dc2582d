"""A plain wheel, installed into a fresh virtual environment, runs from an empty folder: the packaged
config/ and templates/ are inside it, and `gdpr-bot init` hands the operator an editable copy."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

KEEP = ("PATH", "HOME", "LANG", "PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_FIND_LINKS", "PIP_CONFIG_FILE")


def _run(args: list[str], cwd: Path, env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.mark.slow
def test_a_wheel_in_a_fresh_venv_runs_the_demo_from_an_empty_folder(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k in KEEP}  # no DATABASE_URL, CONFIG_DIR, REDIS_URL, ...
    built = _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path / "dist"), str(ROOT)],
                 tmp_path, {**os.environ})
    assert built.returncode == 0, built.stderr[-2000:]
    wheel = next((tmp_path / "dist").glob("gdpr_ops_bot-*.whl"))
    venv = tmp_path / "venv"
    assert _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], tmp_path, env).returncode == 0
    # this pip installs into the new environment (`--python`): the wheel and what it requires, nothing else
    installed = _run([sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install", "-q",
                      "--no-compile", str(wheel)], tmp_path, env, timeout=600)
    assert installed.returncode == 0, installed.stderr[-2000:]

    empty = tmp_path / "empty"
    empty.mkdir()
    demo = _run([str(venv / "bin" / "gdpr-bot"), "demo"], empty, env)
    assert demo.returncode == 0, (demo.stdout + demo.stderr)[-3000:]
    assert "Opened with the passphrase from Sam's DM" in demo.stdout
    assert str(ROOT) not in demo.stdout + demo.stderr  # nothing read from the checkout

    init = _run([str(venv / "bin" / "gdpr-bot"), "init", "site"], empty, env)
    assert init.returncode == 0, init.stderr[-2000:]
    assert (empty / "site" / "config" / "roles.yaml").read_text() == (ROOT / "config" / "roles.yaml").read_text()
    assert (empty / "site" / "templates" / "ropa.html.j2").is_file()
    again = _run([str(venv / "bin" / "gdpr-bot"), "init", "site"], empty, env)
    assert again.returncode == 2 and "not overwriting" in again.stderr  # an operator's edits are never replaced
