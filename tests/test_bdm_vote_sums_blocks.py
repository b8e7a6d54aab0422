"""BDM vote sums computed in row blocks (for speed at many actors) are the same bits as the
whole-matrix sums over voters in order (issue 17)."""

from __future__ import annotations

import numpy as np
import pytest

from detente.models import bdm


def _whole(a: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The reference: one voter at a time over the full n x n matrices, sums in voter order."""
    n = a.shape[0]
    sp = sa = sn = None
    for k in range(n):
        v = (a[k][None, :] - a[k][:, None]) * w[k]
        t = np.fmax(v, 0.0)
        sn = v.copy() if k == 0 else sn + v
        sp = t.copy() if k == 0 else sp + t
        sa = np.abs(v) if k == 0 else sa + np.abs(v)
    return sp + 0.0, sa, sn + 0.0


@pytest.mark.parametrize("n,block", [(1, 32768), (7, 32768), (50, 100), (61, 7 * 61 + 5), (120, 120 * 3)])
def test_blocked_vote_sums_equal_whole_matrix_sums(monkeypatch, n, block):
    g = np.random.default_rng(n)
    y = g.uniform(0, 1, n)
    y[: n // 3] = y[0]                      # ties: zero votes and -0.0 sums
    w = g.uniform(0.1, 1, n)
    a = np.abs(y[:, None] - y[None, :]) ** g.uniform(0.5, 2, n)[:, None]
    monkeypatch.setattr(bdm, "VOTE_BLOCK_ELEMENTS", block)
    ref = _whole(a, w)
    pos, ab, net = bdm._vote_sums(a, w, pos=True, absolute=True, net=True)
    for got, want in zip((pos, ab, net), ref):
        assert got.tobytes() == want.tobytes()
    only = bdm._vote_sums(a, w, absolute=True)
    assert only[1].tobytes() == ref[1].tobytes() and not only[0].any() and not only[2].any()
    both = bdm._vote_sums(a, w, absolute=True, net=True)
    assert both[1].tobytes() == ref[1].tobytes() and both[2].tobytes() == ref[2].tobytes()


def test_probability_matrix_is_independent_of_the_block_size(monkeypatch):
    g = np.random.default_rng(9)
    y, w = g.uniform(0, 100, 90), g.uniform(0.1, 1, 90)
    out = {}
    for block in (90 * 90, 90 * 4, 1):
        monkeypatch.setattr(bdm, "VOTE_BLOCK_ELEMENTS", block)
        out[block] = [bdm.probability_matrix(y, w, rule=r, delta=100.0).tobytes() for r in ("printed", "net_vote", "all_pairs")]
    assert out[90 * 90] == out[90 * 4] == out[1]
