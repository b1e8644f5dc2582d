"""YAML loading that remembers where each key is, so config errors name file, line and key."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from gdpr.core.errors import ConfigError

# A schema of the keys a file may hold: {key: sub-schema}; NAMES maps free names (a table, a role, a
# policy) to one sub-schema for each; ANY is a value whose keys are not checked (free-form data); a
# type (BOOL, INT, TEXT) is a value that must be of that type (`dedicated_channel: nope` is an error,
# not true; YAML's `yes`/`no` are not booleans here either, only true and false).
ANY: Any = None
NAMES = "*"
Schema = dict
BOOL, INT, TEXT = bool, int, str
_TYPE_NAMES = {bool: "true or false", int: "a whole number", str: "text"}
# libyaml's parser where PyYAML was built with it (its wheels are): the data map is read at every start
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class Located:
    """Parsed YAML plus the line of every key path (('tables', 'members', 'columns'))."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lines: dict[tuple, int] = {}
        try:
            node = yaml.compose(path.read_text(encoding="utf-8"), Loader=_LOADER)
        except FileNotFoundError:
            raise ConfigError(f"{path}: file not found") from None
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = mark.line + 1 if mark else 0
            raise ConfigError(f"{path}:{line}: invalid YAML: {getattr(exc, 'problem', exc)}") from None
        self._scalars = yaml.constructor.SafeConstructor()
        self.data = self._build(node, ()) if node is not None else {}

    def _build(self, node: yaml.Node, path: tuple) -> Any:
        if isinstance(node, yaml.MappingNode):
            out = {}
            for key_node, value_node in node.value:
                key = key_node.value
                self.lines[path + (key,)] = key_node.start_mark.line + 1
                out[key] = self._build(value_node, path + (key,))
            return out
        if isinstance(node, yaml.SequenceNode):
            return [self._build(v, path + (i,)) for i, v in enumerate(node.value)]
        if node.tag == "tag:yaml.org,2002:str" or (node.tag == "tag:yaml.org,2002:bool"
                                                   and node.value.lower() not in ("true", "false")):
            return node.value  # YAML 1.2: only true and false are booleans (`no` is Norway, `yes` a typo)
        return self._scalars.construct_object(node, deep=True)  # ints, floats, null: as YAML resolved them

    def error(self, path: tuple, message: str) -> ConfigError:
        """A ConfigError pointing at the nearest known line of `path`."""
        for cut in range(len(path), 0, -1):
            if path[:cut] in self.lines:
                line = self.lines[path[:cut]]
                break
        else:
            line = 1
        key = ".".join(str(p) for p in path) or "(top level)"
        return ConfigError(f"{self.path}:{line}: {key}: {message}")

    def only(self, schema: Schema) -> None:
        """Every key in the file is one the schema knows: a typo is an error naming file, line and key,
        never a setting silently ignored (a misspelt `max_share` must not widen a retention policy)."""
        _check(self, self.data, schema, ())

    def require(self, mapping: dict, path: tuple, key: str, kind: type = str) -> Any:
        if not isinstance(mapping, dict) or key not in mapping:
            raise self.error(path, f"missing required key '{key}'")
        value = mapping[key]
        if not isinstance(value, kind):
            raise self.error(path + (key,), f"expected {kind.__name__}, got {type(value).__name__}")
        return value


def _check(doc: Located, data: Any, schema: Schema | type | None, path: tuple) -> None:
    if schema is None:
        return
    if isinstance(schema, type):
        wrong = not isinstance(data, schema) or (schema is int and isinstance(data, bool))
        if wrong:
            raise doc.error(path, f"expected {_TYPE_NAMES.get(schema, schema.__name__)}, got {_shown(data)}")
        return
    if isinstance(data, list):  # a list of mappings, each checked
        for i, item in enumerate(data):
            _check(doc, item, schema, path + (i,))
        return
    if not isinstance(data, dict):
        return
    for key, value in data.items():
        if key in schema:
            _check(doc, value, schema[key], path + (key,))
        elif NAMES in schema:
            _check(doc, value, schema[NAMES], path + (key,))
        else:
            known = ", ".join(sorted(k for k in schema if k != NAMES))
            raise doc.error(path + (key,), f"unknown key '{key}' (known here: {known})")


def _shown(value: Any) -> str:
    text = repr(value) if not isinstance(value, (dict, list)) else type(value).__name__
    return text if len(text) <= 40 else text[:37] + "..."
