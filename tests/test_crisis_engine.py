"""Crisis engine: vectorised kernels vs the scalar theory, spec property tests, determinism,
validation, and the ``detente run --json`` contract (small run counts only)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from detente import examples
from detente.crisis import CrisisParams, load_spec, run
from detente.crisis import kernels as K
from detente.errors import InputError

theory = pytest.importorskip("detente.crisis.theory")

D_M = 0.9 ** (1 / 12)
TOT = 1 / (1 - D_M)


@pytest.fixture(scope="module")
def scn():
    return examples.load("seesaw-2021")


def _t5_path(T=60):
    t = np.arange(T)
    return np.where(t <= 36, 0.60 - 0.002 * t, 0.35)


def _batch_first(p, kD, kR, phi):
    p = np.asarray(p, float)
    P = p[:, None] if p.ndim == 1 else p
    n = P.shape[1]
    cD = np.broadcast_to(np.asarray(kD, float) / (1 - D_M), (n,))
    cR = np.broadcast_to(np.asarray(kR, float) / (1 - D_M), (n,))
    MD = P * TOT - cD
    MR = (1 - P) * TOT - cR
    return K.markov_path_batch(MD, MR, delta=D_M, tot=TOT, C=cD + cR, phi=np.broadcast_to(phi, (n,)))


# ------------------------------------------------------------------ kernels = theory
@pytest.mark.parametrize("kappa,phi,expected", [(0.05, 0.0, 36), (0.05, 1.0, 36), (0.10, 0.5, 36), (0.10, 1.0, None)])
def test_markov_batch_reproduces_T5(kappa, phi, expected):
    f = _batch_first(_t5_path(), kappa, kappa, phi)[0]
    assert (None if f < 0 else int(f)) == expected


def test_markov_batch_equals_scalar_theory_on_random_paths():
    rng = np.random.default_rng(3)
    L, n = 30, 40
    steps = rng.uniform(-0.02, 0.01, (L, n))
    steps[rng.integers(5, 25, n), np.arange(n)] -= rng.uniform(0, 0.3, n)
    P = np.clip(0.6 + np.cumsum(steps, axis=0), 0.01, 0.99)
    kD, kR, phi = rng.uniform(0.02, 0.2, n), rng.uniform(0.02, 0.2, n), rng.uniform(0, 1, n)
    got = _batch_first(P, kD, kR, phi)
    for i in range(n):
        date, _ = theory.markov_path(P[:, i], D_M, kD[i] / (1 - D_M), kR[i] / (1 - D_M), phi[i])
        assert (-1 if date is None else date) == got[i]


def test_fused_preventive_kernel_equals_path_kernel():
    rng = np.random.default_rng(5)
    n, L = 64, 40
    ratio = rng.uniform(0.3, 3, n)
    drift = rng.uniform(-0.004, 0, n)
    cliff = rng.integers(1, L, n).astype(float)
    size = rng.uniform(0, 0.3, n)
    kD, kR, phi = rng.uniform(0.02, 0.2, n), rng.uniform(0.02, 0.2, n), rng.uniform(0, 1, n)
    g = 0.002
    k = np.arange(L)[:, None]
    P = 1 / (1 + ratio * np.exp(g * k)) + drift * k - size * (k >= cliff)
    P = np.clip(P, 1e-4, 1 - 1e-4)
    want = _batch_first(P, kD, kR, phi)
    got = K.preventive_first_war(ratio, g, drift, cliff, size, L=L, delta=D_M, c_D=kD / (1 - D_M),
                                 c_R=kR / (1 - D_M), phi=phi)
    np.testing.assert_array_equal(got, want)


def test_other_kernels_equal_theory():
    assert float(K.risk_return_pwar(0.5, 0.1, 0.4)) == pytest.approx(theory.risk_return(0.5, 0.1, 0.4).p_war, abs=1e-12)
    assert float(K.leak_posterior(0.8, 0.9, 0.4)) == pytest.approx(theory.leak_posterior(0.8, 0.9, 0.4), abs=1e-12)
    for T, s in ((3, 0.0), (3, 0.5), (2, 0.0)):
        assert float(K.stag_hunt_mu_star(4, T + s, 1, 0)) == pytest.approx(theory.stag_hunt_threshold(4, T, 1, 0, s), abs=1e-12)
    ag = theory.abreu_gul(0.1, 0.1, 0.6, 0.6, 0.1, 0.2)
    l1, l2 = K.abreu_gul_rates(0.6, 0.6, 0.1, 0.1)
    assert (float(l1), float(l2)) == pytest.approx((0.2, 0.2))
    assert float(l1) == pytest.approx(getattr(ag, "lambda_1", 0.2))
    a, out = 0.0, []
    for _ in range(24):
        a = float(K.group_step(np.array(a), np.array(True), np.array(False), 0.1, 0.0, 0.0))
        out.append(a)
    assert out[11] == pytest.approx(0.71757, abs=1e-5) and out[23] == pytest.approx(0.920234, abs=1e-6)


def test_competing_risks_discrete_T19b():
    h = np.array([0.03, 0.01, 0.005])
    surv, first_ua = 1.0, 0.0
    for _ in range(48):
        p_any, shares = K.competing_risks_step(h)
        first_ua += surv * shares[0]
        surv *= 1 - p_any
    assert 1 - surv == pytest.approx(0.887529, abs=1e-6)
    assert first_ua == pytest.approx(0.591686, abs=1e-6)


# ------------------------------------------------------------------ property tests (spec §9.5)
def test_more_commitment_or_cost_never_brings_forced_war_earlier():
    rng = np.random.default_rng(11)
    L, n = 48, 300
    ratio = rng.uniform(0.3, 3, n)
    drift = rng.uniform(-0.006, 0.0, n)
    cliff = rng.integers(1, L, n).astype(float)
    size = rng.uniform(0, 0.4, n)
    kD, kR, phi = rng.uniform(0.01, 0.2, n), rng.uniform(0.01, 0.2, n), rng.uniform(0, 0.9, n)

    def first(kd, kr, ph):
        f = K.preventive_first_war(ratio, 0.001, drift, cliff, size, L=L, delta=D_M, c_D=kd / (1 - D_M),
                                   c_R=kr / (1 - D_M), phi=ph)
        return np.where(f < 0, 10**6, f)

    base = first(kD, kR, phi)
    assert np.all(first(kD, kR, np.minimum(phi + rng.uniform(0, 0.5, n), 1)) >= base)
    assert np.all(first(kD + rng.uniform(0, 0.1, n), kR, phi) >= base)
    assert np.all(first(kD, kR + rng.uniform(0, 0.1, n), phi) >= base)


def test_competing_risk_shares_sum_to_total():
    rng = np.random.default_rng(2)
    h = rng.uniform(0, 0.6, (1000, 3))
    p_any, shares = K.competing_risks_step(h)
    np.testing.assert_allclose(shares.sum(axis=1), p_any, rtol=0, atol=1e-14)
    np.testing.assert_allclose(p_any, 1 - np.prod(1 - h, axis=1), atol=1e-14)


def test_engine_first_war_incidence_sums_to_total(scn):
    res = run(scn, {"runs": 300, "horizon_months": 12, "hypothesis": "combined"}, seed=4)
    tot = res.p_war_by()
    per = res.p_war_by_flashpoint()
    for d, p in tot.items():
        assert sum(per[f][d] for f in per) == pytest.approx(p, abs=1e-12)
        assert sum(v[d] for v in res.p_war_by_initiator().values()) == pytest.approx(p, abs=1e-12)


def test_posterior_equals_prior_for_uninformative_leak():
    mu = np.linspace(0.01, 0.99, 50)
    np.testing.assert_allclose(K.leak_posterior(mu, 0.7, 0.7), mu, atol=1e-15)
    assert theory.leak_posterior(0.8, 0.9, 0.9) == pytest.approx(0.8)


def test_risk_return_in_zero_half():
    rng = np.random.default_rng(0)
    pw = K.risk_return_pwar(rng.uniform(0, 1, 1000), rng.uniform(0, 1, 1000), rng.uniform(0.01, 2, 1000))
    assert pw.min() >= 0 and pw.max() <= 0.5


def test_more_groups_never_raise_hazard(scn):
    """Channel 2 of expert groups: damping exp(-θ Σa) with θ ≥ 0 only lowers λ (same runs)."""
    a = run(scn, {"runs": 200, "horizon_months": 6, "set": {"flashpoints[UA].beta.groups": 0.0}}, seed=9)
    b = run(scn, {"runs": 200, "horizon_months": 6, "set": {"flashpoints[UA].beta.groups": 0.4}}, seed=9)
    assert b.hazard[:, 0, 0].mean() <= a.hazard[:, 0, 0].mean() + 1e-12


# ------------------------------------------------------------------ determinism
def test_same_seed_same_bytes(scn):
    p = {"runs": 150, "horizon_months": 8, "chunk_size": 64}
    a, b = run(scn, p, seed=123), run(scn, p, seed=123)
    for name in ("onset_step", "onset_initiator", "first_step", "split_step", "agree_step", "hazard", "rc_alignment"):
        assert getattr(a, name).tobytes() == getattr(b, name).tobytes()
    c = run(scn, {**p, "workers": 2}, seed=123)
    assert a.hazard.tobytes() == c.hazard.tobytes() and a.first_step.tobytes() == c.first_step.tobytes()
    d = run(scn, p, rng=np.random.default_rng(5))
    assert d.root_seed == run(scn, p, rng=np.random.default_rng(5)).root_seed


def test_weekly_step_runs(scn):
    res = run(scn, {"runs": 100, "horizon_months": 3, "step": "week"}, seed=1)
    assert res.step == "week" and len(res.p_war_by()) == 3
    assert 0 <= res.p_war_by()["2022-02-28"] <= 1


# ------------------------------------------------------------------ validation
def test_shipped_scenario_every_number_annotated(scn):
    spec = load_spec(scn.dynamics)
    items = spec.num_items()
    assert len(items) > 200
    for path, num in items:
        assert num.source or num.assumption or num.calibrated, path
    for h in spec.hypotheses:
        load_spec(scn.dynamics, hypothesis=h)
    assert {"article", "ru_preventive", "private_info", "ally_moral_hazard"} <= set(spec.hypotheses)


def test_unannotated_number_is_an_error(scn):
    dyn = dict(scn.dynamics)
    dyn["settings"] = {**dyn["settings"], "delta_annual": {"value": 0.9}}
    with pytest.raises(InputError) as ei:
        load_spec(dyn, file="x.yaml")
    p = ei.value.problems[0]
    assert p.file == "x.yaml" and "delta_annual" in p.column and "annotated" in p.message


def test_bad_hypothesis_path_names_the_path(scn):
    with pytest.raises(InputError) as ei:
        run(scn, {"runs": 10, "set": {"flashpoints[XX].base_hazard_m": 0.1}}, seed=1)
    assert "flashpoints[XX].base_hazard_m" in str(ei.value)
    with pytest.raises(InputError):
        run(scn, {"runs": 10, "hypothesis": "nope"}, seed=1)


# ------------------------------------------------------------------ JSON contract and back-test
def test_run_hypotheses_json_contract(scn):
    import json

    from detente.crisis.analysis import run_hypotheses

    obj = run_hypotheses(scn, hypotheses=["article", "ru_preventive"], runs=200, seed=7, cf_runs=100,
                         mechanisms=["seesaw", "ru_window"])
    json.dumps(obj, allow_nan=False)
    assert {"scenario", "runs", "seed", "hypotheses"} <= set(obj)
    art = obj["hypotheses"]["article"]
    for key in ("p_war_by", "p_war_by_flashpoint", "p_war_by_initiator", "p_no_war_ru_48", "months_of_peace_ru_48",
                "backtest"):
        assert key in art
    assert "2022-02-28" in art["p_war_by"] and next(iter(art["p_war_by"])) == "2021-12-31"
    assert set(art["p_war_by_flashpoint"]) == {"UA", "TW", "BY-PL"}
    bt = art["backtest"]
    assert {"brier", "log_score", "events"} <= set(bt)
    # the article lets only the US side start wars: Russia never initiates, so no run reproduces the
    # record; at 200 runs the Bayes factor against the best hypothesis run (combined was not run) is
    # only bounded, so the verdict is "undecided" (issue 15: it is "rejected" at 20,000 runs)
    assert bt["events"]["initiator_RU"] == 0.0 and bt["likelihood"]["hits"] == 0
    assert obj["reference"] == "ru_preventive" and bt["verdict"] == "undecided" and not bt["rejected"]
    assert "RU" not in art["p_war_by_initiator"]
    assert obj["hypotheses"]["ru_preventive"]["backtest"]["brier"] < bt["brier"]
    cf = art["counterfactuals"]
    assert set(cf) == {"stalling", "seesaw"} and "months_gained" in cf["stalling"]
    mm = art["mechanisms"]
    assert set(mm) == {"seesaw", "ru_window"} and art["mechanism_runs"] == 100
    assert {"switch", "effects", "inert_reason"} <= set(mm["seesaw"])
    assert {"with", "without", "diff", "se"} == set(mm["seesaw"]["effects"]["p_war_horizon"])
    assert mm["ru_window"]["inert_reason"].startswith("absent from hypothesis 'article'")
    assert [c["id"] for c in obj["claims"]] == ["seesaw", "shifting_power", "stalling", "allies", "weakest_link"]


def test_fast_preventive_path_equals_full_pass():
    """The tail shortcut (cliff-only rows) gives the full backward pass's dates exactly."""
    rng = np.random.default_rng(17)
    for _ in range(40):
        n, L = 400, int(rng.integers(3, 60))
        ratio = rng.uniform(0.1, 5, n)
        drift = rng.uniform(-0.006, 0.002, n) * rng.integers(0, 2, n)
        cliff = rng.uniform(-5, L + 5, n)
        size = rng.uniform(-0.1, 0.5, n)
        kD, kR, phi = rng.uniform(0.0, 0.3, n), rng.uniform(0.0, 0.3, n), rng.uniform(0, 1, n)
        g = float(rng.uniform(-0.01, 0.01))
        kw = dict(L=L, delta=D_M, c_D=kD / (1 - D_M), c_R=kR / (1 - D_M), phi=phi)
        np.testing.assert_array_equal(K.preventive_first_war(ratio, g, drift, cliff, size, **kw),
                                      K.preventive_first_war(ratio, g, drift, cliff, size, fast=False, **kw))


def test_binomial_small_matches_distribution():
    from detente.crisis.engine import _binomial_small

    rng = np.random.default_rng(1)
    k = np.full(200_000, 3)
    x = _binomial_small(k, 0.4, rng.random(k.size))
    freq = np.bincount(x, minlength=4) / k.size
    want = [math.comb(3, i) * 0.4**i * 0.6 ** (3 - i) for i in range(4)]
    np.testing.assert_allclose(freq, want, atol=0.005)
    assert _binomial_small(np.zeros(5, int), 0.5, rng.random(5)).sum() == 0


def test_calibrated_numbers_come_from_the_shipped_file(scn):
    import json

    from detente.crisis.engine import compile_spec
    from detente.crisis.spec import CALIBRATION_PATH

    spec = load_spec(scn.dynamics)
    c = compile_spec(spec, CrisisParams())
    assert not any("not available" in n for n in c.notes)
    assert any("calibration.json" in n for n in c.notes)
    cal = json.loads(CALIBRATION_PATH.read_text(encoding="utf-8"))
    checked = 0
    for path, num in spec.num_items():
        if not num.calibrated:
            continue
        leaf = cal
        for part in num.calibrated.split("."):
            leaf = leaf[part]
        want = leaf["value"] if isinstance(leaf, dict) else leaf
        assert c.fixed[path] == want, (path, num.calibrated)          # the file's number, bit for bit
        checked += 1
    assert checked == 27
    assert c.fixed["actors.RU.growth_m"] < 0 < c.fixed["actors.CN.growth_m"]   # CINC shares 2010–2020
    assert c.fixed["actors.RU.growth_m"] == cal["cinc"]["growth_m"]["RU"]
    assert c.fixed["flashpoints[UA].base_hazard_m"] == cal["base_hazard_m"]["UA"]["value"]
    art = compile_spec(load_spec(scn.dynamics, hypothesis="article"), CrisisParams())
    assert art.fixed["actors.RU.growth_m"] > 0 and art.fixed["actors.CN.growth_m"] > 0  # the article's assumption


def test_crisis_docstrings_cite_existing_test_files():
    """Docstrings of the crisis modules point readers at test files; those files must exist."""
    import pathlib
    import re

    root = pathlib.Path(__file__).resolve().parents[1]
    cited = set()
    for py in (root / "src" / "detente" / "crisis").glob("*.py"):
        cited |= set(re.findall(r"tests/test_\w+\.py", py.read_text(encoding="utf-8")))
    assert cited, "no test file cited (the kernels docstring cites its cross-tests)"
    missing = sorted(t for t in cited if not (root / t).is_file())
    assert not missing, missing


# ------------------------------------------------------------------ per-run contest trend (drawn m)
def _random_rows(seed, n=300, L=40):
    rng = np.random.default_rng(seed)
    return dict(ratio=rng.uniform(0.3, 3, n), g=rng.uniform(-0.01, 0.02, n), drift=rng.uniform(-0.004, 0, n),
                cliff=rng.integers(1, L, n).astype(float), size=rng.uniform(0, 0.3, n),
                kD=rng.uniform(0.02, 0.2, n), kR=rng.uniform(0.02, 0.2, n), phi=rng.uniform(0, 1, n), L=L)


def test_preventive_kernel_with_per_row_trend_equals_scalar_theory():
    """``gdiff`` as an array (one trend per run): each row equals theory.markov_path on its own path."""
    r = _random_rows(21)
    L, n = r["L"], r["ratio"].size
    kw = dict(L=L, delta=D_M, c_D=r["kD"] / (1 - D_M), c_R=r["kR"] / (1 - D_M), phi=r["phi"])
    got = K.preventive_first_war(r["ratio"], r["g"], r["drift"], r["cliff"], r["size"], **kw)
    full = K.preventive_first_war(r["ratio"], r["g"], r["drift"], r["cliff"], r["size"], fast=False, **kw)
    np.testing.assert_array_equal(got, full)
    k = np.arange(L)
    for i in range(n):
        p = 1 / (1 + r["ratio"][i] * np.exp(r["g"][i] * k)) + r["drift"][i] * k - r["size"][i] * (k >= r["cliff"][i])
        p = np.clip(p, 1e-4, 1 - 1e-4)
        date, _ = theory.markov_path(p, D_M, r["kD"][i] / (1 - D_M), r["kR"][i] / (1 - D_M), r["phi"][i])
        assert (-1 if date is None else date) == got[i], i
    assert len(set(got.tolist())) > 3           # the rows are not all peaceful


def test_preventive_kernel_per_row_trend_equals_row_by_row_scalar_calls():
    r = _random_rows(22, n=200)
    kw = dict(L=r["L"], delta=D_M)
    got = K.preventive_first_war(r["ratio"], r["g"], r["drift"], r["cliff"], r["size"], c_D=r["kD"] / (1 - D_M),
                                 c_R=r["kR"] / (1 - D_M), phi=r["phi"], **kw)
    for i in range(r["ratio"].size):
        sl = slice(i, i + 1)
        one = K.preventive_first_war(r["ratio"][sl], float(r["g"][i]), r["drift"][sl], r["cliff"][sl], r["size"][sl],
                                     c_D=r["kD"][sl] / (1 - D_M), c_R=r["kR"][sl] / (1 - D_M), phi=r["phi"][sl], **kw)
        assert one[0] == got[i], i
    # a constant array gives the scalar answer
    same = K.preventive_first_war(r["ratio"], np.full(r["ratio"].size, 0.004), r["drift"], r["cliff"], r["size"],
                                  c_D=r["kD"] / (1 - D_M), c_R=r["kR"] / (1 - D_M), phi=r["phi"], **kw)
    scal = K.preventive_first_war(r["ratio"], 0.004, r["drift"], r["cliff"], r["size"],
                                  c_D=r["kD"] / (1 - D_M), c_R=r["kR"] / (1 - D_M), phi=r["phi"], **kw)
    np.testing.assert_array_equal(same, scal)


def test_engine_passes_each_runs_contest_exponent_to_the_growth_trend(scn, monkeypatch):
    """With ``m`` drawn per run the trend ``m(g_R − g_D)`` used to be the average m's."""
    from detente.crisis import engine as E

    calls = []
    real = K.preventive_first_war

    def spy(ratio, gdiff, *a, **kw):
        calls.append((ratio.size, np.array(gdiff, dtype=float, copy=True)))
        return real(ratio, gdiff, *a, **kw)

    monkeypatch.setattr(E.K, "preventive_first_war", spy)
    m = {"value": 1.0, "assumption": {"range": [0.5, 2.0], "draw": "uniform"}}
    sets = {"dyads[US-CN].exponent": m, "actors.CN.growth_m": 0.004, "actors.US.growth_m": 0.0}
    run(scn, {"runs": 200, "horizon_months": 2, "hypothesis": "article", "set": sets}, seed=3)
    g_cn = [gd for size, gd in calls if gd.ndim == 1 and gd.size == size and gd.size > 1]
    assert g_cn, "the US>CN direction must be evaluated with one trend per run"
    for gd in g_cn:
        ms = np.abs(gd) / 0.004                     # |m (g_CN − g_US)| / 0.004 = m
        assert ms.min() >= 0.5 - 1e-12 and ms.max() <= 2.0 + 1e-12 and ms.std() > 0.1
