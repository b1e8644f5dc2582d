"""A typo in any key of any config file is refused at start, naming the file, the line and the key: never
a setting silently ignored. Every kind of key the shipped files use is misspelt once (the first place it
appears) against the file's key schema; and each file's loader - the one every process runs at start
(`load_config`) - is shown to apply it."""
from __future__ import annotations

import copy
import functools
import re
import shutil
from pathlib import Path

import pytest

from bootstrap.config import load_config
from gdpr.breaches.config import BREACHES
from gdpr.bulk.retention import RETENTION
from gdpr.clubs.config import CLUBS
from gdpr.core.access import ROLES
from gdpr.core.datamap import DATAMAP
from gdpr.core.errors import ConfigError
from gdpr.core.settings import Settings
from gdpr.core.yamlconf import NAMES, Located
from gdpr.erasure.notices import INTEGRATIONS
from tests.conftest import ROOT

FILES = {"datamap.yaml": DATAMAP, "retention.yaml": RETENTION, "roles.yaml": ROLES, "breaches.yaml": BREACHES,
         "integrations.yaml": INTEGRATIONS, "clubs.yaml": CLUBS}


def _misspell(folder: Path, file: str, line: int, key: str) -> None:
    path = folder / file
    lines = path.read_text().splitlines(keepends=True)
    typo, n = re.subn(rf"(?<![\w-]){re.escape(key)}:", f"{key}x:", lines[line - 1], count=1)
    assert n == 1, lines[line - 1]
    lines[line - 1] = typo
    path.write_text("".join(lines))


def _schema_keys(file: str) -> list[tuple[tuple, int, bool]]:
    """(key path, line, whether its mapping also takes free names) of the first use of every key the
    schema names (free names themselves left out)."""
    doc, seen, out = Located(ROOT / "config" / file), set(), []
    for path, line in sorted(doc.lines.items(), key=lambda item: item[1]):
        schema, shape, parent = FILES[file], [], {}
        for part in path:
            if not isinstance(schema, dict):
                break
            if isinstance(part, int):  # a list item: same schema
                continue
            named, parent = part in schema, schema
            schema, shape = schema[part] if named else schema.get(NAMES), shape + [part if named else NAMES]
        else:
            if shape[-1] != NAMES and tuple(shape) not in seen:
                seen.add(tuple(shape))
                out.append((path, line, NAMES in parent))
    return out


# beside free names (supervisory_authorities.default) a typo reads as a new name: tested on its own below
CASES = [(file, path, line) for file in FILES for path, line, named in _schema_keys(file) if not named]


def test_every_file_has_its_keys_checked() -> None:
    assert {f for f, _, _ in CASES} == set(FILES) and len(CASES) > 60


@functools.cache
def _parsed(file: str) -> Located:
    return Located(ROOT / "config" / file)


@pytest.mark.parametrize("file, path, line", CASES, ids=[f"{f}:{'.'.join(map(str, p))}" for f, p, _ in CASES])
def test_a_misspelt_key_is_refused_by_file_line_and_key(file: str, path: tuple, line: int) -> None:
    """The key renamed in the parsed file (as YAML with the typo would give it), its line kept."""
    doc = copy.copy(_parsed(file))
    doc.data, doc.lines = copy.deepcopy(doc.data), dict(doc.lines)
    parent = functools.reduce(lambda node, part: node[part], path[:-1], doc.data)
    parent[f"{path[-1]}x"] = parent.pop(path[-1])
    doc.lines[path[:-1] + (f"{path[-1]}x",)] = line
    with pytest.raises(ConfigError) as refused:
        doc.only(FILES[file])
    assert f"{file}:{line}: " in str(refused.value) and f"unknown key '{path[-1]}x'" in str(refused.value)


@pytest.mark.parametrize("file", list(FILES))
def test_each_loader_run_at_start_refuses_a_typo(file: str, tmp_path: Path) -> None:
    path, line, _ = next(c for c in _schema_keys(file) if not c[2])
    config = tmp_path / "config"
    shutil.copytree(ROOT / "config", config)
    _misspell(config, file, line, str(path[-1]))
    with pytest.raises(ConfigError, match=rf"{re.escape(file)}:{line}: .*unknown key '{re.escape(str(path[-1]))}x'"):
        load_config(Settings(config_dir=config))


def test_a_misspelt_key_beside_free_names_is_still_refused(tmp_path: Path) -> None:
    path, line, _ = next(c for c in _schema_keys("datamap.yaml") if c[2])
    config = tmp_path / "config"
    shutil.copytree(ROOT / "config", config)
    _misspell(config, "datamap.yaml", line, str(path[-1]))
    with pytest.raises(ConfigError, match=rf"missing required key '{re.escape(str(path[-1]))}'"):
        load_config(Settings(config_dir=config))
