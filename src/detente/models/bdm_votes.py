"""Vote sums of the BDM expected-utility model in O(n^2 log n) for linear utilities (issue 17).

The probability that actor i beats actor j (:func:`detente.models.bdm.probability_matrix`)
is a ratio of sums over voters k of ``v_k = w_k (a[k, j] - a[k, i])``, ``a[k, i]`` voter k's
distance to actor i. Summed voter by voter (``bdm._vote_sums``) that is O(n^3) per matrix. When
the utilities are linear in distance (no voter exponents, or all of them 1), each sum splits at
the midpoint of the two actors and the sorted voters' prefix sums give it in O(n^2 log n)
(:func:`vote_sums_sorted`). Same sums in real arithmetic, different round-off: the model chooses
through ``BDMParams.vote_sums`` (see ``docs/models/bdm.md``, "Many actors").

References
----------
.. [1] Bueno de Mesquita, B. (1994). "Political forecasting: an expected utility method." In
   Bueno de Mesquita & Stokman (eds.), *European Community Decision Making*. Yale UP (the votes).
.. [2] Black, D. (1948). "On the rationale of group decision-making." *Journal of Political
   Economy* 56(1):23-34 (with single-peaked preferences a voter backs the nearer alternative, so
   each contest splits at the midpoint).
"""

from __future__ import annotations

import numpy as np

__all__ = ["BLOCK_ELEMENTS", "CANCELLATION", "left_support", "vote_sums_sorted"]

#: Elements of one row block of :func:`left_support` (32,768 floats, 256 kB per buffer: the
#: buffers stay in cache at any n). Speed and memory only; elementwise work, so the same bits.
BLOCK_ELEMENTS = 32768

#: A contest whose prefix-sum bracket cancels by more than this factor is summed directly
#: (:func:`left_support`).
CANCELLATION = 1024.0


def left_support(ys: np.ndarray, ws: np.ndarray) -> np.ndarray:
    """For positions ``ys`` sorted ascending (weights ``ws``), ``H[i, j]`` for ``i < j`` is the vote
    for the left actor i against the right actor j, ``sum_k w_k max(0, |y_k - y_j| - |y_k - y_i|)``
    (raw distances; entries with ``i >= j`` are zero or unused).

    With ``L = y_i < R = y_j``, ``D = R - L`` and midpoint ``m = (L + R) / 2``, voter k's vote is
    ``w_k D`` when ``y_k <= L``, ``2 w_k (m - y_k)`` when ``L < y_k < R`` (positive only below m) and
    negative from m on, so ``H = D W(y <= L) + 2 [(D/2) W(L < y < m) - sum_{L < y_k < m} w_k (y_k - L)]``.
    ``W(y <= L)`` is a prefix sum over the sorted voters; the two sums over ``L < y < m`` are
    prefix sums along row i that start at 0 right after the actors at L, so each is the sum of
    only its own terms (a difference of global prefix sums would carry the round-off of
    everything summed before L), and ``D``, ``y_k - L`` are taken from the positions directly.
    Voters exactly at m vote 0 and are left out (``y < m`` strictly), so a contest in which every
    weighted voter is equidistant sums to exactly 0, as the pairwise sums do.

    The bracket cancels when the voters between L and m sit close to m; where it has lost more
    than :data:`CANCELLATION` (1024) times the result (``(D/2) W + sum w (y - L) > 1024 H``, which
    also catches a result rounded to zero or below), that contest is summed directly over the
    voters, ``sum_k w_k max(0, |y_k - R| - |y_k - L|)``, as the pairwise sums would (rare: it needs
    nearly all the weight of the contest within a few rounding errors of its midpoint).
    """
    n = len(ys)
    W = np.cumsum(ws)
    at_or_left = np.searchsorted(ys, ys, "right")  # voters with y <= y_i (ties with i included)
    H = np.zeros((n, n))
    b = max(1, min(n, BLOCK_ELEMENTS // max(n, 1)))
    col = np.arange(n)
    cw, cx = np.zeros((b, n + 1)), np.zeros((b, n + 1))  # cw[:, t] = sum over voters a_i <= k < t
    for i0 in range(0, n, b):
        i1 = min(n, i0 + b)
        L, a = ys[i0:i1, None], at_or_left[i0:i1, None]
        dw = np.where(col[None, :] >= a, ws[None, :], 0.0)  # weights of the voters right of L
        dx = dw * (ys[None, :] - L)
        np.cumsum(dw, axis=1, out=cw[: i1 - i0, 1:])
        np.cumsum(dx, axis=1, out=cx[: i1 - i0, 1:])
        R = ys[None, i0:]  # columns j >= i0; those with j <= i are discarded by the caller
        D = R - L
        below_m = np.maximum(np.searchsorted(ys, 0.5 * (L + R), "left"), a)  # voters with y < m, at least a
        rows = np.arange(i1 - i0)[:, None]
        half, inner = 0.5 * D * cw[rows, below_m], cx[rows, below_m]
        h = D * W[a - 1] + 2.0 * (half - inner)
        bad = (half + inner > CANCELLATION * h) & (col[None, i0:] > col[i0:i1, None])
        if bad.any():
            r, c = np.nonzero(bad)
            h[bad] = _direct(ys, ws, r, c, i0)
        H[i0:i1, i0:] = h
    return H


def _direct(ys: np.ndarray, ws: np.ndarray, r: np.ndarray, c: np.ndarray, i0: int) -> np.ndarray:
    """``sum_k w_k max(0, |y_k - y_j| - |y_k - y_i|)`` for the pairs ``i = i0 + r``, ``j = i0 + c``,
    summed over voters in order, in chunks of about :data:`BLOCK_ELEMENTS` elements."""
    out = np.full(len(r), np.nan)
    step = max(1, BLOCK_ELEMENTS // max(len(ys), 1))
    for p0 in range(0, len(r), step):
        L, R = ys[i0 + r[p0:p0 + step], None], ys[i0 + c[p0:p0 + step], None]
        v = np.maximum(np.abs(ys[None, :] - R) - np.abs(ys[None, :] - L), 0.0) * ws[None, :]
        out[p0:p0 + step] = np.cumsum(v, axis=1)[:, -1]
    return out


def vote_sums_sorted(y: np.ndarray, w: np.ndarray, delta: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The vote sums of :func:`detente.models.bdm._vote_sums` for linear utilities, ``a[k, i] = |y_k - y_i| / delta``,
    in O(n^2 log n) instead of O(n^3): ``(pos, abs, net)`` with ``pos[i, j] = sum_k max(0, v_k)``,
    ``abs = sum_k |v_k|`` and ``net = sum_k v_k`` for ``v_k = w_k (a[k, j] - a[k, i])``.

    In one dimension a voter prefers the nearer of the two actors, so the positive votes for i
    against j come from the voters on i's side of their midpoint (the sum splits at the
    midpoint, as for the weighted median; cf. Black 1948 on single-peaked preferences), and
    after sorting the voters by position each side is a few prefix sums (:func:`left_support`;
    the right actor's side is the left side of the mirrored positions ``-y``, so both sides
    sum from their own actor outwards). Then ``abs = pos + pos.T`` and ``net = pos - pos.T``.
    Exact in real arithmetic; the round-off differs from the voter-order sums: in
    ``tests/test_bdm_vote_sums_sorted.py`` these are within 1e-14 relative of sums in extended
    precision and agree with the pairwise sums to 1e-12 relative on the unit scale, 1e-11 on
    input scales (where the difference is the pairwise sums' own round-off).
    """
    n = len(y)
    order = np.argsort(y, kind="stable")
    ys, ws = y[order], w[order]
    left = left_support(ys, ws)  # [i, j], i < j: the vote for i (left) against j
    right = left_support(-ys[::-1], ws[::-1])[::-1, ::-1]  # [j, i], j > i: the vote for j (right) against i
    srt = np.triu(left, 1) + np.tril(right, -1)
    inv = np.empty(n, dtype=np.intp)
    inv[order] = np.arange(n)
    pos = srt[inv[:, None], inv[None, :]]
    return pos / delta, (pos + pos.T) / delta, (pos - pos.T) / delta  # no -0.0: x - x is +0.0
