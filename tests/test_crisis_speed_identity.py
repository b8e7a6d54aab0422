"""The crisis engine's speed-ups give the same bits as the plain numpy they replace (issue 17).

Each helper is checked element by element (``tobytes``) against the numpy expression it stands
for, on inputs that reach its special cases (NaN, signed zeros, infinities, short arrays, the
fallback). The engine as a whole is pinned by ``tests/test_crisis_regression.py``.
"""

from __future__ import annotations

import numpy as np
import pytest

from detente.crisis import engine as E
from detente.crisis import kernels as K


def _same(a: np.ndarray, b: np.ndarray) -> None:
    a, b = np.asarray(a), np.asarray(b)
    assert a.dtype == b.dtype and a.shape == b.shape
    assert a.tobytes() == b.tobytes()


@pytest.mark.parametrize("case", ["mostly_equal", "all_equal", "many_differ", "nan_first", "signed_zero", "short", "inf"])
def test_exp_common_is_np_exp_bit_for_bit(case):
    rng = np.random.default_rng(3)
    x = np.full(500, -0.37)
    if case == "mostly_equal":
        x[rng.choice(500, 40, replace=False)] = rng.normal(size=40)
    elif case == "many_differ":
        x = rng.normal(size=500)
    elif case == "nan_first":
        x[0] = np.nan
        x[7] = 2.0
    elif case == "signed_zero":
        x[:] = 0.0
        x[1::3] = -0.0
    elif case == "short":
        x = rng.normal(size=10)
    elif case == "inf":
        x[:] = -np.inf
        x[::50] = 1.5
    _same(K.exp_common(x), np.exp(x))


@pytest.mark.parametrize("base", [0.7, np.float64(1.3), "array", np.nan])
def test_power_sparse_is_np_power_bit_for_bit(base):
    rng = np.random.default_rng(4)
    expo = np.zeros(300, np.int32)
    expo[rng.choice(300, 30, replace=False)] = rng.integers(1, 5, 30)
    b = rng.uniform(0.1, 0.99, 300) if isinstance(base, str) else base
    _same(E._power_sparse(b, expo), np.power(b, expo))
    fexpo = expo.astype(float)
    fexpo[5] = 0.5
    _same(E._power_sparse(b, fexpo), np.power(b, fexpo))
    _same(E._power_sparse(b, np.zeros(300)), np.power(b, np.zeros(300)))


def test_clip_is_np_clip():
    x = np.array([-2.0, -0.0, 0.0, 0.5, 1.0, 3.0, np.nan, np.inf, -np.inf])
    _same(K.clip(x, 0.0, 1.0), np.clip(x, 0.0, 1.0))
    _same(K.clip(x, -1, 1), np.clip(x, -1, 1))
    i = np.array([-3, 0, 2, 9], np.int64)
    _same(K.clip(i, 0, 3), np.clip(i, 0, 3))


@pytest.mark.parametrize("block", [1, 3, 8, 64])
def test_preventive_tail_blocks_give_the_same_first_war(monkeypatch, block):
    """The fast path builds the tail's believed paths TAIL_BLOCK months at a time: any block size
    gives the month-by-month answer, with cliffs spread over the whole look-ahead."""
    rng = np.random.default_rng(5)
    n, L, delta = 4000, 48, 0.95 ** (1 / 12)
    ratio = rng.uniform(0.3, 3.0, n)
    drift = rng.uniform(-0.004, 0.002, n)
    cliff = rng.integers(-3, L + 3, n).astype(float)
    size = rng.uniform(-0.05, 0.4, n)
    kw = dict(L=L, delta=delta, c_D=rng.uniform(0.0, 0.4, n), c_R=rng.uniform(0.0, 0.4, n), phi=rng.uniform(0, 1, n))
    full = K.preventive_first_war(ratio, 0.002, drift, cliff, size, fast=False, **kw)
    monkeypatch.setattr(K, "TAIL_BLOCK", block)
    got = K.preventive_first_war(ratio, 0.002, drift, cliff, size, **kw)
    per_row = K.preventive_first_war(ratio, np.full(n, 0.002), drift, cliff, size, **kw)
    assert (full >= 0).sum() > 50          # the case has wars at many months
    np.testing.assert_array_equal(got, full)
    np.testing.assert_array_equal(per_row, full)


def test_full_pass_matches_the_backward_step_recursion():
    """The full pass (its backward step inlined, war updates only when a row goes to war) gives
    the first war of markov_path_batch, which runs the reference _backward_step."""
    rng = np.random.default_rng(6)
    n, L, delta = 2000, 36, 0.95 ** (1 / 12)
    ratio = rng.uniform(0.3, 3.0, n)
    g, drift = 0.01, rng.uniform(-0.01, 0.0, n)
    cliff = rng.integers(1, L, n).astype(float)
    size = rng.uniform(0.0, 0.3, n)
    cD, cR, phi = rng.uniform(0, 0.3, n), rng.uniform(0, 0.3, n), rng.uniform(0, 1, n)
    tot = 1.0 / (1.0 - delta)
    k = np.arange(L)[:, None]
    p = 1.0 / (1.0 + ratio[None, :] * np.exp(g * k)) + drift[None, :] * k
    p = np.where(cliff[None, :] <= k, p - size[None, :], p)
    p = np.clip(p, 1e-4, 1.0 - 1e-4)
    MD = p * tot - cD[None, :]
    MR = (tot - cD - cR)[None, :] - MD
    ref = K.markov_path_batch(MD, MR, delta=delta, tot=tot, C=cD + cR, phi=phi)
    got = K._preventive_full(ratio, g, drift, cliff, size, L=L, delta=delta, c_D=cD, c_R=cR, phi=phi)
    assert (ref >= 0).sum() > 50
    np.testing.assert_array_equal(got, ref)


@pytest.mark.parametrize("per_row", [False, True])
def test_full_pass_row_by_row_equals_the_array_pass(monkeypatch, per_row):
    """A few rows take the Python-float pass (kernels.SCALAR_ROWS): the same first wars as the
    array pass, with and without a cliff, drift and one trend per row."""
    rng = np.random.default_rng(7)
    n, L, delta = 400, 48, 0.95 ** (1 / 12)
    ratio = rng.uniform(0.3, 3.0, n)
    g = rng.uniform(0.0, 0.02, n) if per_row else 0.012
    drift = rng.uniform(-0.01, 0.002, n)
    cliff = rng.integers(-2, L + 2, n).astype(float)
    size = rng.uniform(-0.05, 0.3, n)
    kw = dict(L=L, delta=delta, c_D=rng.uniform(0, 0.3, n), c_R=rng.uniform(0, 0.3, n), phi=rng.uniform(0, 1, n))
    monkeypatch.setattr(K, "SCALAR_ROWS", 0)
    arr = K._preventive_full(ratio, g, drift, cliff, size, **kw)
    arr_plain = K._preventive_full(ratio, g, 0.0, None, 0.0, **kw)
    monkeypatch.setattr(K, "SCALAR_ROWS", n)
    rows = K._preventive_full(ratio, g, drift, cliff, size, **kw)
    rows_plain = K._preventive_full(ratio, g, 0.0, None, 0.0, **kw)
    assert (arr >= 0).sum() > 50 and (arr_plain >= 0).sum() > 20
    np.testing.assert_array_equal(rows, arr)
    np.testing.assert_array_equal(rows_plain, arr_plain)
    bad = ratio.copy()
    bad[3] = np.nan                      # not finite: the array pass runs (NaN propagates as in numpy)
    monkeypatch.setattr(K, "SCALAR_ROWS", 0)
    want = K._preventive_full(bad, g, drift, cliff, size, **kw)
    monkeypatch.setattr(K, "SCALAR_ROWS", n)
    np.testing.assert_array_equal(K._preventive_full(bad, g, drift, cliff, size, **kw), want)


@pytest.mark.parametrize("per_row", [False, True])
def test_fast_path_row_by_row_equals_the_array_tail(monkeypatch, per_row):
    """A few cliff candidates take the Python-float tail pass (kernels.TAIL_SCALAR_ROWS): the same first
    wars as the array tail pass, cliffs all over the look-ahead, wars included."""
    rng = np.random.default_rng(8)
    L, delta = 48, 0.95 ** (1 / 12)
    seen_war = 0
    for _rep in range(40):
        n = 10
        ratio = rng.uniform(0.3, 3.0, n)
        g = rng.uniform(0.0, 0.004, n) if per_row else 0.002
        drift = rng.uniform(-0.0005, 0.0005, n)
        cliff = rng.integers(1, L, n).astype(float)
        size = rng.uniform(0.0, 0.5, n)
        kw = dict(L=L, delta=delta, c_D=rng.uniform(0, 0.2, n), c_R=rng.uniform(0, 0.2, n), phi=rng.uniform(0, 1, n))
        monkeypatch.setattr(K, "TAIL_SCALAR_ROWS", 0)
        arr = K.preventive_first_war(ratio, g, drift, cliff, size, **kw)
        monkeypatch.setattr(K, "TAIL_SCALAR_ROWS", 64)
        rows = K.preventive_first_war(ratio, g, drift, cliff, size, **kw)
        np.testing.assert_array_equal(rows, arr)
        seen_war += int((arr >= 0).sum())
    assert seen_war > 20
