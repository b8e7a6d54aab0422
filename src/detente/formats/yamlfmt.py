"""detente's own scenario format: YAML (or JSON) mirroring :class:`Scenario`.

Errors point at the line of the offending value in the file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from detente.errors import InputError, Problem
from detente.formats.common import build_scenario, read_text
from detente.scenario import Scenario

__all__ = ["read_yaml", "write_yaml", "write_json", "parse_yaml_with_lines", "scenario_to_document"]


def parse_yaml_with_lines(text: str, file: str) -> tuple[Any, dict[tuple, int]]:
    """Parse YAML safely, returning the data and a map field path -> 1-based line."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise InputError(Problem(f"malformed YAML: {getattr(exc, 'problem', None) or exc}", file=file,
                                 line=(mark.line + 1) if mark else None,
                                 column=f"char {mark.column + 1}" if mark else None)) from None
    lines: dict[tuple, int] = {}
    if node is None:
        return None, lines

    def walk(n: yaml.Node, path: tuple) -> None:
        lines[path] = n.start_mark.line + 1
        if isinstance(n, yaml.MappingNode):
            for k, v in n.value:
                key = k.value
                lines[path + (key,)] = k.start_mark.line + 1
                walk(v, path + (key,))
                lines[path + (key,)] = v.start_mark.line + 1 if not isinstance(v, (yaml.MappingNode, yaml.SequenceNode)) else k.start_mark.line + 1
        elif isinstance(n, yaml.SequenceNode):
            for i, v in enumerate(n.value):
                walk(v, path + (i,))

    walk(node, ())
    try:
        data = yaml.load(text, Loader=yaml.SafeLoader)  # safe: no arbitrary objects
    except yaml.YAMLError as exc:  # pragma: no cover - compose already parsed it
        raise InputError(Problem(f"malformed YAML: {exc}", file=file)) from None
    return data, lines


def read_yaml(path: str | Path, **_: Any) -> Scenario:
    """Read a detente YAML or JSON scenario file."""
    text, _enc = read_text(path, encodings=("utf-8-sig",))
    file = str(path)
    data, lines = parse_yaml_with_lines(text, file)
    if not isinstance(data, dict):
        raise InputError(Problem("a scenario document must be a mapping (actors:, issues:, stances: ...)",
                                 file=file, line=1, value=type(data).__name__))

    def locate(p: tuple) -> tuple[int | None, str | None]:
        for k in range(len(p), -1, -1):
            if p[:k] in lines:
                return lines[p[:k]], ".".join(str(x) for x in p) or None
        return None, ".".join(str(x) for x in p) or None

    return build_scenario(data, file=file, locate=locate)


def scenario_to_document(scenario: Scenario) -> dict[str, Any]:
    """The scenario as a plain document, leaving out empty optional fields."""
    return scenario.model_dump(mode="json", exclude_none=True, exclude_defaults=False)


def write_yaml(scenario: Scenario, path: str | Path, **_: Any) -> None:
    """Write a scenario as detente YAML (loss-free: reading it back gives an equal scenario)."""
    Path(path).write_text(
        yaml.safe_dump(scenario_to_document(scenario), sort_keys=False, allow_unicode=True, width=100),
        encoding="utf-8",
    )


def write_json(scenario: Scenario, path: str | Path, **_: Any) -> None:
    """Write a scenario as JSON (same document as the YAML form)."""
    Path(path).write_text(json.dumps(scenario_to_document(scenario), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
