"""Public functions that import their implementation on first use show its real signature in
``help()`` and ``inspect.signature`` (no ``*args, **kwargs``), and stay equal to it."""

from __future__ import annotations

import inspect
import pydoc

import pytest

import detente
import detente.crisis
from detente.crisis import analysis
from detente.experiments import front
from detente.formats import registry
from detente.models.registry import run_model


def shape(fn, skip: tuple[str, ...] = ()) -> list[tuple[str, inspect._ParameterKind, object]]:
    """Name, kind and default of each parameter (annotations are strings under PEP 563)."""
    return [(p.name, p.kind, p.default) for p in inspect.signature(fn).parameters.values() if p.name not in skip]


WRAPPERS = [
    (detente.crisis.run_hypotheses, analysis.run_hypotheses),
    (detente.sensitivity, front.sensitivity),
    (detente.load, registry.load),
    (detente.save, registry.save),
]


@pytest.mark.parametrize(("wrapper", "target"), WRAPPERS, ids=lambda f: f"{f.__module__}.{f.__name__}")
def test_lazy_wrappers_have_their_targets_signature(wrapper, target):
    assert shape(wrapper) == shape(target)


def test_forecast_is_run_model_with_a_default_model():
    assert shape(detente.forecast, skip=("model",)) == shape(run_model, skip=("model",))
    assert inspect.signature(detente.forecast).parameters["model"].default == "compromise"


def test_sweep_names_every_option_of_the_spec_it_builds():
    names = [p for p, *_ in shape(detente.sweep)]
    assert shape(detente.sweep) == shape(front.sweep)
    assert set(names) - {"store"} == {p for p, *_ in shape(front.build_spec)}


def test_no_public_lazy_wrapper_takes_star_args():
    for fn in (detente.forecast, detente.sweep, detente.sensitivity, detente.load, detente.save,
               detente.crisis.run_hypotheses, front.sweep):
        kinds = {p.kind for p in inspect.signature(fn).parameters.values()}
        assert inspect.Parameter.VAR_POSITIONAL not in kinds, fn.__qualname__


def test_help_shows_the_parameters():
    text = pydoc.render_doc(detente.crisis.run_hypotheses, renderer=pydoc.plaintext)
    assert "run_hypotheses(scenario: 'Any', *, hypotheses:" in text and "*args" not in text


def test_wrappers_pass_every_argument_through(monkeypatch):
    seen = {}

    def fake(*args, **kwargs):
        seen["args"], seen["kwargs"] = args, kwargs
        return "ok"

    monkeypatch.setattr(analysis, "run_hypotheses", fake)
    assert detente.crisis.run_hypotheses("S", runs=7, as_of=["d"], forecast=True) == "ok"
    assert seen["args"] == ("S",) and seen["kwargs"]["runs"] == 7 and seen["kwargs"]["as_of"] == ["d"]
    assert seen["kwargs"]["forecast"] is True and seen["kwargs"]["chunk_size"] == 8192

    def fake_spec(*args, **kwargs):
        seen["spec"] = kwargs
        return "SPEC", None

    monkeypatch.setattr(front, "build_spec", fake_spec)
    import detente.experiments.runner as runner

    monkeypatch.setattr(runner, "run_sweep", lambda spec, **k: spec)
    assert detente.sweep("S", "compromise", variant="v", params={"a": 1}, chunk_size=5, name="n") == "SPEC"
    assert {k: seen["spec"][k] for k in ("variant", "params", "chunk_size", "name")} == \
        {"variant": "v", "params": {"a": 1}, "chunk_size": 5, "name": "n"}
