"""Closed forms of the crisis mechanisms (spec §3–§8) against conformance/crisis/closed_forms.csv.

Every row of the CSV is checked at its tolerance: from the repository's own copy
(``tests/fixtures/crisis/closed_forms.csv``, always) and from ``../shared`` (skipped when
absent). Property tests (hypothesis) cover the spec's §9.5 properties.
"""

from __future__ import annotations

import csv
import json
import math
import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from detente.crisis import theory as th

LOCAL_CSV = Path(__file__).resolve().parent / "fixtures" / "crisis" / "closed_forms.csv"

# p-path formulas used by the CSV (``p_path`` objects with ``formula`` and inclusive ``t_range``)
FORMULAS = {
    "p_t = 0.60 - 0.002*t for t <= 36, p_t = 0.35 for t > 36":
        lambda t: 0.60 - 0.002 * t if t <= 36 else 0.35,
    "p_t = 0.60 - 0.002*t": lambda t: 0.60 - 0.002 * t,
    "p_t = max(0.60 - 0.005*t, 0.05)": lambda t: max(0.60 - 0.005 * t, 0.05),
}


def read_rows(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def build_path(spec) -> np.ndarray:
    if isinstance(spec, list):
        return np.asarray(spec, dtype=float)
    f = FORMULAS.get(spec["formula"])
    assert f is not None, f"unknown p_path formula {spec['formula']!r}: add it to FORMULAS"
    lo, hi = spec["t_range"]
    return np.array([f(t) for t in range(lo, hi + 1)])


def cost_kwargs(inp: dict) -> dict:
    if inp["cost_kind"].startswith("flow"):
        return {"cost_kind": "flow", "kappa_D": inp["kappa_D"], "kappa_R": inp["kappa_R"]}
    assert inp["cost_kind"] == "lump_sum"
    return {"cost_kind": "lump_sum", "c_D": inp["c_D"], "c_R": inp["c_R"]}


def _none_if_nan(x):
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else float(x)


def compute(model: str, inp: dict) -> dict:
    """Run the theory function a CSV row names; return outputs under the CSV's keys."""
    if model == "fearon_bargaining_range":
        lo, hi = th.fearon_bargaining_range(inp["p"], inp["c_A"], inp["c_B"])
        return {"lo": lo, "hi": hi}
    if model == "risk_return":
        x, pw = th.risk_return(inp["p"], inp["c_A"], inp["c_bar"])
        return {"x_star": x, "p_war": pw,
                "eu_A": th.risk_return_payoff(inp["p"], inp["c_A"], inp["c_bar"])}
    if model == "preventive_war":
        w = th.preventive_war(build_path(inp["p_path"]), delta=inp["delta"], phi=inp["phi"],
                              **cost_kwargs(inp))
        offers = {f"offer_{t}": _none_if_nan(w.offers[t]) for t in range(len(w.offers) - 1)}
        return {"war_date": w.war_date, "war_date_markov": w.war_date,
                "protocol_free_gap_t0": float(w.protocol_free_gap[0]),
                "protocol_free_war_t0": bool(w.protocol_free_gap[0] > 0),
                "offer_t0": _none_if_nan(w.offers[0]), "offer_tail": w.offer_tail, **offers}
    if model == "preventive_war_threshold":
        t = th.preventive_war_threshold(inp["p0"], delta=inp["delta"], **cost_kwargs(inp))
        return {"delta_p_star_markov": t.markov, "delta_p_star_protocol_free": t.protocol_free}
    if model == "preventive_war_one_step":
        c = th.preventive_war_one_step(build_path(inp["p_path"]), delta=inp["delta"], t=inp["t"])
        return {"lhs": c.lhs, "kappa_star_symmetric": c.kappa_star_symmetric}
    if model == "preventive_war_continuous_approx":
        out = {"rhs_1_minus_p_plus_kappa": 1.0 - inp["p"] + inp["kappa"]}
        for pd in inp["pdot"]:
            a = th.preventive_war_continuous_approx(inp["p"], pd, delta=inp["delta"],
                                                    kappa=inp["kappa"])
            out["r_month"] = a.r
            out[f"pdot_over_r_{pd}"] = a.pdot_over_r
            out["rhs_1_minus_p_plus_kappa"] = a.rhs
        return out
    if model == "preventive_war_phi_scan":
        assert inp["phi_grid"] == "linspace(0, 1, 1001)"
        return {"smallest_peaceful_phi": th.preventive_war_phi_scan(
            build_path(inp["p_path"]), delta=inp["delta"], **cost_kwargs(inp))}
    if model == "rubinstein":
        return {"x_1": th.rubinstein(inp["delta_1"], inp["delta_2"])}
    if model == "rubinstein_continuous":
        s1, s2 = th.rubinstein_continuous(inp["r_1"], inp["r_2"])
        return {"share_1": s1, "share_2": s2}
    if model == "outside_option":
        prop, resp = th.outside_option(inp["delta"], inp["w_responder"])
        return {"proposer": prop, "responder": resp}
    if model == "stahl_finite_horizon":
        return {"x_1": th.stahl_finite_horizon(inp["delta"], inp["T"])}
    if model == "abreu_gul":
        g = th.abreu_gul(inp["r_1"], inp["r_2"], inp["a_1"], inp["a_2"], inp["z_1"], inp["z_2"])
        return {k: getattr(g, k) for k in ("lambda_1", "lambda_2", "T_1", "T_2", "T_star",
                                           "c_1", "c_2")}
    if model == "war_of_attrition":
        return th.war_of_attrition(inp["V"], inp["c"], inp["t"])._asdict()
    if model == "stag_hunt_threshold":
        # the CSV's T already includes the side payment (T = 3 + s); do not add s twice
        return {"mu_star": th.stag_hunt_threshold(inp["R"], inp["T"], inp["P"], inp["S"])}
    if model == "leak_bayes":
        return {"posterior": th.leak_bayes(inp["mu0"], inp["a"], inp["b"])}
    if model == "persuasion_bound":
        return {"max_p_defect": th.persuasion_bound(inp["mu0"], inp["mu_star"])}
    if model == "crawford_sobel_partition":
        return {"N": th.crawford_sobel_partition(inp["bias"])}
    if model == "triangle_scores":
        s = th.triangle_scores(inp["sign_US_RU"], inp["sign_US_CN"], inp["sign_RU_CN"])
        return {"balanced": s.balanced, "own_ties": s.own_ties, "wu_style": s.wu_style}
    if model == "balance_dynamics":
        names = inp["order"]
        b = th.balance_dynamics(inp["X0"])
        a, c = (", ".join(names[i] for i in camp) for camp in b.camps)
        out = {"lambda_max": b.lambda_max, "t_star": b.t_star, "camps": f"{{{a}}} vs {{{c}}}"}
        if "t_value" in inp:
            X = b.at(inp["t_value"])
            for i, j in ((0, 1), (0, 2), (1, 2)):
                out[f"X_{names[i]}_{names[j]}"] = float(X[i, j])
        return out
    if model == "richardson":
        return th.richardson(**{k: inp[k] for k in "klabgh"})._asdict()
    if model == "cumulative_hazard":
        return {"p_war_by_T": th.cumulative_hazard(inp["h_month"], inp["months"])}
    if model == "competing_risks_continuous":
        c = th.competing_risks_continuous(inp["rates"], inp["T"])
    elif model == "competing_risks_discrete":
        c = th.competing_risks_discrete(inp["monthly_probs"], inp["months"])
    elif model == "wedge_affordability":
        return th.wedge_affordability(inp["u_align"], inp["u_neutral"], inp["B_D"])._asdict()
    elif model == "expert_group_progress":
        assert inp["meets_every_month"]
        a = th.expert_group_progress(24, eta=inp["eta"], a0=inp["a0"])
        return {"a_12": float(a[12]), "a_24": float(a[24])}
    elif model == "expert_group_hazard_damping":
        return {"multiplier": th.expert_group_hazard_damping(inp["theta"], inp["g"])}
    elif model == "expert_group_momentum":
        return {f"h_n{n}": th.expert_group_momentum(inp["h0"], inp["gamma"], n) for n in inp["n"]}
    else:
        raise AssertionError(f"no theory function for CSV model {model!r}")
    out = {"p_any": c.p_any}
    for k in c.p_first:
        out[f"share_{k}"] = c.shares[k]
        out[f"p_first_{k}"] = c.p_first[k]
    return out


def parse_tolerance(text: str) -> float | None:
    """Leading float of the ``tolerance`` cell; ``None`` for ``exact``."""
    m = re.match(r"\s*([0-9.]+e-?[0-9]+)", text)
    if m:
        return float(m.group(1))
    assert text.startswith("exact"), f"unreadable tolerance {text!r}"
    return None


def assert_close(key, got, want, tol):
    if isinstance(want, dict):
        assert isinstance(got, dict) and set(got) == set(want), (key, got, want)
        for k in want:
            assert_close(f"{key}.{k}", got[k], want[k], tol)
    elif want is None or isinstance(want, (bool, str)) or (isinstance(want, int) and not isinstance(got, float)):
        assert got == want, f"{key}: got {got!r}, expected {want!r}"
    else:
        assert got is not None, f"{key}: got None, expected {want!r}"
        if tol is None:
            assert got == want, f"{key}: got {got!r}, expected exactly {want!r}"
        else:
            assert abs(got - want) <= tol, f"{key}: got {got!r}, expected {want!r} ± {tol}"


def check_row(row: dict) -> None:
    inp = json.loads(row["inputs"])
    expected = json.loads(row["expected"])
    tol = parse_tolerance(row["tolerance"])
    got = compute(row["model"], inp)
    for key, want in expected.items():
        assert key in got, f"{row['id']}: output {key!r} not produced"
        assert_close(f"{row['id']}.{key}", got[key], want, tol)


LOCAL_ROWS = read_rows(LOCAL_CSV)


def test_local_copy_has_all_rows():
    assert len(LOCAL_ROWS) == 67


@pytest.mark.parametrize("row", LOCAL_ROWS, ids=[r["id"] for r in LOCAL_ROWS])
def test_closed_form_row(row):
    check_row(row)


@pytest.mark.shared
def test_shared_closed_forms(shared):
    path = shared / "conformance" / "crisis" / "closed_forms.csv"
    if not path.is_file():
        pytest.skip(f"{path} not found")
    rows = read_rows(path)
    failures = []
    for row in rows:
        try:
            check_row(row)
        except AssertionError as exc:
            failures.append(f"{row['id']}: {exc}")
    assert not failures, "\n".join(failures)


# ---------------------------------------------------------------------------------------
# cross-checks and specific behaviour
# ---------------------------------------------------------------------------------------

T5_PATH = np.array([0.60 - 0.002 * t if t <= 36 else 0.35 for t in range(60)])
D_M = 0.9 ** (1 / 12)


def test_balance_dynamics_ode_agrees():
    from scipy.integrate import solve_ivp

    X0 = np.array([[0.0, -0.3, -0.2], [-0.3, 0.0, 0.5], [-0.2, 0.5, 0.0]])
    b = th.balance_dynamics(X0)
    t1 = 0.9 * b.t_star
    sol = solve_ivp(lambda t, y: (y.reshape(3, 3) @ y.reshape(3, 3)).ravel(), (0, t1),
                    X0.ravel(), rtol=1e-11, atol=1e-12)
    assert np.allclose(sol.y[:, -1].reshape(3, 3), b.at(t1), atol=1e-6)


def test_naive_full_commitment_is_wrong_on_t5():
    """Spec §4.3 caution: carrying S and R_min puts the κ = 0.05, φ = 1 war in month 36."""
    w = th.preventive_war(T5_PATH, delta=D_M, kappa_D=0.05, kappa_R=0.05, phi=1.0)
    assert w.war_date == 36
    assert w.war[36] and not w.war[:36].any()
    assert w.pressure[36] > 0


def test_risk_return_grid_search():
    p, c_A, c_bar = 0.5, 0.1, 0.4
    xs = np.linspace(p, 1.0, 50001)
    eu = [th.risk_return_payoff(p, c_A, c_bar, x) for x in xs]
    assert abs(xs[int(np.argmax(eu))] - th.risk_return(p, c_A, c_bar).x_star) < 1e-4


def test_markov_path_signature_and_flow_equivalence():
    c = th.flow_to_lump_sum(0.1, D_M)
    date, offers = th.markov_path(T5_PATH, D_M, c, c, 0.0)
    w = th.preventive_war(T5_PATH, delta=D_M, kappa_D=0.1, kappa_R=0.1)
    assert date == w.war_date == 36
    np.testing.assert_array_equal(offers, w.offers)


def test_phi_scan_matches_scalar_recursion():
    phi = th.preventive_war_phi_scan(T5_PATH, delta=D_M, kappa_D=0.1, kappa_R=0.1)
    assert th.preventive_war(T5_PATH, delta=D_M, kappa_D=0.1, kappa_R=0.1, phi=phi).peaceful
    below = round(phi - 0.001, 3)
    assert not th.preventive_war(T5_PATH, delta=D_M, kappa_D=0.1, kappa_R=0.1, phi=below).peaceful


def test_cost_kind_must_match_arguments():
    with pytest.raises(ValueError):
        th.preventive_war([0.6, 0.5], delta=0.9, c_D=0.1, c_R=0.1)  # default flow
    with pytest.raises(ValueError):
        th.preventive_war([0.6, 0.5], delta=0.9, kappa_D=0.1, kappa_R=0.1, cost_kind="lump_sum")
    with pytest.raises(ValueError):
        th.preventive_war([0.6, 1.5], delta=0.9, kappa_D=0.1, kappa_R=0.1)


def test_side_payment_argument():
    assert th.stag_hunt_threshold(4, 3, 1, 0, s=0.5) == pytest.approx(2 / 3, abs=1e-12)
    assert th.stag_hunt_threshold(4, 3, 1, 0, s=1.5) == math.inf


def test_landscape_minimum_enumerates():
    # two friendly pairs hostile to each other split into {0, 1} vs {2, 3}
    P = -np.ones((4, 4))
    P[0, 1] = P[1, 0] = P[2, 3] = P[3, 2] = 1
    labels, e = th.landscape_minimum([1, 1, 1, 1], P)
    assert labels == (0, 0, 1, 1) and e == -4.0


def test_competing_risks_discrete_time_varying():
    h = {"A": [0.1, 0.0], "B": [0.0, 0.2]}
    c = th.competing_risks_discrete(h, 2)
    assert c.p_first["A"] == pytest.approx(0.1)
    assert c.p_first["B"] == pytest.approx(0.9 * 0.2)


# ---------------------------------------------------------------------------------------
# property tests (spec §9.5)
# ---------------------------------------------------------------------------------------

def _war(w):
    return math.inf if w.war_date is None else w.war_date


@st.composite
def declining_paths(draw):
    """Non-increasing p paths (D is the declining side), with drift and possibly a cliff."""
    n = draw(st.integers(2, 14))
    start = draw(st.floats(0.3, 0.95))
    steps = draw(st.lists(st.floats(0.0, 0.08), min_size=n - 1, max_size=n - 1))
    cliff_at = draw(st.integers(0, n - 2))
    cliff = draw(st.floats(0.0, 0.4))
    drops = np.asarray(steps, dtype=float)
    drops[cliff_at] += cliff
    return np.clip(start - np.concatenate([[0.0], np.cumsum(drops)]), 0.0, 1.0)


unit = st.floats(0.0, 1.0)
kappas = st.floats(0.0, 0.3)


@settings(max_examples=150, deadline=None)
@given(p=declining_paths(), delta=st.floats(0.5, 0.995), kD=kappas, kR=kappas,
       phi=unit, more=unit)
def test_more_commitment_never_brings_war_earlier(p, delta, kD, kR, phi, more):
    lo = th.preventive_war(p, delta=delta, kappa_D=kD, kappa_R=kR, phi=phi)
    hi = th.preventive_war(p, delta=delta, kappa_D=kD, kappa_R=kR, phi=phi + (1 - phi) * more)
    assert _war(hi) >= _war(lo)


@settings(max_examples=150, deadline=None)
@given(p=declining_paths(), delta=st.floats(0.5, 0.995), kD=kappas, kR=kappas, phi=unit,
       eD=st.floats(0.0, 0.3), eR=st.floats(0.0, 0.3))
def test_higher_costs_never_bring_war_earlier(p, delta, kD, kR, phi, eD, eR):
    lo = th.preventive_war(p, delta=delta, kappa_D=kD, kappa_R=kR, phi=phi)
    hi = th.preventive_war(p, delta=delta, kappa_D=kD + eD, kappa_R=kR + eR, phi=phi)
    assert _war(hi) >= _war(lo)


def test_monotonicity_needs_a_declining_path():
    """Documented limit: on a path where D rises again, the φ = 1 bound can be below the
    Markov one (R's war option enters only the protocol-free continuation), so φ = 1 forces
    war where φ = 0 does not. The engine therefore runs each dyad in both directions."""
    p = [0.9, 0.3, 1.0]
    assert th.preventive_war(p, delta=0.9, kappa_D=0.04, kappa_R=0.04, phi=0.0).peaceful
    assert th.preventive_war(p, delta=0.9, kappa_D=0.04, kappa_R=0.04, phi=1.0).war_date == 0


@settings(max_examples=200, deadline=None)
@given(rates=st.dictionaries(st.sampled_from(["UA", "TW", "BY", "PL"]), st.floats(0.0, 0.2),
                             min_size=1),
       T=st.floats(0.0, 120.0), months=st.integers(0, 60))
def test_competing_risk_shares_sum_to_total(rates, T, months):
    c = th.competing_risks_continuous(rates, T)
    assert sum(c.p_first.values()) == pytest.approx(c.p_any, abs=1e-12)
    d = th.competing_risks_discrete(rates, months)
    assert sum(d.p_first.values()) == pytest.approx(d.p_any, abs=1e-12)
    assert 0.0 <= d.p_any <= 1.0


@settings(max_examples=200, deadline=None)
@given(mu0=unit, a=st.floats(1e-6, 1.0))
def test_uninformative_leak_leaves_prior(mu0, a):
    assert th.leak_posterior(mu0, a, a) == pytest.approx(mu0, abs=1e-12)


@settings(max_examples=200, deadline=None)
@given(p=unit, c_A=st.floats(0.0, 1.0), c_bar=st.floats(1e-3, 2.0))
def test_risk_return_war_probability_at_most_half(p, c_A, c_bar):
    rr = th.risk_return(p, c_A, c_bar)
    assert 0.0 <= rr.p_war <= 0.5 + 1e-12
    assert p <= rr.x_star <= 1.0


@settings(max_examples=100, deadline=None)
@given(lam0=st.floats(1e-4, 0.1), b=st.floats(-3, 3), x=st.floats(-2, 2), dx=st.floats(0, 1))
def test_hazard_monotone_in_each_term(lam0, b, x, dx):
    l1, h1 = th.flashpoint_hazard(lam0, [b, 1.0], [x, 0.0])
    l2, h2 = th.flashpoint_hazard(lam0, [b, 1.0], [x, dx])
    assert l2 >= l1 and h2 >= h1


@settings(max_examples=100, deadline=None)
@given(theta=st.floats(0, 2), g=st.integers(0, 10))
def test_more_groups_never_raise_hazard(theta, g):
    assert th.expert_group_hazard_damping(theta, g + 1) <= th.expert_group_hazard_damping(theta, g)
