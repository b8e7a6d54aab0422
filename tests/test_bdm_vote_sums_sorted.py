"""The sorted (O(n^2 log n)) BDM vote sums, ``detente.models.bdm_votes`` (issue 17): hand-computed
values, exact rational references, agreement with the pairwise voter-order sums, exact zeros, and
how ``BDMParams.vote_sums`` chooses between the two in the per-run and the batched engine."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from detente.models import bdm, bdm_batch
from detente.models.bdm import BDMParams, probability_matrix, run_issue
from detente.models.bdm_params import SORTED_MIN_ACTORS, uses_sorted_sums
from detente.models.bdm_votes import left_support, vote_sums_sorted
from detente.scenario import Scenario


def _pairwise(y, w, delta):
    """The voter-order sums (pos, abs, net) of the pairwise method."""
    return bdm._vote_sums(bdm._abs_dist(y) / delta, w, pos=True, absolute=True, net=True)


def _exact(y, w, delta):
    """(pos, abs, net) in rational arithmetic, rounded once to float."""
    Y, W, d = [Fraction(v) for v in y], [Fraction(v) for v in w], Fraction(delta)
    n = len(y)
    out = [np.zeros((n, n)) for _ in range(3)]
    for i in range(n):
        for j in range(n):
            v = [W[k] * (abs(Y[k] - Y[j]) - abs(Y[k] - Y[i])) / d for k in range(n)]
            out[0][i, j] = float(sum(max(x, Fraction(0)) for x in v))
            out[1][i, j] = float(sum(abs(x) for x in v))
            out[2][i, j] = float(sum(v))
    return out


# four actors at 0, 1, 4, 2 with weights 1, 2, 3, 5; the vote of voter k for i against j is
# w_k (|y_k - y_j| - |y_k - y_i|), and pos[i, j] adds up its positive values:
#   (0 vs 1): k=0 gives 1 to actor 0; k=1, 2, 3 give 2, 3, 5 to actor 1         -> 1 | 10
#   (0 vs 4): k=0 gives 4, k=1 gives 2*(3-1) = 4 to actor 0; k=2 gives 12 to actor 2;
#             k=3 sits at the midpoint 2 and gives 0                             -> 8 | 12
#   (0 vs 2): k=0 gives 2 to actor 0; k=1 at the midpoint 1 gives 0; k=2 gives 3*2 = 6,
#             k=3 gives 5*2 = 10 to actor 3                                      -> 2 | 16
#   (1 vs 4): k=0 gives 3, k=1 gives 6, k=3 gives 5*(2-1) = 5 to actor 1; k=2 gives 9 -> 14 | 9
#   (1 vs 2): k=0 gives 1, k=1 gives 2 to actor 1; k=2 gives 3, k=3 gives 5 to actor 3 -> 3 | 8
#   (4 vs 2): k=2 gives 6 to actor 2; k=0 gives 2, k=1 gives 4, k=3 gives 10 to actor 3 -> 6 | 16
HAND_Y = np.array([0.0, 1.0, 4.0, 2.0])
HAND_W = np.array([1.0, 2.0, 3.0, 5.0])
HAND_POS = np.array([[0, 1, 8, 2], [10, 0, 14, 3], [12, 9, 0, 6], [16, 8, 16, 0]], dtype=float)


def test_hand_computed_four_actors():
    pos, tot, net = vote_sums_sorted(HAND_Y, HAND_W, 1.0)
    assert np.array_equal(pos, HAND_POS)
    assert np.array_equal(tot, HAND_POS + HAND_POS.T)
    assert np.array_equal(net, HAND_POS - HAND_POS.T)
    # distances divided by delta: every sum halves
    pos2, tot2, net2 = vote_sums_sorted(HAND_Y, HAND_W, 2.0)
    assert np.array_equal(pos2, HAND_POS / 2) and np.array_equal(tot2, tot / 2) and np.array_equal(net2, net / 2)
    # the pairwise sums agree (small integers: exactly)
    for got, want in zip((pos, tot, net), _pairwise(HAND_Y, HAND_W, 1.0)):
        assert np.array_equal(got, want)


@pytest.mark.parametrize("perm", [[0, 1, 2, 3], [3, 2, 1, 0], [2, 0, 3, 1], [1, 3, 0, 2]])
def test_actor_order_permutes_the_sums(perm):
    p = np.array(perm)
    pos, _, _ = vote_sums_sorted(HAND_Y[p], HAND_W[p], 1.0)
    assert np.array_equal(pos, HAND_POS[np.ix_(p, p)])


def test_tied_actors_and_the_actor_itself_vote_on_its_side():
    # actors 0 and 1 tie at 1 (weights 1, 2), actor 2 at 3 (weight 4); midpoint 2, D = 2:
    # both tied actors give 2 * (1 + 2) = 6 to either tied actor, actor 2 gives 2 * 4 = 8 to itself
    y, w = np.array([1.0, 1.0, 3.0]), np.array([1.0, 2.0, 4.0])
    pos, tot, _ = vote_sums_sorted(y, w, 1.0)
    assert np.array_equal(pos, np.array([[0, 0, 6], [0, 0, 6], [8, 8, 0]], dtype=float))
    assert tot[0, 1] == tot[1, 0] == 0.0


def test_left_support_upper_triangle():
    """``left_support`` on sorted positions: row i, column j > i is the vote for the left actor."""
    order = np.argsort(HAND_Y)
    H = left_support(HAND_Y[order], HAND_W[order])
    want = HAND_POS[np.ix_(order, order)]
    iu = np.triu_indices(4, 1)
    assert np.array_equal(H[iu], want[iu])


@pytest.mark.parametrize("block", [1, 30, 2 * 29 + 5, 29 * 29])
def test_row_blocks_give_the_same_bits(monkeypatch, block):
    """Row blocks of any size (one row, several rows not dividing n, everything) give the bits of
    the default blocks."""
    from detente.models import bdm_votes

    g = np.random.default_rng(block)
    y, w = g.uniform(0, 10, 29), g.uniform(0, 1, 29)
    y[:6] = y[6]
    want = [x.tobytes() for x in vote_sums_sorted(y, w, 3.0)]
    monkeypatch.setattr(bdm_votes, "BLOCK_ELEMENTS", block)
    assert [x.tobytes() for x in vote_sums_sorted(y, w, 3.0)] == want
    assert np.allclose(vote_sums_sorted(y, w, 3.0)[0], _pairwise(y, w, 3.0)[0], rtol=1e-12, atol=0)


def test_voters_exactly_at_the_midpoint_give_an_exact_zero():
    """Every weighted voter at the midpoint 0.625 of 0.25 and 1.0 (the two actors weigh 0): no one
    votes, so the sums are exactly 0 and P = 0, as with the pairwise sums. Counting the midpoint
    voters on one side would leave round-off (0.5*0.75*(0.1+0.7) - (0.1*0.375 + 0.7*0.375) = 5.6e-17)
    and a meaningless P."""
    y = np.array([0.25, 1.0, 0.625, 0.625])
    w = np.array([0.0, 0.0, 0.1, 0.7])
    pos, tot, net = vote_sums_sorted(y, w, 1.0)
    assert pos[0, 1] == pos[1, 0] == tot[0, 1] == net[0, 1] == 0.0
    assert probability_matrix(y, w, vote_sums="sorted")[0, 1] == 0.0
    assert probability_matrix(y, w, vote_sums="pairwise")[0, 1] == 0.0


# two actors without weight and three voters 3, 6 and 9 ulps below the midpoint 0.13233875240817739
# of -2.6063055700704787 and 2.8709830748868335: the prefix-sum bracket cancels to -4.4e-16
CANCEL_Y = np.array([-2.6063055700704787, 2.8709830748868335, 0.13233875240817736, 0.13233875240817733,
                     0.1323387524081773])
CANCEL_W = np.array([0.0, 0.0, 0.8888358077296334, 0.15271123132467493, 0.40250535449109437])


def test_cancelling_contests_are_summed_directly():
    """Where the bracket cancels (all weight within ulps of the midpoint) the contest is summed
    directly, as the pairwise sums do: no negative vote sum (before: pos[0, 1] = -8.9e-16), and the
    pairwise sums and probabilities."""
    pos, tot, _ = vote_sums_sorted(CANCEL_Y, CANCEL_W, 1.0)
    old = _pairwise(CANCEL_Y, CANCEL_W, 1.0)
    assert np.all(pos >= 0) and np.all(tot >= 0)
    assert pos[0, 1] == old[0][0, 1] and pos[1, 0] == old[0][1, 0]
    assert np.max(np.abs(pos - old[0])) <= 1e-15 * old[1].max()
    pp = probability_matrix(CANCEL_Y, CANCEL_W, vote_sums="pairwise")
    assert np.array_equal(probability_matrix(CANCEL_Y, CANCEL_W, vote_sums="sorted")[:2, :2], pp[:2, :2])


def test_a_cancelled_positive_bracket_is_summed_directly_too():
    """Two voters 1 and 2 ulps below the midpoint of two actors without weight: the bracket keeps
    a positive 6.7e-16 of round-off, the rational sum is 4.614963962160193e-16, which the direct
    sum (and the pairwise one) give."""
    y = np.array([0.4362499146542289, 2.294965609839984, 1.3656077622471063, 1.3656077622471061])
    w = np.array([0.0, 0.0, 0.834268198709379, 0.10246465015313329])
    pos = vote_sums_sorted(y, w, 1.0)[0]
    assert pos[0, 1] == _exact(y, w, 1.0)[0][0, 1] == _pairwise(y, w, 1.0)[0][0, 1] == 4.614963962160193e-16
    assert pos[1, 0] == 0.0


def test_direct_sums_in_voter_order(monkeypatch):
    from detente.models import bdm_votes

    g = np.random.default_rng(8)
    ys, ws = np.sort(g.uniform(-3, 3, 9)), g.uniform(0, 1, 9)
    r, c = np.array([0, 0, 1, 2, 3]), np.array([1, 5, 4, 3, 5])
    want = []
    for i, j in zip(r + 2, c + 2):
        acc = 0.0
        for k in range(9):
            acc += max(abs(ys[k] - ys[j]) - abs(ys[k] - ys[i]), 0.0) * ws[k]
        want.append(acc)
    for block in (bdm_votes.BLOCK_ELEMENTS, 9 * 2):  # one chunk; chunks of two pairs
        monkeypatch.setattr(bdm_votes, "BLOCK_ELEMENTS", block)
        assert bdm_votes._direct(ys, ws, r, c, 2).tolist() == want


def test_no_direct_sums_on_ordinary_inputs(monkeypatch):
    """On random positions (ties included) no contest cancels: every sum comes from prefix sums."""
    from detente.models import bdm_votes

    calls = []
    monkeypatch.setattr(bdm_votes, "_direct", lambda *a: calls.append(1) or (_ for _ in ()).throw(AssertionError))
    for seed in range(6):
        y, w, delta = _random_issue(seed, unit=bool(seed % 2))
        vote_sums_sorted(y, w, delta)
    assert not calls


positions = st.lists(st.floats(-1e3, 1e3, allow_nan=False, allow_subnormal=False), min_size=1, max_size=6)


@settings(max_examples=150, deadline=None)
@given(pool=positions, picks=st.lists(st.integers(0, 5), min_size=1, max_size=11),
       weights=st.lists(st.floats(0.1, 1.0), min_size=11, max_size=11), delta=st.floats(0.01, 1e3))
def test_equals_exact_rational_sums(pool, picks, weights, delta):
    """Against the sums in rational arithmetic, positions drawn from a small pool (ties, near
    duplicates), every actor voting: pos and abs to 1e-12 relative, net to 1e-12 of abs, and the
    zeros exact."""
    y = np.array([pool[k % len(pool)] for k in picks])
    w = np.array(weights[: len(y)])
    ex = _exact(y, w, delta)
    got = vote_sums_sorted(y, w, delta)
    for k in (0, 1):
        assert np.array_equal(got[k] == 0, ex[k] == 0)
        assert np.all(np.abs(got[k] - ex[k]) <= 1e-12 * np.abs(ex[k]))
    assert np.all(np.abs(got[2] - ex[2]) <= 1e-12 * ex[1])


def _random_issue(seed: int, unit: bool):
    """2-160 actors; ``unit``: positions on [0, 1] and delta = 1 (the normalised variants), else on
    a scale of 1 to 1000 at an offset of up to +-1000 (the input-scale variants); tied positions on
    odd seeds; about one actor in ten does not vote."""
    g = np.random.default_rng(seed)
    n = int(g.integers(2, 161))
    scale, offset = (1.0, 0.0) if unit else (float(10 ** g.uniform(0, 3)), float(g.uniform(-1000, 1000)))
    y = offset + scale * g.uniform(0, 1, n)
    if seed % 2:
        y[g.integers(0, n, n // 4)] = y[0]  # ties
    w = g.uniform(0.1, 1, n) * (g.random(n) < 0.9)
    w[0] = 0.5
    delta = 1.0 if unit else (float(np.ptp(y)) if seed % 3 else scale)
    return y, w, delta


@pytest.mark.parametrize("unit,rtol", [(True, 1e-12), (False, 1e-11)])
@pytest.mark.parametrize("seed", range(25))
def test_agrees_with_pairwise_sums_on_random_inputs(seed, unit, rtol):
    """The voter-order sums, elementwise: pos and abs to 1e-12 relative on the unit scale, net to
    1e-12 of abs; on input scales to 1e-11 (measured up to 1.6e-12): that difference is the
    pairwise sums' own round-off (a_kj - a_ki loses digits when j and i are close; see
    test_closer_to_extended_precision_than_pairwise). Zeros are the same."""
    y, w, delta = _random_issue(seed, unit)
    new, old = vote_sums_sorted(y, w, delta), _pairwise(y, w, delta)
    for k in (0, 1):
        assert np.array_equal(new[k] == 0, old[k] == 0)
        assert np.all(np.abs(new[k] - old[k]) <= rtol * np.abs(old[k]))
    assert np.all(np.abs(new[2] - old[2]) <= rtol * old[1])


def _extended(y, w, delta):
    """(pos, abs) summed voter by voter in numpy's extended precision."""
    yl, wl = y.astype(np.longdouble), w.astype(np.longdouble)
    a = np.abs(yl[:, None] - yl[None, :]) / np.longdouble(delta)
    sp, sa = np.zeros(a.shape, np.longdouble), np.zeros(a.shape, np.longdouble)
    for k in range(len(y)):
        v = (a[k][None, :] - a[k][:, None]) * wl[k]
        sp += np.maximum(v, 0)
        sa += np.abs(v)
    return sp, sa


@pytest.mark.skipif(np.finfo(np.longdouble).eps > 1e-18, reason="numpy's longdouble is not extended precision here")
@pytest.mark.parametrize("seed", range(0, 25, 3))
def test_closer_to_extended_precision_than_pairwise(seed):
    """Against sums in extended precision (eps 1.1e-19) on input scales: the sorted sums are within
    1e-14 relative of every element (measured <= 1.8e-15), the pairwise sums within 1e-11
    (measured up to 1.6e-12)."""
    y, w, delta = _random_issue(seed, unit=False)
    ref = _extended(y, w, delta)
    new, old = vote_sums_sorted(y, w, delta), _pairwise(y, w, delta)
    for k in (0, 1):
        r = ref[k]
        assert np.all(np.abs(new[k] - r) <= 1e-14 * np.abs(r))
        assert np.all(np.abs(old[k] - r) <= 1e-11 * np.abs(r))


@pytest.mark.parametrize("rule", ["printed", "net_vote", "all_pairs"])
def test_probability_matrix_sorted_vs_pairwise(rule):
    g = np.random.default_rng(11)
    y, w = g.uniform(0, 100, 120), g.uniform(0.1, 1, 120)
    y[:10] = y[10]
    ps = probability_matrix(y, w, rule=rule, delta=100.0, vote_sums="sorted")
    pp = probability_matrix(y, w, rule=rule, delta=100.0, vote_sums="pairwise")
    assert np.array_equal(ps == 0, pp == 0)
    assert np.max(np.abs(ps - pp)) <= 1e-12
    assert not np.array_equal(ps, pp)  # two methods, not the same bits (the test would not see a mix-up)


def test_auto_chooses_by_size_and_utility_form():
    g = np.random.default_rng(4)
    for n in (SORTED_MIN_ACTORS - 1, SORTED_MIN_ACTORS):
        y, w = g.uniform(0, 1, n), g.uniform(0.1, 1, n)
        auto = probability_matrix(y, w, vote_sums="auto").tobytes()
        want = "sorted" if n >= SORTED_MIN_ACTORS else "pairwise"
        assert auto == probability_matrix(y, w, vote_sums=want).tobytes()
    assert [uses_sorted_sums(v, n) for v in ("auto", "sorted", "pairwise") for n in (2, 63, 64)] == [
        False, False, True, True, True, True, False, False, False]
    # voter exponents other than 1: the sorted sums are not exact, the pairwise sums are used
    y, w = g.uniform(0, 1, 80), g.uniform(0.1, 1, 80)
    r = g.uniform(0.5, 2, 80)
    assert (probability_matrix(y, w, voter_r=r, vote_sums="sorted").tobytes()
            == probability_matrix(y, w, voter_r=r, vote_sums="pairwise").tobytes())
    # all exponents 1 (a ** 1 == a): linear, the sorted sums apply
    ones = np.ones(80)
    assert (probability_matrix(y, w, voter_r=ones, vote_sums="sorted").tobytes()
            == probability_matrix(y, w, vote_sums="sorted").tobytes())


def _random_scenario(n: int, seed: int) -> Scenario:
    from detente.examples import random_scenario

    return random_scenario(n, seed)


@pytest.mark.parametrize("variant", ["detente", "scholz2011", "masad2014", "masad2016"])
def test_runs_with_either_method_agree(variant, monkeypatch):
    """A 70-actor run: 'auto' is the sorted run bit for bit, the pairwise run gives the same
    positions every round to 1e-9, and only the runs that ask for the sorted sums call them."""
    calls: dict[str, int] = {}
    real = bdm.vote_sums_sorted
    scn = _random_scenario(70, 3)
    res = {}
    for v in ("auto", "sorted", "pairwise"):
        calls[v] = 0
        monkeypatch.setattr(bdm, "vote_sums_sorted", lambda *a, v=v: calls.__setitem__(v, calls[v] + 1) or real(*a))
        res[v] = run_issue(scn, "x", BDMParams(variant=variant, rounds=3, record_eu=False, vote_sums=v,
                                                conflict_winner="likelier"), rng=np.random.default_rng(0))
    assert calls["auto"] == calls["sorted"] > 0 and calls["pairwise"] == 0
    assert [r.positions for r in res["auto"].rounds] == [r.positions for r in res["sorted"].rounds]
    for a, b in zip(res["sorted"].rounds, res["pairwise"].rounds):
        assert max(abs(a.positions[k] - b.positions[k]) for k in a.positions) <= 1e-9


def test_batched_engine_leaves_sorted_sums_to_the_per_run_engine(monkeypatch):
    p = BDMParams()
    assert bdm_batch.unsupported(p) is None and bdm_batch.unsupported(p, SORTED_MIN_ACTORS - 1) is None
    assert "sorted" in bdm_batch.unsupported(p, SORTED_MIN_ACTORS)
    assert bdm_batch.unsupported(BDMParams(vote_sums="pairwise"), 500) is None
    assert "sorted" in bdm_batch.unsupported(BDMParams(vote_sums="sorted"))
    x = np.tile(np.linspace(0, 10, SORTED_MIN_ACTORS), (2, 1))
    with pytest.raises(ValueError, match="per-run engine"):
        bdm_batch.run_batch_issue(x, np.ones_like(x), np.ones_like(x), 0.0, 10.0, p, np.random.default_rng(0))
    # the Monte Carlo summary of a 64-actor issue runs the per-run loop (the batch is not called)
    monkeypatch.setattr(bdm_batch, "run_batch_issue", lambda *a, **k: (_ for _ in ()).throw(AssertionError("batched")))
    scn = _random_scenario(SORTED_MIN_ACTORS, 1)
    out = bdm._monte_carlo(scn, "x", BDMParams(rounds=1, monte_carlo=2), np.random.default_rng(0), None)
    assert out["runs"] == 2
