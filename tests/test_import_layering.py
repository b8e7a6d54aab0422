"""The import graph of ``src/detente`` follows the layering of DESIGN.md ("Nothing below imports
anything above it") and has no cycle, counting the imports inside functions too (a lazy import
hides a cycle from Python but not from a reader).

The graph is read from the source with :mod:`ast`, so the test needs no import of the package and
sees every ``import``/``from ... import`` wherever it is written.
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Iterable
from pathlib import Path

import pytest

import detente

SRC = Path(detente.__file__).parent

#: Modules below every layer: any layer may import them, and they import only each other
#: (``__version__`` is ``from detente import __version__``, the version string of the package;
#: ``data`` holds derived data files; ``executors`` the serial/process/Dask back ends; ``plotting``
#: draws figures from plain data for the results' ``.plot()``, the reports and the web).
UTILITIES = {"errors", "seeding", "processes", "executors", "result", "data", "plotting", "__version__"}

#: What each foundation layer may import besides the utilities (DESIGN.md's "may import" column;
#: ``examples`` holds the bundled scenario files and reads them with ``formats``; the ICB
#: case library starts from bundled scenarios).
FOUNDATION: dict[str, set[str]] = {
    "scenario": set(),
    "formats": {"scenario"},
    "models": {"scenario"},
    "store": {"scenario"},
    "crisis": {"scenario", "models"},
    "examples": {"scenario", "formats"},
    "cases": {"scenario", "formats", "examples", "crisis"},
    "experiments": {"scenario", "formats", "examples", "models", "crisis", "store"},
}
#: The layers above the foundation, lowest first: each may import the foundation and the layers
#: listed before it, never one after it ("__init__" is the front door, ``detente/__init__.py``).
UPPER = ["report", "__init__", "web", "cli", "__main__"]


def module_names(src: Path) -> dict[str, Path]:
    """Dotted module name -> file, for every ``.py`` under ``src`` (a package named ``src.name``)."""
    out = {}
    for p in src.rglob("*.py"):
        parts = (src.name, *p.relative_to(src).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = p
    return out


def imports_of(path: Path, this: str, modules: Iterable[str]) -> set[str]:
    """The modules of the package that ``path`` (module ``this``) imports anywhere in its code,
    relative imports resolved against ``this``. A name imported from
    a package counts as its submodule when there is one (``from detente.models import bdm``), as
    ``<package>.__version__`` for the version string, and as the package otherwise."""
    modules = set(modules)

    def owner(name: str) -> str:
        while name not in modules and "." in name:
            name = name.rpartition(".")[0]
        return name

    package = this.split(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {owner(a.name) for a in node.names if a.name.split(".")[0] == package}
        elif isinstance(node, ast.ImportFrom):
            mod = node.module or ""
            if node.level:  # relative: resolve against this module's package
                pkg = this if path.name == "__init__.py" else this.rpartition(".")[0]
                base = pkg.rsplit(".", node.level - 1)[0] if node.level > 1 else pkg
                mod = f"{base}.{mod}" if mod else base
            if mod.split(".")[0] != package:
                continue
            for a in node.names:
                full = f"{mod}.{a.name}"
                found.add(full if full in modules or a.name == "__version__" else owner(mod))
    return found


def layer(module: str) -> str:
    """``detente.models.bdm`` -> ``models``; ``detente`` -> ``__init__``; ``detente.__version__``
    -> ``__version__``; ``detente.errors`` -> ``errors``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def graph(src: Path = SRC) -> dict[str, set[str]]:
    """Module -> the package's modules it imports."""
    mods = module_names(src)
    return {m: {t for t in imports_of(p, m, mods) if t != m} for m, p in mods.items()}


@functools.cache
def package_graph() -> dict[str, set[str]]:
    return graph(SRC)


def cycles(g: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in g.get(v, ()):
            if w not in g:
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in sorted(g):
        if v not in index:
            visit(v)
    return found


def allowed(src_layer: str) -> set[str] | None:
    """Layers ``src_layer`` may import (None: a layer this table does not know)."""
    if src_layer in UTILITIES:
        return set(UTILITIES)
    if src_layer in FOUNDATION:
        return UTILITIES | FOUNDATION[src_layer] | {src_layer}
    if src_layer in UPPER:
        return UTILITIES | set(FOUNDATION) | set(UPPER[: UPPER.index(src_layer) + 1])
    return None


# --------------------------------------------------------------------------- the checker itself


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "detente"
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    return root


def test_the_checker_finds_a_cycle_through_a_lazy_import(tmp_path):
    root = _tree(tmp_path, {
        "__init__.py": "",
        "models/__init__.py": "",
        "models/a.py": "from detente.models.b import X\n",
        "models/b.py": "def f():\n    from detente.models import a\n",
        "models/c.py": "from . import b\n",
    })
    g = graph(root)
    assert g["detente.models.c"] == {"detente.models.b"}
    assert cycles(g) == [["detente.models.a", "detente.models.b"]]


def test_the_checker_sees_version_imports_and_package_imports(tmp_path):
    root = _tree(tmp_path, {
        "__init__.py": "",
        "store/__init__.py": "",
        "store/core.py": "from detente import __version__\nfrom detente.models.result import R\n",
        "models/__init__.py": "",
        "models/result.py": "",
    })
    assert graph(root)["detente.store.core"] == {"detente.__version__", "detente.models.result"}
    assert "models" not in allowed("store")


# --------------------------------------------------------------------------- the package


def test_no_import_cycle_in_the_package():
    assert cycles(package_graph()) == []


def test_bdm_batch_and_the_store_import_one_way():
    g = package_graph()
    assert "detente.models.bdm" not in g["detente.models.bdm_batch"]
    assert "detente.models.bdm_batch" in g["detente.models.bdm"]
    assert "detente.models.bdm_params" in g["detente.models.bdm_batch"]
    assert not any(layer(t) == "models" for m, ts in g.items() if layer(m) == "store" for t in ts)
    assert "detente.result" in g["detente.store.core"]


@pytest.mark.parametrize("src_layer", sorted({layer(m) for m in module_names(SRC)}))
def test_each_layer_imports_only_layers_below_it(src_layer):
    ok = allowed(src_layer)
    assert ok is not None, f"layer {src_layer!r} is not in the table of tests/test_import_layering.py"
    bad = sorted(f"{m} -> {t}" for m, ts in package_graph().items() if layer(m) == src_layer for t in ts
                 if layer(t) not in ok)
    assert not bad, bad
