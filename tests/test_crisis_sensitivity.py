"""Crisis parameter uncertainty and sensitivity (issue 17), on tests/fixtures/crisis/toy-sobol.yaml:
two flashpoints with background hazards a ~ U[0, 1] and b ~ U[0, 0.5] per month and nothing else,
so over one month P(war) = 1 − e^{−a}·e^{−b} and its Sobol indices and quantiles are known exactly."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from detente.errors import InputError
from detente.experiments.crisis_sensitivity import (
    crisis_factors,
    crisis_sensitivity,
    parameter_uncertainty,
    point_outputs,
)
from detente.experiments.sensitivity import index_warnings
from detente.formats import load

TOY = Path(__file__).parent / "fixtures" / "crisis" / "toy-sobol.yaml"
A_HI, B_HI = 1.0, 0.5
FA, FB = "flashpoints[F].base_hazard_m", "flashpoints[G].base_hazard_m"


@pytest.fixture(scope="module")
def toy():
    return load(TOY)


def _closed_form() -> dict[str, float]:
    """Sobol indices of Y = 1 − G·H, G = e^{−a}, H = e^{−b}, a ~ U[0, A], b ~ U[0, B]."""
    eg, eg2 = (1 - np.exp(-A_HI)) / A_HI, (1 - np.exp(-2 * A_HI)) / (2 * A_HI)
    eh, eh2 = (1 - np.exp(-B_HI)) / B_HI, (1 - np.exp(-2 * B_HI)) / (2 * B_HI)
    v = eg2 * eh2 - (eg * eh) ** 2
    va, vb = (eg2 - eg**2) * eh**2, eg**2 * (eh2 - eh**2)
    return {"S1a": va / v, "S1b": vb / v, "STa": 1 - vb / v, "STb": 1 - va / v, "mean": 1 - eg * eh}


def test_factors_default_to_the_assumptions_with_a_range(toy):
    from detente.crisis.spec import load_spec

    spec = load_spec(toy.dynamics)
    assert crisis_factors(spec) == [(FA, 0.0, 1.0), (FB, 0.0, 0.5)]
    with pytest.raises(InputError) as e:
        crisis_factors(spec, ["flashpoints[F].beta.rung"])       # a sourced number: nothing to vary
    assert "no assumption range" in str(e.value)
    with pytest.raises(InputError) as e:
        crisis_factors(spec, ["flashpoints[X].base_hazard_m"])
    assert "no annotated number" in str(e.value)


def test_sobol_indices_match_the_closed_form(toy):
    cf = _closed_form()
    r = crisis_sensitivity(toy, outputs=["p_war_horizon"], n=256, runs_per_point=1000, with_tornado=False, seed=3)
    rows = {x["factor"]: x for x in r.indices["p_war_horizon"]}
    assert rows[FA]["S1"] == pytest.approx(cf["S1a"], abs=0.05)
    assert rows[FB]["S1"] == pytest.approx(cf["S1b"], abs=0.05)
    assert rows[FA]["ST"] == pytest.approx(cf["STa"], abs=0.05)
    assert rows[FB]["ST"] == pytest.approx(cf["STb"], abs=0.05)
    assert r.points == 256 * 4 and r.n_runs == 256 * 4 * 1000


def test_common_random_numbers_across_points(toy):
    vals = np.array([[0.3, 0.1], [0.3, 0.1], [0.9, 0.1]])
    m, _ = point_outputs(toy, [FA, FB], vals, runs_per_point=500, seed=1, outputs=["p_war_horizon"])
    assert m[0, 0] == m[1, 0]                       # same parameters, same random numbers: same estimate
    assert m[2, 0] > m[0, 0]                        # a higher hazard never removes a war under CRN
    m2, _ = point_outputs(toy, [FA, FB], vals, runs_per_point=500, seed=1, outputs=["p_war_horizon"], common=False)
    assert m2[0, 0] != m2[1, 0]                     # independent streams: different estimates
    exact = 1 - np.exp(-0.4)
    assert abs(m[0, 0] - exact) < 4 * np.sqrt(exact * (1 - exact) / 500)


def test_tornado_swings_follow_the_hazard(toy):
    r = crisis_sensitivity(toy, method="morris", n=4, outputs=["p_war_horizon"], runs_per_point=2000, seed=5)
    t = r.tornado["p_war_horizon"]
    assert [x["factor"] for x in t] == [FA, FB]     # a's range is twice b's
    assert t[0]["output_high"] - t[0]["output_low"] == pytest.approx(np.exp(-0.25) * (1 - np.exp(-1.0)), abs=0.04)
    assert r.baseline["p_war_horizon"] == pytest.approx(1 - np.exp(-0.75), abs=0.04)


def test_parameter_uncertainty_intervals(toy):
    cf = _closed_form()
    u = parameter_uncertainty(toy, draws=200, runs_per_draw=200, seed=2, outputs=["p_war_horizon"])
    o = u["outputs"]["p_war_horizon"]
    lo, hi = o["mc_interval"]
    assert lo < cf["mean"] < hi and hi - lo < 0.05
    rng = np.random.default_rng(0)
    y = 1 - np.exp(-(rng.uniform(0, A_HI, 400000) + rng.uniform(0, B_HI, 400000)))
    q05, q95 = np.quantile(y, [0.05, 0.95])
    assert o["param_interval"][0] == pytest.approx(q05, abs=0.04)
    assert o["param_interval"][1] == pytest.approx(q95, abs=0.04)
    # the Monte Carlo noise of each draw's estimate is removed: the parameter spread is the function's
    assert o["param_sd"] == pytest.approx(y.std(), rel=0.15)
    assert 0.9 < o["param_share"] <= 1.0


def test_index_warnings_say_how_many_samples_are_needed():
    rows = [{"factor": "x", "S1": 0.1, "S1_conf": 0.2, "ST": 0.3, "ST_conf": 0.1},
            {"factor": "y", "S1": -0.05, "S1_conf": 0.04, "ST": 1.2, "ST_conf": 0.05}]
    w = index_warnings("sobol", rows, 64)
    assert any("wider than the index for x" in s for s in w)
    assert any("negative first-order index for y" in s for s in w)
    assert any("total index above 1 for y" in s for s in w)
    assert any("about N = 1024" in s for s in w)    # 64 × (0.2 / 0.05)² = 1024
    ok = [{"factor": "x", "S1": 0.6, "S1_conf": 0.03, "ST": 0.7, "ST_conf": 0.04}]
    assert index_warnings("sobol", ok, 1024) == []


def test_index_warnings_accept_a_small_index_known_to_the_target():
    # an index near zero (here a factor acting only through interactions, S1 ≈ 0) has an interval
    # wider than itself at any N; once that interval is within ±0.05 the index is known to be small
    small = [{"factor": "x", "S1": 0.01, "S1_conf": 0.024, "ST": 0.24, "ST_conf": 0.025}]
    assert index_warnings("sobol", small, 4096) == []
    # the same index with a half-width above the target still warns, and the N asked for is the
    # one that brings the half-width to the target: 1024 × (0.1 / 0.05)² = 4096
    wide = [{"factor": "x", "S1": 0.01, "S1_conf": 0.1, "ST": 0.24, "ST_conf": 0.025}]
    w = index_warnings("sobol", wide, 1024)
    assert any("wider than the index for x" in s for s in w) and any("about N = 4096" in s for s in w)
    # the threshold is the target half-width: just above it warns, at it does not
    assert index_warnings("sobol", [{**small[0], "S1_conf": 0.0501}], 4096) != []
    assert index_warnings("sobol", [{**small[0], "S1_conf": 0.05}], 4096) == []
    # a slightly negative first-order estimate whose interval holds zero and is within the target is
    # noise around a small index (the flagship's months of peace at N = 2048: −0.020); one whose
    # interval lies below zero, or is wider than the target, still warns
    assert index_warnings("sobol", [{**small[0], "S1": -0.02, "S1_conf": 0.03}], 2048) == []
    assert any("negative first-order index for x" in w
               for w in index_warnings("sobol", [{**small[0], "S1": -0.02, "S1_conf": 0.015}], 2048))
    assert any("negative first-order index for x" in w
               for w in index_warnings("sobol", [{**small[0], "S1": -0.02, "S1_conf": 0.06}], 2048))


def test_draw_assumptions_switch_draws_every_range(toy):
    from detente.crisis import run

    fixed = run(toy, {"runs": 20000}, seed=1)
    drawn = run(toy, {"runs": 20000, "set": {"settings.draw_assumptions": True}}, seed=1)
    # fixed: λ = 0.5 + 0.25; drawn: E[1 − e^{−a−b}] over the ranges (differs by ~0.04)
    assert fixed.p_war_by()[fixed.month_ends[-1].isoformat()] == pytest.approx(1 - np.exp(-0.75), abs=0.012)
    assert drawn.p_war_by()[drawn.month_ends[-1].isoformat()] == pytest.approx(_closed_form()["mean"], abs=0.012)
    from detente.crisis.engine import CrisisParams, compile_spec
    from detente.crisis.spec import load_spec

    spec = load_spec(toy.dynamics, extra={"settings.draw_assumptions": True})
    assert [d[0] for d in compile_spec(spec, CrisisParams()).drawn] == [FA, FB]


def test_cli_run_draw_assumptions_reports_both_intervals(tmp_path):
    import json

    from typer.testing import CliRunner

    from detente.cli import app

    r = CliRunner().invoke(app, ["run", str(TOY), "-n", "80000", "--draw-assumptions", "--param-draws", "400",
                                 "--mechanisms", "none", "--json"])
    assert r.exit_code == 0, r.output
    b = json.loads(r.output)["hypotheses"]["base"]
    u = b["uncertainty"]
    assert (u["draws"], u["runs_per_draw"], u["factors"], u["draw_assumptions"]) == (400, 200, 2, True)
    o = u["outputs"]["months_of_peace_focal"]       # one-month horizon: months of peace = 1 − P(war)/2
    assert o["value"] == b["outputs"]["months_of_peace_focal"]["value"]
    lo, hi = o["mc_interval"]
    exact = 1 - _closed_form()["mean"] / 2
    assert lo < exact < hi
    assert hi - lo == pytest.approx(2 * 1.959964 * b["outputs"]["months_of_peace_focal"]["se"])
    rng = np.random.default_rng(0)
    y = 1 - (1 - np.exp(-(rng.uniform(0, A_HI, 400000) + rng.uniform(0, B_HI, 400000)))) / 2
    assert o["param_interval"] == pytest.approx(list(np.quantile(y, [0.05, 0.95])), abs=0.02)
    r = CliRunner().invoke(app, ["run", str(TOY), "-n", "200", "--draw-assumptions", "--mechanisms", "none",
                                 "--out", str(tmp_path)])
    assert r.exit_code == 0, r.output
    md = (tmp_path / "toy-sobol.md").read_text()
    assert "months of peace for A: MC 95%" in md and "months of peace for A: parameters 90%" in md


def test_cli_sensitivity_on_a_crisis_scenario():
    import json

    from typer.testing import CliRunner

    from detente.cli import app

    r = CliRunner().invoke(app, ["sensitivity", str(TOY), "--samples", "128", "--runs-per-point", "500",
                                 "--output", "p_war_horizon", "--json"])
    assert r.exit_code == 0, r.output
    o = json.loads(r.output)
    assert o["factors"] == [FA, FB] and o["points"] == 128 * 4 and o["runs_per_point"] == 500
    rows = {x["factor"]: x for x in o["indices"]["p_war_horizon"]}
    assert rows[FA]["ST"] > rows[FB]["ST"]
    assert [t["factor"] for t in o["tornado"]["p_war_horizon"]] == [FA, FB]
    r = CliRunner().invoke(app, ["sensitivity", str(TOY), "--factor", "flashpoints[F].beta.rung", "--samples", "8"])
    assert r.exit_code == 2 and "--factor" in r.output and "no assumption range" in r.output
    r = CliRunner().invoke(app, ["sensitivity", str(TOY), "--samples", "4", "--runs-per-point", "20",
                                 "--output", "p_war_horizon"])
    assert r.exit_code == 0 and "warning:" in r.output and "would bring them to ±0.05" in r.output


def test_cli_sensitivity_writes_a_report_with_a_tornado_figure(tmp_path):
    from typer.testing import CliRunner

    from detente.cli import app

    r = CliRunner().invoke(app, ["sensitivity", str(TOY), "--samples", "32", "--runs-per-point", "200",
                                 "--output", "p_war_horizon", "--out", str(tmp_path)])
    assert r.exit_code == 0, r.output
    md = (tmp_path / "toy-sobol-sensitivity.md").read_text()
    assert f"| `{FA}` |" in md and "![tornado of p_war_horizon](toy-sobol-sensitivity-p_war_horizon.png)" in md
    assert (tmp_path / "toy-sobol-sensitivity-p_war_horizon.png").stat().st_size > 1000


def test_cli_run_sensitivity_section_in_the_report(tmp_path):
    import json

    from typer.testing import CliRunner

    from detente.cli import app

    r = CliRunner().invoke(app, ["run", str(TOY), "-n", "100", "--mechanisms", "none", "--sensitivity",
                                 "--sensitivity-samples", "256", "--out", str(tmp_path)])
    assert r.exit_code == 0, r.output
    md = (tmp_path / "toy-sobol.md").read_text()
    assert "## Sensitivity: which assumptions drive it" in md and f"| `{FA}` |" in md
    assert (tmp_path / "toy-sobol-sensitivity-months_of_peace_focal.png").is_file()
    r = CliRunner().invoke(app, ["run", str(TOY), "-n", "100", "--mechanisms", "none", "--sensitivity",
                                 "--sensitivity-samples", "64", "--json"])
    s = json.loads(r.output)["sensitivity"]
    assert s["method"] == "sobol" and s["factors"] == [FA, FB] and "no screening" in s["notes"][0]
    assert s["sample_size"] == 64 and s["points"] == 64 * (2 + 2)


def test_the_default_sobol_sample_is_the_one_measured_usable_on_the_flagship():
    """docs/crisis.md ('Speed'): N = 2048 is the smallest power of two measured whose indices raise no
    warning on seesaw-2021 (20 numbers, 32 runs per point); `run --sensitivity` uses it unless
    `--sensitivity-samples` says otherwise."""
    import inspect

    from detente.experiments.crisis_sensitivity import DEFAULT_SOBOL_N, screened_sobol

    assert DEFAULT_SOBOL_N == 2048
    assert inspect.signature(screened_sobol).parameters["n"].default == DEFAULT_SOBOL_N


@pytest.mark.parametrize(("given", "expected"), [(None, 2048), (64, 64)])
def test_run_sensitivity_samples_reach_the_sobol_study(given, expected, monkeypatch):
    """`run --sensitivity` hands `--sensitivity-samples` to the screened Sobol study, and the
    measured default N = 2048 when the option is not given."""
    import inspect

    from typer.testing import CliRunner

    import detente.experiments.crisis_sensitivity as cs
    from detente.cli import app

    seen: list[int] = []
    real_default = inspect.signature(cs.screened_sobol).parameters["n"].default

    def fake(scenario, *, n=real_default, **kw):  # the real function's default when n is not passed
        seen.append(n)
        raise RuntimeError("stop after the call")

    monkeypatch.setattr(cs, "screened_sobol", fake)
    args = ["run", str(TOY), "-n", "20", "--mechanisms", "none", "--sensitivity", "--json"]
    r = CliRunner().invoke(app, args + ([] if given is None else ["--sensitivity-samples", str(given)]))
    assert r.exit_code == 1 and "stop after the call" in r.output
    assert seen == [expected]


def test_an_output_constant_across_the_sample_is_flagged_not_read_as_zero_indices(toy):
    """With one run per point and common random numbers, P(war) is 0 at all 32 points of this
    sample (seed 3); SALib then returns all-zero indices, which must come with a warning that they
    are undefined, not read as 'no factor matters'. Seed 5 moves the output: no such warning."""
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        r = crisis_sensitivity(toy, outputs=["p_war_horizon"], n=8, runs_per_point=1, with_tornado=False, seed=3)
    assert not [w for w in caught if "SALib" in w.filename], "SALib's own warnings are replaced by ours"
    assert {row["S1"] for row in r.indices["p_war_horizon"]} == {0.0}
    assert r.warnings[0].startswith("p_war_horizon is 0 at every one of the 32 sample points")
    assert "steps of 1/1" in r.warnings[0]
    r = crisis_sensitivity(toy, outputs=["p_war_horizon"], n=8, runs_per_point=1, with_tornado=False, seed=5)
    assert not any("at every one of the" in w for w in r.warnings)


def test_constant_output_warning():
    from detente.experiments.sensitivity import constant_output_warning

    assert constant_output_warning([0.1] * 5, "x").startswith("x is 0.1 at every one of the 5 sample points")
    assert "1/32" in constant_output_warning([0.0] * 4, "x", runs_per_point=32)
    assert constant_output_warning([0.1, 0.1, 0.2], "x") is None
    assert constant_output_warning([], "x") is None
