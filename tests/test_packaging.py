"""Packaging: the wheel carries ``py.typed`` and the licence; the metadata states the licence
as an SPDX expression (PEP 639)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def test_pyproject_declares_spdx_licence_and_the_files_exist():
    proj = _pyproject()
    assert proj["project"]["license"] == "MIT"
    assert proj["project"]["license-files"] == ["LICENSE"]
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert text.startswith("MIT License")
    assert "Copyright (c) 2026 detente developers" in text
    # a licence expression and a licence classifier together are an error under PEP 639
    assert not [c for c in proj["project"]["classifiers"] if c.startswith("License ::")]
    # setuptools reads `license = "MIT"` and `license-files` from version 77 on
    req = [r for r in proj["build-system"]["requires"] if r.startswith("setuptools")]
    assert req == ["setuptools>=77"]
    assert "py.typed" in proj["tool"]["setuptools"]["package-data"]["detente"]
    assert (ROOT / "src" / "detente" / "py.typed").is_file()


@pytest.mark.slow
def test_built_wheel_contains_py_typed_licence_and_metadata(tmp_path):
    """Build the wheel from a copy of the project (nothing is written into the work tree)."""
    proj = tmp_path / "proj"
    proj.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy2(ROOT / name, proj / name)
    shutil.copytree(ROOT / "src", proj / "src",
                    ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "*.pyc"))
    dist = tmp_path / "dist"
    cp = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), str(proj)],
                        capture_output=True, text=True, timeout=600)
    if cp.returncode != 0 and "No matching distribution found for setuptools" in (cp.stdout + cp.stderr):
        pytest.skip("pip could not fetch the build requirements (no package index reachable)")
    assert cp.returncode == 0, cp.stderr[-3000:]
    wheels = list(dist.glob("detente-*.whl"))
    assert len(wheels) == 1
    with zipfile.ZipFile(wheels[0]) as z:
        names = z.namelist()
        assert "detente/py.typed" in names
        lic = [n for n in names if n.endswith(".dist-info/licenses/LICENSE")]
        assert len(lic) == 1
        assert b"detente developers" in z.read(lic[0])
        meta = Parser().parsestr(z.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode())
    assert meta["License-Expression"] == "MIT"
    assert meta.get_all("License-File") == ["LICENSE"]
    assert "Typing :: Typed" in meta.get_all("Classifier")
    # the bundled scenarios and web assets still ship
    assert "detente/examples/seesaw-2021.yaml" in names


def _recipe(target: str) -> list[str]:
    """The command lines of a Makefile target (tab-indented lines after ``target:``)."""
    lines = (ROOT / "Makefile").read_text(encoding="utf-8").splitlines()
    start = next(i for i, ln in enumerate(lines) if ln.startswith(f"{target}:"))
    out = []
    for ln in lines[start + 1:]:
        if not ln.startswith("\t"):
            break
        out.append(ln.strip())
    return out


def test_make_test_lints_and_type_checks_before_the_suite():
    lint = _recipe("lint")
    assert lint == ["$(VENV)/bin/ruff check .", "$(PY) -m mypy src/detente"]
    test = _recipe("test")
    at = {name: next(i for i, ln in enumerate(test) if key in ln)
          for name, key in (("lint", "$(MAKE) --no-print-directory lint"), ("pytest", "-m pytest"))}
    assert at["lint"] < at["pytest"]   # make stops at the first failing line: a lint error fails the target
    # the tools come with the dev extra that `make test` installs, pinned (a new release adds rules)
    dev = _pyproject()["project"]["optional-dependencies"]["dev"]
    pins = {r.split("==")[0]: r for r in dev if "==" in r}
    assert {"ruff", "mypy", "pandas-stubs", "scipy-stubs", "types-PyYAML", "types-openpyxl"} <= set(pins)
    assert "dev" in (ROOT / "Makefile").read_text(encoding="utf-8").split("pip install -q -e \".[")[1].split("]")[0]
    tool = _pyproject()["tool"]
    assert "pydantic.mypy" in tool["mypy"]["plugins"] and tool["mypy"]["check_untyped_defs"] is True
    assert {"E", "F", "B", "NPY"} <= set(tool["ruff"]["lint"]["select"])
