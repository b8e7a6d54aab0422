"""The compiled twin of the engine's capabilities (:mod:`detente.crisis._compiled_caps`: step 1's
growth and followers' cohesion, effective capabilities, alignment support, war-cost multipliers)
gives the numpy engine's numbers byte for byte.

The numpy engine is the reference (its mechanisms are pinned in the other crisis tests). Whole
chunks are simulated both ways and every output array is compared as bytes, on settings that reach
each kind of support term (cohesion, alignment with and without coupling, the `alignment` switch,
the coalition cliff's alignment support with and without split memory, scalar tie exponents that
numpy's ``np.power`` shortcuts, drawn ones) and the growth switches; the kernels are also compared
with the numpy formulas on random inputs with ties at ±0, NaN and infinities. Skipped when numba
(the ``fast`` extra) is missing, or where numpy's float64 ``exp`` is not the C library's
(``compiled.compatible``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from detente import examples
from detente.crisis import engine as E
from detente.crisis import kernels as K
from twin_helpers import assert_same_bytes, chunk_pair, needs_numba

pytestmark = needs_numba


def _chunk_pair(name: str, hypothesis: str | None, extra: dict[str, Any], runs: int = 300,
                seed: int = 5) -> tuple[dict, dict, E._Compiled]:
    return chunk_pair(name, {"hypothesis": hypothesis, "set": extra}, runs=runs, seed=seed)


@pytest.fixture
def twin_calls(monkeypatch):
    """Counts the twin's calls that returned its own numbers (a test cannot pass with numpy alone)."""
    from detente.crisis import _compiled_caps as M

    calls = {"grow": 0, "eff_cap": 0, "alignment_support": 0, "cost_mult": 0}
    for name in calls:
        real = getattr(M.CapsTwin, name)

        def counted(self, *args, _real=real, _name=name):
            got = _real(self, *args)
            calls[_name] += got is not None and got is not False
            return got

        monkeypatch.setattr(M.CapsTwin, name, counted)
    return calls


@pytest.mark.parametrize("name, hypothesis, extra, reached", [
    ("seesaw-2021", "combined", {}, {"cost_mult"}),
    ("seesaw-2021", "combined", {"settings.draw_assumptions": True}, {"cost_mult"}),
    ("seesaw-2021", "combined", {"triangle.coupling.tie_exponent": 2.0}, {"cost_mult"}),     # x·x
    ("seesaw-2021", "combined", {"triangle.coupling.tie_exponent": 1.37}, {"cost_mult"}),    # pow
    ("seesaw-2021", "combined", {"triangle.coupling.enabled": False}, set()),               # max(tie, 0)
    ("seesaw-2021", "combined", {"triangle.coupling.support": False}, {"cost_mult"}),       # switch `alignment`
    ("seesaw-2021", "combined", {"settings.allies_lag": False, "settings.capability_growth": False}, {"cost_mult"}),
    ("seesaw-2021", "article", {}, {"cost_mult", "alignment_support"}),                     # coalition cliff
    ("seesaw-2021", "article", {"triangle.coupling.split_memory": 0.5, "triangle.coupling.tie_exponent": 0.5,
                                "settings.draw_assumptions": True}, {"cost_mult", "alignment_support"}),
    ("taiwan-strait-1995", None, {}, set()),
    ("cuba-1962", None, {"settings.draw_assumptions": True}, set()),                         # weeks as steps
    ("crimea-2014", None, {}, set()),
])
def test_chunk_is_byte_identical_with_the_caps_twin(name, hypothesis, extra, reached, twin_calls):
    a, b, c = _chunk_pair(name, hypothesis, extra)
    assert_same_bytes(a, b)
    assert twin_calls["grow"] == c.n_steps            # every step's growth went through the twin
    assert twin_calls["eff_cap"] > 0
    for k in reached:
        assert twin_calls[k] > 0, k


def _twin(name: str = "seesaw-2021", hypothesis: str = "combined", n: int = 64, **kw: Any) -> Any:
    """A twin on a real chunk's set-up (the engine's arguments), with ``kw`` overriding them."""
    from detente.crisis._compiled_caps import CapsTwin

    c = E.plan(examples.load(name), {"runs": n, "hypothesis": hypothesis}, seed=1).compiled
    V = E._Vals(c, np.random.default_rng(0), n)
    A = len(c.actors)
    g = np.linspace(-0.01, 0.02, A)
    gsd = np.where(np.arange(A) % 3 == 0, 0.05, 0.0)
    args = dict(spec=c.spec, V=V, n=n, dtm=c.dt, g=g, gsd=gsd, noisy=np.nonzero(gsd > 0)[0],
                quiet=np.nonzero(gsd <= 0)[0], fol=list(c.spec.followers), aidx=c.aidx, has_tri=True,
                tri_actors=c.spec.triangle.actors, coupled=True, cp_support=True, rho=0.745, kh=1.0, psi=0.5)
    args.update(kw)
    return CapsTwin(**args), c, args


def test_growth_matches_the_numpy_step_with_nan_and_inf_states():
    """Step 1 on states holding NaN (with a payload), ±inf and 0 (× an overflowing exp), as bytes."""
    tw, c, a = _twin(n=256)
    n = 256
    rng = np.random.default_rng(3)
    P = rng.uniform(0.1, 2.0, (len(c.actors), n))
    P[0, :4] = [np.frombuffer(np.uint64(0x7FF8_0000_0000_0BAD).tobytes())[0], np.inf, -np.inf, 0.0]
    P[1, :2] = [np.nan, 0.0]
    coh = rng.uniform(0, 1, (len(a["fol"]), n))
    coh[0, :3] = [np.frombuffer(np.uint64(0xFFF8_0000_0000_0123).tobytes())[0], np.inf, -np.inf]
    eps = rng.standard_normal((a["noisy"].size, n))
    eps[0, 5] = 1e6                                       # exp overflows: 0 × inf
    P[0, 5] = 0.0
    eps[0, 6] = -1e6                                      # exp underflows to 0: inf × 0
    P[0, 6] = np.inf
    P_ref, coh_ref, eps_ref = P.copy(), coh.copy(), eps.copy()
    coh0 = coh.copy()
    assert tw.grow(eps, P, coh)
    # the engine's numpy code (step 1), on the same draws
    noisy, quiet, g, gsd, dtm = a["noisy"], a["quiet"], a["g"], a["gsd"], a["dtm"]
    with np.errstate(all="ignore"):
        eps_ref *= (gsd[noisy] * math.sqrt(dtm))[:, None]
        eps_ref += (g[noisy] * dtm)[:, None]
        np.exp(eps_ref, out=eps_ref)
        for ri, ai in enumerate(noisy):
            P_ref[ai] *= eps_ref[ri]
        for ai, fac in zip(quiet, np.exp(g[quiet] * dtm)):
            if fac != 1.0:
                P_ref[ai] *= fac
        for k, fo in enumerate(a["fol"]):
            lag = tw.V[f"followers.{fo}.lag_mean_m"]
            target = tw.V[f"followers.{fo}.follows_patron"]
            coh_ref[k] += (target - coh_ref[k]) * (1.0 - np.exp(-dtm / lag))
    assert P.tobytes() == P_ref.tobytes()
    assert coh.tobytes() == coh_ref.tobytes()
    assert np.isnan(P[0, 5]) and np.isnan(P[0, 6]) and P[0, 1] == np.inf   # the edge cases were reached
    assert (coh[1:] != coh0[1:]).all()                       # cohesion moved (the lag is on in combined)


def test_growth_hands_back_non_finite_chunk_factors():
    tw, _c, _a = _twin(g=np.r_[np.inf, np.zeros(11)])
    assert not tw.grow(None, np.ones((12, 64)), np.ones((6, 64)))


def _numpy_support(tw, di, side, align, P, coh, ties, mu1, mu2, rho, kh):
    """The engine's ``_eff_cap`` / ``_alignment_support`` (coupled, with alignment support), written
    out with the numpy kernels for the test."""
    d = tw.spec.dyads[di]
    _t0, t1, t2 = tw.spec.triangle.actors
    out = np.zeros(P.shape[1]) if align else P[tw.aidx[side]].copy()
    for si, s in enumerate(d.support):
        if s.side != side or (align and s.via != "alignment"):
            continue
        w = tw.V[f"dyads[{d.id}].support.{si}.weight"]
        for a in s.actors:
            if s.via == "alignment":
                belief = mu1 if (side, a) == (t1, t2) else mu2 if (side, a) == (t2, t1) else 1.0
                level = K.partner_support(ties.get(frozenset((side, a))), rho, kh, belief)
            else:
                level = coh[tw.fol.index(a)] if a in tw.fol else 1.0
            out += w * level * P[tw.aidx[a]]
    return out


@pytest.mark.parametrize("kh", [1.0, 2.0, 0.5, -1.0, 0.0, 1.37, "drawn"])
def test_support_sums_match_numpy_on_random_states(kh):
    """Every dyad side of seesaw, ties spread over [-1, 1] with exact ±0 and 0 < tie ≪ 1, per-run
    beliefs, and each way numpy takes a power (its scalar shortcuts 2, 0.5, −1, 1, 0 and pow: x·x,
    sqrt and 1/x differ from the C library's pow in about 1 value in 1,200, so many runs)."""
    n = 8192
    rng = np.random.default_rng(17)
    khv = rng.uniform(0.5, 2.0, n) if kh == "drawn" else kh
    rho = rng.uniform(0.5, 1.0, n)
    tw, c, _a = _twin(n=n, kh=khv, rho=rho)
    P = rng.uniform(0.05, 3.0, (len(c.actors), n))
    coh = rng.uniform(0, 1, (len(tw.fol), n))
    x = [rng.uniform(-1, 1, n) for _ in range(3)]
    for xi in x:
        xi[:6] = [0.0, -0.0, 1e-300, -1e-300, 1.0, -1.0]
    mu1, mu2 = rng.uniform(0, 1, n), rng.uniform(0, 1, n)
    t0, t1, t2 = c.spec.triangle.actors
    ties = {frozenset((t0, t1)): x[0], frozenset((t0, t2)): x[1], frozenset((t1, t2)): x[2]}
    seen = 0
    with np.errstate(divide="ignore"):
        for di, d in enumerate(c.spec.dyads):
            for side in (d.a, d.b):
                got = tw.eff_cap(di, side, P, coh, *x, mu1, mu2)
                ref = _numpy_support(tw, di, side, False, P, coh, ties, mu1, mu2, rho, khv)
                if np.isnan(ref).any():
                    assert got is None
                    continue
                assert got is not None and got.tobytes() == ref.tobytes(), (d.id, side)
                got = tw.alignment_support(di, side, P, coh, *x, mu1, mu2)
                ref = _numpy_support(tw, di, side, True, P, coh, ties, mu1, mu2, rho, khv)
                assert got is not None and got.tobytes() == ref.tobytes(), (d.id, side)
                seen += bool(ref.any())
    assert seen >= 2                                       # sides with alignment support were compared


def test_support_sums_without_coupling_take_the_tie_above_zero():
    """Uncoupled alignment support is the tie's positive part; without a triangle there is none."""
    n = 32
    rng = np.random.default_rng(2)
    tw, c, _a = _twin(n=n, coupled=False)
    P = rng.uniform(0.5, 1.5, (len(c.actors), n))
    coh = rng.uniform(0, 1, (len(tw.fol), n))
    x = [rng.uniform(-1, 1, n) for _ in range(3)]
    x[2][:2] = [-0.0, 0.0]
    di = next(i for i, d in enumerate(c.spec.dyads) if d.id == "US-CN")
    got = tw.eff_cap(di, "CN", P, coh, *x, np.ones(n), np.ones(n))
    w = tw.V["dyads[US-CN].support.0.weight"]
    ref = P[c.aidx["CN"]] + w * np.maximum(x[2], 0.0) * P[c.aidx["RU"]]     # RU-CN is the pair's tie
    assert got.tobytes() == ref.tobytes()
    tw0, _c, _a = _twin(n=n, has_tri=False)
    assert tw0.eff_cap(di, "CN", P, coh, *x, np.ones(n), np.ones(n)).tobytes() == P[c.aidx["CN"]].tobytes()
    assert not tw0.alignment_support(di, "CN", P, coh, *x, np.ones(n), np.ones(n)).any()


def test_support_sum_hands_back_nan_results():
    n = 16
    tw, c, _a = _twin(n=n)
    P = np.ones((len(c.actors), n))
    P[c.aidx["RU"], 3] = np.nan
    di = next(i for i, d in enumerate(c.spec.dyads) if d.id == "US-CN")
    x = [np.full(n, 0.5)] * 3
    assert tw.eff_cap(di, "CN", P, np.ones((len(tw.fol), n)), *x, np.ones(n), np.ones(n)) is None
    assert tw.eff_cap(di, "US", P, np.ones((len(tw.fol), n)), *x, np.ones(n), np.ones(n)) is not None


@pytest.mark.parametrize("psi", [0.5, 3.0, "drawn"])
def test_cost_multipliers_match_numpy(psi):
    n = 400
    rng = np.random.default_rng(8)
    psiv = rng.uniform(0, 4, n) if psi == "drawn" else psi
    tw, _c, _a = _twin(n=n, psi=psiv)
    own_a, own_b = rng.uniform(0.1, 2, n), rng.uniform(0.1, 2, n)
    eff_a = own_a * rng.uniform(1, 3, n)
    eff_b = own_b * rng.uniform(1, 3, n)
    eff_a[:3] = own_a[:3]                                  # no support: s = 0
    eff_b[3:5] = np.inf                                    # s = 1 exactly
    got = tw.cost_mult(own_a, eff_a, own_b, eff_b)
    ref = K.war_cost_multipliers(own_a, eff_a, own_b, eff_b, psiv)
    assert got[0].tobytes() == ref[0].tobytes() and got[1].tobytes() == ref[1].tobytes()
    assert (ref[0] == 0.0).any() or psi == 0.5             # the clip at 0 is reached with large ψ
    eff_a[7] = 0.0
    own_a[7] = 0.0                                         # 0/0: NaN goes back to numpy
    assert tw.cost_mult(own_a, eff_a, own_b, eff_b) is None
