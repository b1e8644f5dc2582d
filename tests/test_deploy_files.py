"""The deployment files agree with the code: the Dockerfile lints clean (hadolint) and copies every package;
compose runs the Procfile's processes from one image on the Procfile's ports, after PostgreSQL and Redis
are healthy; the image's lock file pins every dependency with its sha256, and the image installs with
--require-hashes. (No Docker daemon here: the image itself is
not built in CI; these checks are what can be proven without one.)"""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import yaml

from tests.conftest import ROOT

PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def _name(requirement: str) -> str:
    return re.split(r"[\[<>=!~ ;]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def test_the_dockerfile_lints_clean_and_runs_as_a_numeric_non_root_user() -> None:
    hadolint = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or "hadolint"
    done = subprocess.run([hadolint, "--failure-threshold", "info", str(ROOT / "Dockerfile")], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    text = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^USER 10001:10001$", text, re.M) and "requirements.lock" in text
    tops = {p.split(".")[0] for p in PROJECT["tool"]["setuptools"]["packages"] if not p.startswith("gdpr.defaults")}
    for folder in tops | {"config", "templates"}:
        assert f"COPY {folder}/ {folder}/" in text, folder


def test_compose_runs_the_procfile_processes_from_one_image_after_healthy_services() -> None:
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    procfile = dict(line.split(": ", 1) for line in (ROOT / "Procfile").read_text().splitlines() if line.strip())
    services = compose["services"]
    assert set(procfile) <= set(services) and {"postgres", "redis"} <= set(services)
    for name in procfile:
        svc = services[name]
        assert svc["image"] == "gdpr-ops-bot:latest" and svc["build"] == "."
        assert svc["command"][0] == procfile[name].split()[1]  # the same gdpr-bot subcommand
        assert svc["depends_on"]["postgres"]["condition"] == "service_healthy"
        assert svc["depends_on"]["redis"]["condition"] == "service_healthy"
        assert svc["environment"]["REDIS_URL"].startswith("redis://redis:")
    assert services["bot"]["ports"] == ["3000:3000"] and "${PORT:-3000}" in procfile["bot"]
    assert services["api"]["ports"] == ["8081:8081"] and "${API_PORT:-8081}" in procfile["api"]
    assert all("healthcheck" in services[s] for s in ("postgres", "redis", "bot"))


def test_the_lock_file_pins_every_dependency_exactly_with_its_hashes() -> None:
    pins, text = {}, (ROOT / "requirements.lock").read_text()
    for entry in re.split(r"\n(?=\S)", "\n".join(line for line in text.splitlines() if not line.startswith("#")).strip()):
        name, _, rest = entry.partition("==")
        version = rest.split()[0]
        assert version and re.search(r"--hash=sha256:[0-9a-f]{64}", rest), entry[:80]
        pins[_name(name)] = version
    for requirement in PROJECT["project"]["dependencies"]:
        assert _name(requirement) in pins, requirement
    docker = (ROOT / "Dockerfile").read_text()
    assert len(re.findall(r"^RUN .*--require-hashes|^ && .*--require-hashes", docker, re.M)) == 2  # download, install
