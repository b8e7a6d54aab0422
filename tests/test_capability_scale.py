"""Capability scale (issue 13): every model's forecast is unchanged when all capabilities are
multiplied by one constant, over the whole range the scenario validator accepts (any finite
number >= 0); a capability of 1e308 gives the rescaled forecast, never ``nan`` with exit 0;
a non-finite forecast is a failed run (exit 1), never a silent ``null``.

Tolerance of the property: ``1e-9`` of the issue width for every model except ``nbs``, whose
forecast is the end point of scipy's bounded Brent search; that search stops when the bracket
is below ``xatol + sqrt(eps) |x|`` (about ``1.5e-8`` on the unit scale), so two runs whose
weights differ by rounding only agree to that precision, and we allow ``1e-7`` of the width.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from detente.cli import app
from detente.errors import DetenteError, RunError
from detente.models import registry
from detente.models.capability import capability_exponent, unit_capabilities
from detente.models.registry import ModelSpec, run_model
from detente.result import IssueResult, RoundRecord, RunResult
from detente.scenario import Actor, Issue, Scenario, Stance

SCALES = (-300, -100, -10, 0, 10, 100, 300)  # capabilities times 10**k
SEED = 7
TOL = {"nbs": 1e-7}  # of the issue width; 1e-9 for every other model (see the module docstring)
SLOW = {"smp", "bdm", "exchange"}  # fewer examples for the dynamic models (each run ~0.1 s)

CASES = [(m, v) for m in registry.names() for v in (registry.get(m).variants or (None,))]


def _examples(model: str) -> int:
    n = int(os.environ.get("SCALE_EXAMPLES", 8))
    return n if model in SLOW else 4 * n


# ---------------------------------------------------------------------------- the helper


def test_unit_capabilities_is_an_exact_power_of_two_rescaling():
    c = np.array([3.0, 12.0, 0.0, 0.1])
    e = capability_exponent(c)
    assert e == 4  # 12 = 0.75 * 2**4
    u = unit_capabilities(c)
    assert u.tolist() == [3 / 16, 12 / 16, 0.0, 0.1 / 16]
    assert np.all(u * 16 == c)  # exact: multiplying back gives the same bits
    for top in (1e308, np.finfo(float).max, 1e-300):
        v = unit_capabilities(np.array([top, top / 4]))
        assert 0.5 <= v.max() < 1.0 and v[1] == v[0] / 4
    assert unit_capabilities(np.array([5e-324])).tolist() == [0.5]  # the smallest subnormal
    assert capability_exponent(np.zeros(3)) == 0 and unit_capabilities(np.zeros(2)).tolist() == [0.0, 0.0]
    assert capability_exponent(np.array([[1.0, 3.0], [0.0, 0.0], [5e-324, 0.0]]), axis=1).tolist() == [2, 0, -1073]


def test_unit_scale_keeps_ordinary_results_bit_for_bit():
    """A power-of-two rescaling is exact, so at ordinary scales the normalised models give the
    bits the raw arithmetic gave: here the ratio-only formulas recomputed by hand."""
    s = _scenario([3.0, 1.0, 2.0], [[10.0], [40.0], [90.0]], [[50.0], [100.0], [25.0]])
    w = np.array([3.0 * 0.5, 1.0 * 1.0, 2.0 * 0.25])
    x = np.array([10.0, 40.0, 90.0])
    assert run_model(s, "compromise").forecast("i0") == float(np.dot(w, x) / w.sum())
    # weights 1.5, 1.0, 0.5: exactly half the total at 10, so the median is the midpoint of 10 and 40
    assert run_model(s, "median").forecast("i0") == 25.0
    assert any("power of two" in n for n in run_model(s, "compromise").notes)


# ---------------------------------------------------------------------------- scenarios


def _scenario(caps, pos, sal, *, lower=0.0, upper=100.0, sq=None, rule=None, ids=None, cod=False) -> Scenario:
    n, m = len(caps), len(pos[0])
    ids = ids or [f"a{i}" for i in range(n)]
    return Scenario(
        name="scale", salience_scale="percent",
        actors=[Actor(id=ids[i], capability=float(caps[i])) for i in range(n)],
        issues=[Issue(id=f"i{j}", lower=lower, upper=upper, status_quo=None if sq is None else sq[j],
                      decision_rule=rule) for j in range(m)],
        stances=[Stance(actor=ids[i], issue=f"i{j}", position=float(pos[i][j]), salience=float(sal[i][j]))
                 for i in range(n) for j in range(m)],
        metadata={"proc": "COD"} if cod else {},
    )


@st.composite
def scenarios(draw):
    """2-8 actors, 1-3 issues; capabilities spread over six orders of magnitude (some equal,
    some zero), positions on a coarse grid (ties) or anywhere, saliences summing to <= 100."""
    n = draw(st.integers(2, 8))
    m = draw(st.integers(1, 3))
    lower = draw(st.sampled_from([0.0, -1.0, 10.0]))
    width = draw(st.sampled_from([100.0, 1.0, 7.5]))
    cap = st.one_of(st.sampled_from([1.0, 2.0]), st.floats(1e-3, 1e3, allow_nan=False, allow_infinity=False))
    caps = draw(st.lists(cap, min_size=n, max_size=n))
    if draw(st.integers(0, 4)) == 0:  # now and then an actor without capability (smp refuses it)
        caps[-1] = 0.0
    # positions anywhere, but not subnormal: exchange warns on a subnormal position (a masked
    # division by a tiny forecast shift), which has nothing to do with capabilities
    frac = st.one_of(st.sampled_from([0.0, 0.25, 0.5, 1.0]), st.floats(0.0, 1.0, allow_subnormal=False))
    pos = [[lower + draw(frac) * width for _ in range(m)] for _ in range(n)]
    sal = [[draw(st.floats(1.0, 100.0 / m)) for _ in range(m)] for _ in range(n)]
    sq = draw(st.one_of(st.none(), st.lists(frac, min_size=m, max_size=m)))
    sq = None if sq is None else [lower + f * width for f in sq]
    rule = draw(st.sampled_from([None, "unanimity", "qmv"]))
    ids = [f"a{i}" for i in range(n)]
    if n >= 4 and draw(st.booleans()):  # EU institutions for the procedural and DEU models
        ids[0], ids[1] = "COM", "EP"
    return dict(caps=caps, pos=pos, sal=sal, lower=lower, upper=lower + width, sq=sq, rule=rule, ids=ids,
                cod=draw(st.booleans()))


def _outcome(kw: dict, k: int, model: str, variant: str | None):
    """Forecasts per issue with every capability times 10**k, or the error's type and problems."""
    s = _scenario([c * 10.0**k for c in kw["caps"]], kw["pos"], kw["sal"], lower=kw["lower"], upper=kw["upper"],
                  sq=kw["sq"], rule=kw["rule"], ids=kw["ids"], cod=kw["cod"])
    try:
        r = run_model(s, model, variant=variant, seed=SEED)
    except DetenteError as exc:
        return ("error", type(exc).__name__, str(exc))
    return {i: ir.forecast for i, ir in r.issues.items()}


def _check_invariant(model: str, variant: str | None, kw: dict) -> None:
    tol = TOL.get(model, 1e-9) * (kw["upper"] - kw["lower"])
    base = _outcome(kw, 0, model, variant)
    for k in SCALES:
        if k == 0:
            continue
        got = _outcome(kw, k, model, variant)
        if isinstance(base, tuple) or isinstance(got, tuple):
            if isinstance(base, tuple) and isinstance(got, tuple) and base[:2] == got[:2]:
                continue  # the same refusal at every scale (e.g. smp: a zero capability)
            assert got == base, (k, got, base)
        assert got.keys() == base.keys()
        for i in base:
            a, b = got[i], base[i]
            assert (a is None) == (b is None), (k, i, a, b)
            if a is not None:
                assert math.isfinite(a) and abs(a - b) <= tol, (model, variant, k, i, a, b, abs(a - b))


@pytest.mark.parametrize(("model", "variant"), CASES, ids=[f"{m}-{v}" if v else m for m, v in CASES])
def test_forecasts_do_not_depend_on_the_capability_scale(model, variant):
    @settings(max_examples=_examples(model), deadline=None, derandomize=True,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(scenarios())
    def prop(kw):
        _check_invariant(model, variant, kw)

    prop()


@pytest.mark.parametrize(("model", "variant"), CASES, ids=[f"{m}-{v}" if v else m for m, v in CASES])
def test_reported_cases(model, variant):
    """The two reports of issue 13 and a tie case, for every model: capabilities 1e-300 and
    1e300 (SMP and BDM scholz2011 used to move) and equal weights on both sides of the median."""
    kw = dict(caps=[16.0, 8.0, 5.0, 11.0], pos=[[10.0, 80.0], [60.0, 30.0], [90.0, 55.0], [35.0, 0.0]],
              sal=[[40.0, 30.0], [50.0, 20.0], [45.0, 45.0], [30.0, 60.0]], lower=0.0, upper=100.0,
              sq=[20.0, 70.0], rule=None, ids=None, cod=False)
    _check_invariant(model, variant, kw)
    tie = dict(kw, caps=[1.0, 1.0, 1.0, 1.0], sal=[[50.0, 50.0]] * 4)
    _check_invariant(model, variant, tie)


# ---------------------------------------------------------------------------- 1e308


BIG = """\
name: big
salience_scale: percent
actors:
  - {id: A, capability: 1e308}
  - {id: B, capability: 1.7976931348623157e308}
  - {id: C, capability: 5e307}
issues:
  - {id: x, lower: 0, upper: 100, status_quo: 20}
  - {id: y, lower: 0, upper: 100, status_quo: 70}
stances:
  - {actor: A, issue: x, position: 10, salience: 40}
  - {actor: B, issue: x, position: 60, salience: 45}
  - {actor: C, issue: x, position: 90, salience: 25}
  - {actor: A, issue: y, position: 80, salience: 40}
  - {actor: B, issue: y, position: 30, salience: 45}
  - {actor: C, issue: y, position: 55, salience: 60}
"""


def _big(scale: float = 1.0) -> Scenario:
    import yaml

    d = yaml.safe_load(BIG)
    for a in d["actors"]:
        a["capability"] = float(a["capability"]) * scale
    return Scenario.model_validate(d)


@pytest.mark.parametrize(("model", "variant"), CASES, ids=[f"{m}-{v}" if v else m for m, v in CASES])
def test_capability_1e308_gives_the_rescaled_forecast(model, variant):
    big = run_model(_big(), model, variant=variant, seed=SEED)
    small = run_model(_big(2.0**-1000), model, variant=variant, seed=SEED)  # exact rescaling: same bits
    ref = run_model(_big(1e-306), model, variant=variant, seed=SEED)  # ordinary numbers (1.0, 1.8, 0.05)
    for i in ("x", "y"):
        f = big.forecast(i)
        assert f is not None and math.isfinite(f), (model, i, f)
        assert f == small.forecast(i)
        assert abs(f - ref.forecast(i)) <= TOL.get(model, 1e-9) * 100, (model, i, f, ref.forecast(i))
    # nothing else in the result turned into null (JSON's nan/inf) either: rounds' means,
    # medians, risk exponents, expected utilities, ...
    assert _nulls(big.to_json_dict()) == _nulls(ref.to_json_dict())


def _nulls(d, path: str = "") -> set[str]:
    if isinstance(d, dict):
        return set().union(*(_nulls(v, f"{path}.{k}") for k, v in d.items())) if d else set()
    if isinstance(d, list):
        return set().union(*(_nulls(v, f"{path}[{k}]") for k, v in enumerate(d))) if d else set()
    return {path} if d is None else set()


@pytest.fixture
def home(tmp_path, monkeypatch):
    h = tmp_path / "home"
    monkeypatch.setenv("DETENTE_HOME", str(h))
    return h


@pytest.mark.parametrize("model", ["compromise", "smp"])
def test_cli_capability_1e308_is_a_finite_forecast(tmp_path, home, model):
    """The reported command (compromise returned nan, printed as null, with exit 0) and the
    slowest model, through a real subprocess; every model is checked in-process above."""
    f = tmp_path / "big.yaml"
    f.write_text(BIG, encoding="utf-8")
    env = dict(os.environ, DETENTE_HOME=str(home))
    args = [sys.executable, "-m", "detente", "forecast", str(f), "-m", model, "--seed", "1", "--json"]
    p = subprocess.run(args, capture_output=True, text=True, env=env, timeout=120)
    assert p.returncode == 0, p.stderr
    d = json.loads(p.stdout)
    ref = run_model(_big(1e-306), model, seed=1)
    for i in ("x", "y"):
        assert d["issues"][i]["forecast"] is not None
        assert abs(d["issues"][i]["forecast"] - ref.forecast(i)) <= 1e-9 * 100
    assert "RuntimeWarning" not in p.stderr  # no overflow on the way


def test_non_finite_capability_is_refused_with_a_named_problem(tmp_path, home):
    f = tmp_path / "inf.yaml"
    f.write_text(BIG.replace("1.7976931348623157e308", "1e309"), encoding="utf-8")
    r = CliRunner().invoke(app, ["forecast", str(f), "-m", "compromise", "--json"])
    assert r.exit_code == 2, r.output
    d = json.loads([ln for ln in r.stdout.splitlines() if ln.strip()][-1])
    text = json.dumps(d)
    assert "capability" in text and "finite" in text


# ---------------------------------------------------------------------------- the guard


def _nan_model(monkeypatch, *, where: str = "forecast"):
    """Register a model whose arithmetic breaks down (``nan``) as ``broken``."""

    def run(scenario, params, *, rng):
        iid = scenario.issues[0].id
        if where == "forecast":
            ir = IssueResult(forecast=float("nan"))
        else:
            ir = IssueResult(forecast=1.0, rounds=(RoundRecord(positions={"A": 1.0}), RoundRecord(positions={"A": math.inf})))
        return RunResult.build(model="broken", scenario=scenario, params=params, issues={iid: ir})

    from detente.models.baseline import CompromiseParams

    spec = ModelSpec(name="broken", summary="test", params_class=CompromiseParams, run=run)
    monkeypatch.setitem(registry._BUILTIN, "broken", "tests:unused")
    monkeypatch.setitem(registry._cache, "broken", spec)


def test_guard_turns_a_nan_forecast_into_a_run_error(monkeypatch):
    _nan_model(monkeypatch)
    with pytest.raises(RunError) as ei:
        run_model(_big(1e-306), "broken")
    msg = str(ei.value)
    assert "'broken'" in msg and "'x'" in msg and "non-finite forecast (nan)" in msg


def test_guard_checks_round_positions(monkeypatch):
    _nan_model(monkeypatch, where="rounds")
    with pytest.raises(RunError, match=r"non-finite position of 'A' in round 1 \(inf\) on issue 'x'"):
        run_model(_big(1e-306), "broken")


def test_guard_cli_exit_1_and_nothing_stored(monkeypatch, tmp_path, home):
    _nan_model(monkeypatch)
    f = tmp_path / "ok.yaml"
    f.write_text(BIG, encoding="utf-8")
    r = CliRunner().invoke(app, ["forecast", str(f), "-m", "broken", "--json"])
    assert r.exit_code == 1, r.output
    assert "non-finite forecast" in r.output and "Traceback" not in r.output
    r = CliRunner().invoke(app, ["runs", "list", "--json"])
    assert r.exit_code == 0 and "broken" not in r.stdout


def test_guard_lets_no_forecast_through():
    """``None`` is a model's documented "no forecast" (an issue nobody holds a position on)."""
    s = Scenario(actors=[Actor(id="A")], issues=[Issue(id="x"), Issue(id="y")],
                 stances=[Stance(actor="A", issue="x", position=3, salience=50)])
    r = run_model(s, "compromise")
    assert r.forecast("x") == 3.0 and r.forecast("y") is None


def test_smp_mean_of_per_issue_capabilities_near_the_float_limit():
    """smp averages an actor's per-issue capabilities; their sum must not overflow."""
    s = _big()
    s.stances[0].capability = 1.7e308  # A on x; A's default 1e308 stays on y
    s.stances[3].capability = 1.5e308
    r = run_model(s, "smp")
    ref = s.model_copy(deep=True)
    for a in ref.actors:
        a.capability *= 1e-306
    for st_ in ref.stances:
        if st_.capability is not None:
            st_.capability *= 1e-306
    r0 = run_model(ref, "smp")
    assert any("their mean 1.6e+308 is used" in n for n in r.notes)
    for i in ("x", "y"):
        assert r.forecast(i) == pytest.approx(r0.forecast(i), abs=1e-7)
