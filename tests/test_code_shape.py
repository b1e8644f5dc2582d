"""The code's shape, checked on every run: imports run one way, and the linter finds nothing."""
from __future__ import annotations

import ast
import inspect
import re
import subprocess
import sys
from pathlib import Path

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


@pytest.mark.slow
def test_the_type_checker_finds_nothing_in_any_package() -> None:
    """mypy on every package of the code (the list and the settings are in pyproject.toml)."""
    import tomllib
    checked = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mypy"]["files"])
    assert checked == {"api", "bootstrap", "bot", "devslack", "gdpr", "gym", "workers"}
    result = subprocess.run([sys.executable, "-m", "mypy"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_slack_adapter_opens_no_session_and_writes_no_audit_event() -> None:
    """Use cases own units of work and the audit chain; bot/ renders what they return."""
    offenders = [str(p.relative_to(ROOT)) for p in sorted([*(ROOT / "bot").rglob("*.py"), *(ROOT / "api").rglob("*.py")])
                 if ".session(" in p.read_text() or "audit.record(" in p.read_text()]
    assert offenders == []


def test_no_adapter_is_handed_the_service_container() -> None:
    """Listeners, presenters, commands, routes and actors name what they use in their signatures: none of
    them mentions the composition root's container (bootstrap.compose.Services) or reaches into one."""
    offenders = [(str(p.relative_to(ROOT)), n) for top in ("bot", "api", "workers")
                 for p in sorted((ROOT / top).rglob("*.py"))
                 for n, line in enumerate(p.read_text().splitlines(), 1) if re.search(r"\b[Ss]ervices\b", line)]
    assert offenders == []


class _Anything:
    """Stands for the use cases at registration: each attribute is a distinct sentinel."""

    def __getattr__(self, name: str) -> object:
        return f"<{name}>"


class _Recorder:
    """Bolt's registration, recorded: (kind, id, listener, what it was bound to)."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str, object, dict]] = []

    def __getattr__(self, kind: str) -> object:
        return lambda key: lambda listener, **bound: self.seen.append((kind, key, listener, bound))


def _registered() -> list[tuple[str, str, object, dict]]:
    from bot.commands.table import command_table
    from bot.listeners import actions, commands, events, views
    app, use = _Recorder(), _Anything()
    table = command_table(use, approvals="C0APPROVALS", breach_contact="dpo@example.org")
    for package in (commands, actions, views, events):
        package.register(app, use, _Anything(), table)
    return app.seen


def test_listeners_are_typed_top_level_functions_one_per_file_bound_to_what_they_name() -> None:
    seen = _registered()
    listeners = list(dict.fromkeys(f for _, _, f, _ in seen))
    modules = [f.__module__ for f in listeners]
    assert len(set(modules)) == len(listeners), modules  # one listener per file (Previous and Next share one)
    for _, key, f, bound in seen:
        assert "<locals>" not in f.__qualname__, f  # not a closure inside register()
        spec = inspect.getfullargspec(f)
        assert spec.args and all(p in spec.annotations for p in [*spec.args, *spec.kwonlyargs, "return"]), f
        assert set(bound) == set(spec.kwonlyargs) and "bot" in bound, (key, f, bound)  # exactly what it names
        assert "client" in spec.args, f  # a failure is answered through it
    assert len(seen) == 1 + 14 + 9 + 1  # /gdpr; buttons; modal submissions; App Home


def test_one_command_table_answers_every_command_the_grammar_parses() -> None:
    from bot.commands.table import command_table
    from bot.grammar import COMMANDS, parse
    table = command_table(_Anything(), approvals="C0APPROVALS", breach_contact="x")
    assert table.names() == COMMANDS - {"help"} and not set(table.answered) & set(table.modals)
    typed = ["help", "find a@b.example", "access M0001", "erase lead a@b.example --club BXL", "extend R-1 busy busy",
             "refuse R-2 manifestly excessive", "crm purge", "retention report", "breach", "breach list",
             "breach show B-1", "breach register", "breach update B-1", "breach close B-1", "breach file B-1",
             "grant M0001 2h ticket 1: a look", "grants", "revoke G-1", "consent M0001", "withdraw M0001 marketing",
             "object M0001 profiling", "restrict M0001 contested address", "restrict lift M0001 checked it",
             "rectify M0001 city=Gent", "audit M0001", "club tokens", "club token create bxl", "club token rotate bxl",
             "club token revoke bxl", "club offboard bxl", "ropa"]
    assert {parse(text).name for text in typed} == COMMANDS


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


def _module_graph() -> dict[str, set[str]]:
    """Every module of the code and the modules of the code it imports (at any depth, type-only imports too)."""
    paths = {}
    for top in ("api", "bootstrap", "bot", "devslack", "gdpr", "gym", "workers"):
        for path in (ROOT / top).rglob("*.py"):
            if "migrations" not in path.parts:
                name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
                paths[name.removesuffix(".__init__")] = path
    graph: dict[str, set[str]] = {name: set() for name in paths}
    for name, path in paths.items():
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                targets = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
            else:
                continue
            for target in targets:
                while target and target not in paths:
                    target = target.rpartition(".")[0]
                if target and target != name and not name.startswith(target + "."):  # a package's own parents
                    graph[name].add(target)
    return graph


def test_no_import_circle() -> None:
    """No module reaches itself through its imports (Tarjan's strongly connected components)."""
    graph, index, low, stack, on_stack, circles = _module_graph(), {}, {}, [], set(), []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while not component or component[-1] != v:
                component.append(stack.pop())
                on_stack.discard(component[-1])
            if len(component) > 1:
                circles.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    assert len(graph) > 150 and circles == []


WINGS = {"requests", "erasure", "bulk", "breaches", "consent", "grants", "clubs"}


def _runtime_imports(path: Path) -> set[str]:
    """The modules a file imports when it runs (imports under `if TYPE_CHECKING:` are for the reader only)."""
    found: set[str] = set()

    def walk(nodes: list[ast.stmt]) -> None:
        for node in nodes:
            if isinstance(node, ast.If) and getattr(node.test, "id", "") == "TYPE_CHECKING":
                continue
            if isinstance(node, ast.Import):
                found.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module:
                found.add(node.module)
            for field in ("body", "orelse", "finalbody", "handlers"):
                walk(getattr(node, field, []) or [])
    walk(ast.parse(path.read_text(), str(path)).body)
    return found


def test_the_domain_is_capability_packages_over_a_shared_core() -> None:
    """gdpr/ holds no loose module: a wing per capability, the shared core, the lifecycles, the use cases; the
    core and the lifecycles import no wing (and no use case) when they run."""
    top = ROOT / "gdpr"
    assert sorted(p.name for p in top.glob("*.py")) == ["__init__.py"]
    packages = {p.parent.name for p in top.glob("*/__init__.py")}
    assert packages == WINGS | {"core", "lifecycle", "app", "migrations"}
    offenders = [(str(p.relative_to(ROOT)), mod) for base in ("core", "lifecycle") for p in sorted((top / base).rglob("*.py"))
                 for mod in _runtime_imports(p) if mod.split(".")[:2][-1] in WINGS | {"app"} and mod.startswith("gdpr.")]
    assert offenders == []
