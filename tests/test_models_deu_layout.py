"""The EU-specific models are grouped in ``detente.models.deu`` under names that say what they do,
while keeping the model names they were pre-registered under (``docs/deu-benchmark.md``)."""

from __future__ import annotations

from pathlib import Path

import detente.models
import detente.models.deu
from detente.models.registry import get

MODELS = {"procedural": "procedural", "deu_candidate": "median_regression",
          "deu_candidate2": "reweighted_compromise", "deu_candidate3": "point_masses"}


def test_each_registered_eu_model_comes_from_its_named_module():
    for name, module in MODELS.items():
        spec = get(name)
        assert spec.name == name
        assert spec.params_class.__module__ == f"detente.models.deu.{module}"


def test_no_numbered_module_is_left_and_the_old_paths_are_documented():
    models_dir = Path(detente.models.__file__).parent
    assert not list(models_dir.glob("deu_candidate*.py")) and not (models_dir / "procedural.py").exists()
    doc = detente.models.deu.__doc__ or ""
    for old in ("deu_candidate.py", "deu_candidate2.py", "deu_candidate3.py"):
        assert old in doc
    for module in MODELS.values():
        assert f":mod:`.{module}`" in doc
