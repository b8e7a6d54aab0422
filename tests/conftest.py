"""Shared fixtures. Tests that read ``../shared`` use the ``shared`` fixture, which skips
with a clear reason when the shared reference material is not beside the repository."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# scripts that make fixtures (e.g. fixtures/exchange/make_rex_reference.py needs the reference
# package under Python 3.13) are not test modules
collect_ignore_glob = ["fixtures/*"]

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("DETENTE_SHARED", REPO.parent / "shared"))
FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture
def shared() -> Path:
    """Path of ../shared (reference inputs/outputs); skips the test when it is absent."""
    if not SHARED.is_dir():
        pytest.skip(f"shared reference material not found at {SHARED} (set DETENTE_SHARED)")
    return SHARED


@pytest.fixture
def fixtures() -> Path:
    return FIXTURES
