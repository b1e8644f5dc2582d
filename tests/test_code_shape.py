"""The code's shape, checked on every run: imports run one way, and the linter finds nothing."""
from __future__ import annotations

import ast
import subprocess
import sys

import pytest

from tests.conftest import ROOT


def _imports(package: str) -> list[tuple[str, str]]:
    """(file, imported top-level module) for every import in a package, at any depth of the file."""
    found = []
    for path in sorted((ROOT / package).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                found += [(str(path.relative_to(ROOT)), a.name.split(".")[0]) for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                found.append((str(path.relative_to(ROOT)), node.module.split(".")[0]))
    return found


@pytest.mark.parametrize("package, forbidden", [
    ("gdpr", {"slack_sdk", "slack_bolt", "dramatiq", "bot", "bootstrap", "workers", "gym"}),  # the domain
    ("workers", {"bot"}),  # workers reach Slack only through what bootstrap hands them
    ("bot", {"workers", "bootstrap"}),  # the Slack adapter enqueues through the queue port
    ("api", {"bot", "workers", "bootstrap", "slack_sdk", "slack_bolt", "dramatiq", "sqlalchemy"}),  # use cases only
])
def test_imports_run_one_way(package: str, forbidden: set[str]) -> None:
    assert [(f, mod) for f, mod in _imports(package) if mod in forbidden] == []


def test_the_linter_finds_nothing() -> None:
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "--quiet", str(ROOT)], cwd=ROOT,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_type_checker_finds_nothing_in_the_domain() -> None:
    """mypy on gdpr/ (the settings are in pyproject.toml)."""
    result = subprocess.run([sys.executable, "-m", "mypy"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_slack_adapter_opens_no_session_and_writes_no_audit_event() -> None:
    """Use cases own units of work and the audit chain; bot/ renders what they return."""
    offenders = [str(p.relative_to(ROOT)) for p in sorted([*(ROOT / "bot").rglob("*.py"), *(ROOT / "api").rglob("*.py")])
                 if ".session(" in p.read_text() or "audit.record(" in p.read_text()]
    assert offenders == []


def test_listeners_are_typed_top_level_functions_one_per_file() -> None:
    from bot.listeners import actions, events, views
    from bot.listeners.commands import gdpr_command
    listeners = list(dict.fromkeys([gdpr_command, *actions.LISTENERS.values(), *views.LISTENERS.values(),
                                    *events.LISTENERS.values()]))
    modules = [f.__module__ for f in listeners]
    assert len(set(modules)) == len(listeners), modules  # one listener per file (Previous and Next share one)
    for f in listeners:
        assert "<locals>" not in f.__qualname__, f  # not a closure inside register()
        params = [p for p in f.__code__.co_varnames[:f.__code__.co_argcount]]
        assert params and all(p in f.__annotations__ for p in params) and "return" in f.__annotations__, f


def test_the_wheel_lists_every_package_of_the_code() -> None:
    """pyproject.toml lists its packages (config/ and templates/ are mapped into gdpr/defaults): a package
    left out of the list would be missing from the wheel."""
    import tomllib
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {str(p.parent.relative_to(ROOT)).replace("/", ".")
             for top in ("api", "bootstrap", "bot", "devslack", "gdpr", "gym", "workers")
             for p in (ROOT / top).rglob("__init__.py")}
    assert listed == found | {"gdpr.defaults.config", "gdpr.defaults.templates"}


def test_env_example_has_no_inline_comments() -> None:
    """Docker's --env-file and systemd's EnvironmentFile= read `KEY=value  # note` as the value."""
    lines = (ROOT / "config" / "env.example").read_text().splitlines()
    assignments = [x for x in lines if x.strip() and not x.lstrip().startswith("#")]
    assert assignments and all("#" not in x.split("=", 1)[1] for x in assignments)
