"""The deployment files agree with the code: the Dockerfile lints clean (hadolint) and copies every package;
compose runs the Procfile's processes from one image on the Procfile's ports, after PostgreSQL and Redis
are healthy; the image's lock file pins every dependency with its sha256, and the image installs with
--require-hashes. (No Docker daemon here: the image itself is
not built in CI; these checks are what can be proven without one.)"""
from __future__ import annotations

import os
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


def _seconds(value: str) -> int:
    return int(value[:-1]) * (60 if value.endswith("m") else 1)


def test_compose_starts_safely_healthchecks_grace_periods_and_required_secrets() -> None:
    """Issue 23, defect 6: every service has a healthcheck that reads the process's own state; every app
    service a stop grace period longer than its drain; secrets come from .env, required by name (compose
    refuses to start without one), and no password is written in the file."""
    from bootstrap.cli import STOP_GRACE_S
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    services = compose["services"]
    assert all("healthcheck" in svc for svc in services.values()), [n for n, s in services.items() if "healthcheck" not in s]
    assert "9300/readyz" in str(services["bot"]["healthcheck"]) and "9301/readyz" in str(services["api"]["healthcheck"])
    assert "9191/metrics" in str(services["worker"]["healthcheck"])
    assert services["scheduler"]["healthcheck"]["test"] == ["CMD", "gdpr-bot", "health", "scheduler"]
    for name in ("bot", "api"):
        assert _seconds(services[name]["stop_grace_period"]) > STOP_GRACE_S, name
    assert all("stop_grace_period" in services[n] for n in ("worker", "scheduler"))
    text = (ROOT / "compose.yaml").read_text()
    for var in ("SECRET_KEY", "SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SMTP_URL", "POSTGRES_PASSWORD"):
        assert re.search(r"\$\{" + var + r":\?[^}]*\}", text), var
    assert not re.search(r"PASSWORD: (?!\$\{)", text) and not re.search(r"://[^:/@]+:(?!\$\{)[^@]+@", text)
    demo = yaml.safe_load((ROOT / "compose.demo.yaml").read_text())["services"]
    assert demo["seed"]["build"]["target"] == "demo" and "seed" not in services  # the gym only in the demo image


def _compose_config(tmp_path: Path, env: dict[str, str], *files: str) -> subprocess.CompletedProcess:
    tool = shutil.which("docker-compose")
    assert tool, "docker-compose is missing (.ci/run installs Debian's package)"
    for name in ("compose.yaml", "compose.demo.yaml"):
        shutil.copy(ROOT / name, tmp_path / name)
    (tmp_path / ".env").write_text("".join(f"{k}={v}\n" for k, v in env.items()))
    args = [a for f in files for a in ("-f", f)]
    return subprocess.run([tool, *args, "config", "-q"], cwd=tmp_path, capture_output=True, text=True, timeout=60,
                          env={k: v for k, v in os.environ.items() if k not in SECRETS})


SECRETS = {"SLACK_BOT_TOKEN": "xoxb-1-2-abc", "SLACK_SIGNING_SECRET": "8f7e6d5c4b3a29180716f5e4d3c2b1a0",
           "SECRET_KEY": "3f9a1c7e5b2d8046af1e9c3b7d5a2068e4c1f7b9a3d5e2c8b6f0a4d7e1c9b3f5", "SMTP_URL": "smtp://mail:25",
           "POSTGRES_PASSWORD": "a-long-random-password"}


def test_compose_config_accepts_the_files_and_refuses_a_missing_secret_by_name(tmp_path: Path) -> None:
    done = _compose_config(tmp_path, SECRETS, "compose.yaml")
    assert done.returncode == 0, done.stderr
    done = _compose_config(tmp_path, SECRETS, "compose.yaml", "compose.demo.yaml")
    assert done.returncode == 0, done.stderr
    for var in SECRETS:
        done = _compose_config(tmp_path, {k: v for k, v in SECRETS.items() if k != var}, "compose.yaml")
        assert done.returncode != 0 and f"set {var}" in done.stderr, (var, done.stderr)


def test_the_production_image_leaves_out_the_stand_in_and_the_gym_and_says_so() -> None:
    docker = (ROOT / "Dockerfile").read_text()
    stages = re.findall(r"^FROM \S+ AS (\w+)$", docker, re.M)
    assert stages[-1] == "production" and "demo" in stages  # the default target is the last one
    production = docker.split("AS production", 1)[1]
    assert "shutil.rmtree" in production and "devslack, gym" in production
    code = ("import sys\n"
            "class Block:\n"
            "    def find_spec(self, name, path, target=None):\n"
            "        if name.split('.')[0] in ('devslack', 'gym'):\n"
            "            raise ModuleNotFoundError(f'No module named {name!r}', name=name)\n"
            "sys.meta_path.insert(0, Block())\n"
            "from bootstrap.cli import main\n"
            "sys.exit(main(sys.argv[1:]))\n")
    for command in (["demo"], ["console"], ["seed", "--members", "10"]):
        done = subprocess.run([sys.executable, "-c", code, *command], cwd=ROOT, capture_output=True, text=True,
                              timeout=60)
        lines = done.stderr.strip().splitlines()
        assert done.returncode == 2 and len(lines) == 1 and "--target demo" in lines[0], (command, done.stderr)


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
    assert re.search(r"pip download .*--require-hashes", docker)  # checked when downloaded
    installs = re.findall(r"pip install [^\n]*-r [^\n]*", docker)
    assert installs and all("--require-hashes" in line for line in installs)  # and again when installed
