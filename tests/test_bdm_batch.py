"""The batched BDM engine (``detente.models.bdm_batch``) against the per-run engine.

Every batched forecast must equal ``bdm.run`` on the same perturbed copy to 1e-9 (in
practice bit for bit), for every variant, on perturbations that produce ties, consensus and
degenerate inputs. Stochastic runs (salience shocks, conflict draws) are replayed in the
per-run engine from the draws the batch recorded. The conformance cases run through the
batch engine end at the reference final positions.
"""

from __future__ import annotations

import numpy as np
import pytest

from bdm_helpers import case_scenario, expected
from detente import examples
from detente.experiments.distributions import Factor, ScenarioArrays, expand_factors
from detente.experiments.sweep import ChunkJob, SweepSpec, _scenario_from, apply_design, evaluate_chunk
from detente.models.bdm import BDMParams, probability_matrix, run
from detente.models.bdm_batch import batch_bdm, run_batch_issue, unsupported
from detente.models.registry import get
from detente.scenario import Actor, Issue, Scenario, Stance

VARIANTS = ("detente", "scholz2011", "masad2014", "masad2016")
TOL = 1e-9


def _factors(kind: str) -> list[Factor]:
    F = Factor.model_validate
    if kind == "salience":
        return [F({"field": "salience", "dist": {"kind": "uniform", "low": -10, "high": 10}, "clip": [0, 100], "per": "cell"})]
    if kind == "ties":  # positions snapped to three values: many ties, pairs at one position
        return [F({"field": "position", "mode": "set", "dist": {"kind": "discrete", "values": [4, 7, 10]}, "per": "cell"})]
    if kind == "consensus":  # often every actor at one position, or all but one or two
        return [F({"field": "position", "mode": "set", "dist": {"kind": "discrete", "values": [7, 7, 7, 7, 4]}, "per": "cell"})]
    if kind == "degenerate":  # zero capabilities and saliences for some actors, positions on the bounds
        return [F({"field": "capability", "mode": "multiply", "dist": {"kind": "discrete", "values": [0, 1, 1]}, "per": "cell"}),
                F({"field": "salience", "mode": "multiply", "dist": {"kind": "discrete", "values": [0, 1, 1, 1]}, "per": "cell"}),
                F({"field": "position", "mode": "add", "dist": {"kind": "discrete", "values": [-6, 0, 0, 6]}, "per": "cell"})]
    raise ValueError(kind)


def _design(scn: Scenario, factors: list[Factor], runs: int, seed: int):
    base = ScenarioArrays.from_scenario(scn)
    cols = expand_factors(factors, base)
    u = np.random.default_rng(seed).random((runs, len(cols)))
    V = np.column_stack([factors[c.factor].dist.ppf(u[:, j]) for j, c in enumerate(cols)])
    pert = apply_design(base, factors, cols, V)
    keep = np.ones(runs, bool)
    for i in range(len(base.issues)):  # the per-run engine rejects runs with all weights zero
        has = base.has[:, i]
        keep &= (pert.capability[:, has, i] * pert.salience[:, has, i]).sum(axis=1) > 0
    for name in ("position", "salience", "capability", "status_quo"):
        setattr(pert, name, getattr(pert, name)[keep])
    pert.params = [p for p, k in zip(pert.params, keep) if k]
    return base, pert


def _per_run(scn, base, pert, params, r, rng=None, resolver=None):
    res = run(_scenario_from(scn, base, pert, r), params, rng=rng or np.random.default_rng(0), resolver=resolver)
    return {iid: (np.nan if ir.forecast is None else ir.forecast) for iid, ir in res.issues.items()}


def _assert_equal(scn, base, pert, params):
    fast = batch_bdm(base, pert, params, rng=np.random.default_rng(1))
    assert fast is not None
    n = pert.position.shape[0]
    for r in range(n):
        slow = _per_run(scn, base, pert, params, r)
        for iid, v in slow.items():
            f = fast[iid][r]
            assert (np.isnan(v) and np.isnan(f)) or abs(f - v) <= TOL, (params.variant, r, iid, f, v)


DETERMINISTIC = {"conflict_winner": "likelier"}  # masad2016/detente draw conflicts; see the replay tests


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("kind", ["salience", "ties", "consensus", "degenerate"])
def test_batch_equals_per_run(variant, kind):
    scn = examples.load("ec_emission")
    base, pert = _design(scn, _factors(kind), 60, seed={"salience": 1, "ties": 2, "consensus": 3, "degenerate": 4}[kind])
    _assert_equal(scn, base, pert, BDMParams(variant=variant, record_eu=False, **DETERMINISTIC))


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("extra", [
    {"Q": 0.5, "T": 0.5},
    {"Q": 0.3, "T": 0.8, "forecast": "mean", "scale_range": "issue"},
    {"stop": "convergence", "tolerance": 1e-3, "patience": 1},
    {"stop": "discount", "discount": 0.02},
    {"risk": "neutral", "eu_tolerance": 1e-6},
    {"rounds": 3, "perspective": "own", "median_rule": "sequential", "reference_point": "mean", "Q": 0.7},
    {"offers": "masad2014", "capitulation_reachable": False, "probability": "all_pairs", "voter_exponent": True},
    {"offers": "detente", "probability": "net_vote", "renege": False, "relabel_quirk": True},
])
def test_batch_equals_per_run_options(variant, extra):
    scn = examples.load("ec_emission")
    base, pert = _design(scn, _factors("salience"), 30, seed=7)
    _assert_equal(scn, base, pert, BDMParams(variant=variant, record_eu=False, **{**DETERMINISTIC, **extra}))


def _small(n_actors: int) -> Scenario:
    ids = [f"A{k}" for k in range(n_actors)]
    return Scenario(salience_scale="unit", actors=[Actor(id=a, capability=1.0 + k) for k, a in enumerate(ids)],
                    issues=[Issue(id="x", lower=0, upper=10), Issue(id="y", lower=-5, upper=5)],
                    stances=[Stance(actor=a, issue="x", position=float(3 * k % 11), salience=0.5) for k, a in enumerate(ids)]
                    + [Stance(actor=a, issue="y", position=float(k % 3) - 1, salience=0.9) for k, a in enumerate(ids[:-1])])


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("n_actors", [1, 2, 3, 5])
def test_batch_small_and_multi_issue(variant, n_actors):
    """One and two actors, and an actor without a stance on the second issue."""
    scn = _small(n_actors)
    base, pert = _design(scn, [Factor.model_validate(
        {"field": "position", "dist": {"kind": "discrete", "values": [-2, 0, 0, 3]}, "per": "cell"})], 25, seed=n_actors)
    _assert_equal(scn, base, pert, BDMParams(variant=variant, record_eu=False, **DETERMINISTIC))


def test_issue_without_stances_gives_nan():
    scn = Scenario(salience_scale="unit", actors=[Actor(id="A", capability=1), Actor(id="B", capability=1)],
                   issues=[Issue(id="x", lower=0, upper=1), Issue(id="empty", lower=0, upper=1)],
                   stances=[Stance(actor="A", issue="x", position=0.2, salience=0.5),
                            Stance(actor="B", issue="x", position=0.9, salience=0.5)])
    base = ScenarioArrays.from_scenario(scn)
    pert = apply_design(base, [], [], np.zeros((3, 0)))
    out = batch_bdm(base, pert, BDMParams(), rng=np.random.default_rng(0))
    assert np.isnan(out["empty"]).all() and np.isfinite(out["x"]).all()


# ------------------------------------------------------------------ stochastic parts, replayed


class _ReplayRNG:
    """Stands in for the generator of the per-run engine: returns recorded uniforms in order."""

    def __init__(self, seq):
        self.seq = list(seq)

    def random(self, size=None):
        v = self.seq.pop(0)
        assert size == len(v)
        return np.array(v, float)


def _replay(trace, run_index: int, p_shock: float, ids):
    seq, fights = [], []
    for rd in trace["rounds"]:
        where = np.flatnonzero(rd["runs"] == run_index)
        if len(where) == 0:
            continue
        k = int(where[0])
        if rd["u_hit"] is not None:
            hit = rd["u_hit"][k] < p_shock
            seq.append(rd["u_hit"][k])
            if hit.any():
                seq.append(rd["u_new"][k][hit])
        for runs, aa, bb, pa, aw in rd["fights"]:
            for r_, a_, b_, p_, w_ in zip(runs, aa, bb, pa, aw):
                if r_ == run_index:
                    fights.append((ids[a_], ids[b_], p_, ids[a_] if w_ else ids[b_]))

    def resolver(a, b, p_a, rng):
        ea, eb, ep, win = fights.pop(0)
        assert (a, b) == (ea, eb) and abs(p_a - ep) <= 1e-12
        return win

    return _ReplayRNG(seq), resolver, fights


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("kind", ["salience", "ties"])
def test_stochastic_runs_replayed(variant, kind):
    """Salience shocks and conflict draws: the per-run engine fed the batch's draws ends at
    the batch forecast, conflict by conflict."""
    scn = examples.load("ec_emission")
    base, pert = _design(scn, _factors(kind), 40, seed=11)
    params = BDMParams(variant=variant, record_eu=False, shock_probability=0.2)
    has = base.has[:, 0]
    x = pert.position[:, has, 0]
    s = pert.salience[:, has, 0] / base.salience_max
    c = pert.capability[:, has, 0]
    trace: dict = {}
    fast = run_batch_issue(x, c, s, float(base.lower[0]), float(base.upper[0] - base.lower[0]), params,
                           np.random.default_rng(5), trace=trace)
    ids = [a for a, h in zip(base.actors, has) if h]
    n_fights = 0
    for r in range(len(x)):
        rng, resolver, fights = _replay(trace, r, 0.2, ids)
        n_fights += len(fights)
        slow = _per_run(scn, base, pert, params, r, rng=rng, resolver=resolver)["emission"]
        assert abs(fast[r] - slow) <= TOL, (r, fast[r], slow)
        assert rng.seq == [] and fights == []  # every draw and conflict used, in order
    if variant in ("detente", "masad2016"):
        assert n_fights > 0  # the replay was exercised


def test_same_chunk_same_bytes():
    scn = examples.load("ec_emission")
    base, pert = _design(scn, _factors("salience"), 300, seed=3)
    p = BDMParams(shock_probability=0.1)
    a = batch_bdm(base, pert, p, rng=np.random.default_rng(9))["emission"]
    b = batch_bdm(base, pert, p, rng=np.random.default_rng(9))["emission"]
    assert a.tobytes() == b.tobytes()


# ------------------------------------------------------------------ conformance through the batch


def _normalised(final, ref):
    lo, hi = ref["scale"]["x_min"], ref["scale"]["x_max"]
    return (final - lo) / (hi - lo) if ref["scale"]["kind"] == "normalised" else final


@pytest.mark.parametrize("variant", ("scholz2011", "masad2014", "masad2016"))
@pytest.mark.parametrize("case", ("emission", "greece", "russia"))
def test_conformance_cases_through_batch(variant, case):
    """Reference final positions (1e-6) and final median; masad2016 on the EC case is compared
    on the runs whose conflict draws match the recorded winners."""
    ref = expected(f"{variant}__{case}.json")
    scn = case_scenario(case)
    arr = scn.issue_arrays("issue")
    B = 64
    x, c, s = (np.tile(v, (B, 1)) for v in (arr.position, arr.capability, arr.salience))
    trace: dict = {}
    fc = run_batch_issue(x, c, s, float(arr.issue.lower), float(arr.issue.width), BDMParams(variant=variant, rounds=10),
                         np.random.default_rng(0), trace=trace)
    final = np.concatenate(trace["final"])
    want_conf = [(c_["a"], c_["b"], c_["winner"]) for rd in ref["rounds"] for c_ in rd.get("conflicts", [])]
    ids = list(arr.actors)
    got_conf = [[] for _ in range(B)]
    for rd in trace["rounds"]:
        for runs, aa, bb, _pa, aw in rd["fights"]:
            for r_, a_, b_, w_ in zip(runs, aa, bb, aw):
                got_conf[r_].append((ids[a_], ids[b_], ids[a_] if w_ else ids[b_]))
    match = [r for r in range(B) if got_conf[r] == want_conf]
    assert len(match) >= 10
    exp = np.array([ref["rounds"][-1]["positions"][a] for a in ids])
    for r in match:
        assert np.allclose(_normalised(final[r], ref), exp, rtol=0, atol=1e-6)
        med = ref["rounds"][-1]["median"]
        assert abs(_normalised(fc[r], ref) - med) <= 1e-6


# ------------------------------------------------------------------ sweep integration and fallback


def _spec(**kw) -> SweepSpec:
    return SweepSpec.model_validate(dict(
        scenario="example:ec_emission", model="bdm", seed=4, chunk_size=20, design={"kind": "montecarlo", "runs": 20},
        factors=[{"field": "salience", "dist": {"kind": "uniform", "low": -10, "high": 10}, "clip": [0, 100], "per": "cell"}],
        **kw))


def _job(spec: SweepSpec) -> ChunkJob:
    return ChunkJob(spec.model_dump_json(), examples.load("ec_emission").model_dump_json(), 0, 0, 20, None)


def test_registered_and_used_by_evaluate_chunk():
    assert get("bdm").extra["batch"] is not None
    spec = _spec(params={"conflict_winner": "likelier"})
    fast = evaluate_chunk(_job(spec))
    slow = evaluate_chunk(_job(spec.model_copy(update={"trace": "positions"})))  # per-run path
    f = fast.column("value").to_numpy()
    s_ = slow.filter(slow.column("round").is_null()).column("value").to_numpy()
    assert np.allclose(f, s_, rtol=0, atol=TOL)


def test_unsupported_parameters_fall_back_to_per_run():
    """risk='own_positions' is not batched: the kernel declines and evaluate_chunk uses the
    per-run engine, giving exactly the per-run path's bytes."""
    p = BDMParams(risk="own_positions", rounds=2)
    assert unsupported(p) is not None
    scn = examples.load("ec_emission")
    base, pert = _design(scn, _factors("salience"), 5, seed=1)
    assert batch_bdm(base, pert, p, rng=np.random.default_rng(0)) is None
    spec = _spec(params={"risk": "own_positions", "rounds": 2})
    got = evaluate_chunk(_job(spec))
    # the same chunk computed with the batch kernel removed from the registry entry
    import detente.models.bdm as bdm_mod

    saved = bdm_mod.SPEC.extra.pop("batch")
    try:
        ref = evaluate_chunk(_job(spec))
    finally:
        bdm_mod.SPEC.extra["batch"] = saved
    assert got.equals(ref)


def test_zero_weight_run_falls_back_to_the_per_run_error():
    scn = examples.load("ec_emission")
    base = ScenarioArrays.from_scenario(scn)
    pert = apply_design(base, [], [], np.zeros((2, 0)))
    pert.salience[1] = 0.0
    assert batch_bdm(base, pert, BDMParams(), rng=np.random.default_rng(0)) is None


def test_per_run_vote_sums_are_in_voter_order():
    """The bit-for-bit agreement rests on both engines summing over voters in order."""
    g = np.random.default_rng(2)
    y, w = g.random(12), g.random(12)
    a = np.abs(y[:, None] - y[None, :])
    num = np.zeros((12, 12))
    den = np.zeros((12, 12))
    for k in range(12):
        v = w[k] * (a[k][None, :] - a[k][:, None])
        num = num + np.where(v > 0, v, 0.0)
        den = den + np.abs(v)
    P = probability_matrix(y, w)
    assert np.array_equal(P, np.where(den > 0, num / np.where(den > 0, den, 1), 0) * (1 - np.eye(12)))


@pytest.mark.parametrize("variant", VARIANTS)
def test_batch_many_actors_small_blocks(variant, monkeypatch):
    """30 actors with tied positions; blocks shrink with n (and a tiny block size is exercised)."""
    import detente.models.bdm_batch as bb

    g = np.random.default_rng(30)
    ids = [f"A{k}" for k in range(30)]
    scn = Scenario(salience_scale="unit", actors=[Actor(id=a, capability=float(c)) for a, c in zip(ids, g.uniform(0.1, 1, 30))],
                   issues=[Issue(id="x", lower=0, upper=100)],
                   stances=[Stance(actor=a, issue="x", position=float(p), salience=float(s))
                            for a, p, s in zip(ids, g.choice([0, 25, 50, 60, 100], 30), g.uniform(0.1, 1, 30))])
    assert bb.block_size(30) < bb.BLOCK and bb.block_size(10) == bb.BLOCK
    monkeypatch.setattr(bb, "VOTE_BYTES", 8 * 30 * 435 * 3)  # blocks of 3 runs
    base, pert = _design(scn, [Factor.model_validate(
        {"field": "salience", "dist": {"kind": "uniform", "low": -0.2, "high": 0.2}, "clip": [0, 1], "per": "cell"})], 7, seed=5)
    _assert_equal(scn, base, pert, BDMParams(variant=variant, record_eu=False, rounds=4, **DETERMINISTIC))


# ------------------------------------------------------------------ Monte Carlo summary path


MC_OPTIONS = [{}, {"shock_probability": 0.3}, {"Q": 0.7, "T": 0.6, "stop": "convergence"},
              {"stop": "discount", "forecast": "mean"}, {"conflict_winner": "likelier", "scale_range": "issue"}]


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("extra", MC_OPTIONS)
def test_monte_carlo_summary_batched_equals_per_run_loop(variant, extra, monkeypatch):
    """run()'s Monte Carlo summary goes through the batched engine, each run drawing from its
    own child generator what run_issue draws: the summary equals the per-run loop's exactly."""
    import detente.models.bdm as bdm
    import detente.models.bdm_batch as bb

    calls = []
    real = bb.run_batch_issue
    monkeypatch.setattr(bb, "run_batch_issue", lambda *a, **k: calls.append(1) or real(*a, **k))
    scn = case_scenario("emission")
    p = BDMParams(variant=variant, monte_carlo=40, **extra)
    fast = bdm._monte_carlo(scn, "issue", p, np.random.default_rng(5), None)
    assert calls, "batched engine not used"
    slow = bdm._monte_carlo(scn, "issue", p, np.random.default_rng(5), None, batched=False)
    assert fast == slow
    res = run(scn, p.model_copy(update={"record_eu": False}), rng=np.random.default_rng(5))
    assert res.issues["issue"].extra["monte_carlo"] == bdm._monte_carlo(
        scn, "issue", p, _rng_after_main_run(scn, p), None, batched=False)


def _rng_after_main_run(scn, p):
    """The generator state run() hands to the Monte Carlo summary (after the main run)."""
    g = np.random.default_rng(5)
    from detente.models.bdm import run_issue

    run_issue(scn, "issue", p.model_copy(update={"record_eu": False}), rng=g)
    return g


def test_monte_carlo_falls_back_to_the_loop(monkeypatch):
    """own_positions and a custom conflict resolver keep the per-run loop."""
    import detente.models.bdm as bdm
    import detente.models.bdm_batch as bb

    monkeypatch.setattr(bb, "run_batch_issue", lambda *a, **k: (_ for _ in ()).throw(AssertionError("batched")))
    scn = case_scenario("emission")
    bdm._monte_carlo(scn, "issue", BDMParams(risk="own_positions", rounds=1, monte_carlo=2), np.random.default_rng(0), None)
    bdm._monte_carlo(scn, "issue", BDMParams(rounds=3, monte_carlo=5), np.random.default_rng(0), lambda a, b, p, g: a)
