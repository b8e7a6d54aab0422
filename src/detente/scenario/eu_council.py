"""The Council of the EU as a voting body for the DEU data (members and weights by wave),
and the Shapley–Shubik power index of weighted voting games, computed exactly by dynamic
programming over (coalition size, coalition weight) — never by enumerating permutations —
and the Council of the EU voting games of the three DEU waves.

The Shapley–Shubik index of player ``i`` is the share of the ``n!`` orderings in which ``i``
is pivotal:

.. math:: \\phi_i = \\sum_{S \\subseteq N\\setminus\\{i\\}:\\ S \\text{ loses},\\ S\\cup\\{i\\} \\text{ wins}}
          \\frac{|S|!\\,(n-|S|-1)!}{n!}.

Counting the coalitions ``S`` of the other players by size ``k`` and integer weight ``w``
(a subset-sum table) gives every term at once: ``O(n² W)`` operations for all players,
where ``W`` is the total weight in integer units (weights are scaled to integers with a
stated resolution).

Council voting games used (documented in ``docs/deu-benchmark.md``)
-------------------------------------------------------------------
* ``DEU I`` (1996–2001, EU-15, pre-Nice weights, total 87): a qualified majority is
  **62 of 87** votes.
* ``DEU II`` (2003–2009): Nice weights; the game is the **EU-27** one, **255 of 345** votes
  and a majority of member states (14 of 27). Croatia (7 votes in ``council_weights.csv``,
  total 352) joined only in 2013 and holds no DEU II position, so it is left out; the EU-25
  (232/321, 2004–2006) and pre-enlargement phases are not distinguished (a simplification).
  The Nice 62 % population safety net is ignored.
* ``DEU III`` (2012–2019, EU-28, Lisbon double majority with the population proxy of
  ``council_weights.csv``): **at least 55 % of members (16 of 28) and 65 % of population**;
  a blocking minority needs at least 4 members, so 25 members always win.
* Unanimity: every member is a veto player; ``φ_i = 1/n``.

References
----------
.. [1] Shapley, L. S. & Shubik, M. (1954). "A method for evaluating the distribution of
   power in a committee system." *American Political Science Review* 48(3).
.. [2] Felsenthal, D. S. & Machover, M. (1998). *The Measurement of Voting Power*. Elgar.
   (Generating-function / dynamic-programming computation.)
.. [3] Thomson, R. et al. (eds.) (2006). *The European Union Decides*, CUP (Council weights
   as capabilities in DEU models).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from functools import cache

import numpy as np

__all__ = ["shapley_shubik", "council_power", "council_game", "COUNCIL_WEIGHTS", "WAVES", "DEU_ACTORS", "STATES", "wave_members"]

WinRule = Callable[[np.ndarray, np.ndarray], np.ndarray]

#: DEU actor codes in column order (Commission, Parliament, member states).
DEU_ACTORS: tuple[str, ...] = (
    "com", "ep", "at", "be", "bu", "cr", "cy", "cz", "dk", "ee", "fi", "fr", "de", "el", "hu",
    "ie", "it", "lv", "lt", "lu", "mt", "nl", "pl", "pt", "ro", "si", "sk", "es", "se", "uk",
)
STATES: tuple[str, ...] = DEU_ACTORS[2:]

#: Council weights by DEU wave (the values of ``council_weights.csv`` of the DEU data).
COUNCIL_WEIGHTS: dict[str, dict[str, float]] = {
    "DEU I": {"de": 10, "fr": 10, "it": 10, "uk": 10, "es": 8, "be": 5, "el": 5, "nl": 5, "pt": 5,
              "at": 4, "se": 4, "dk": 3, "ie": 3, "fi": 3, "lu": 2},
    "DEU II": {"de": 29, "fr": 29, "it": 29, "uk": 29, "es": 27, "pl": 27, "ro": 14, "nl": 13,
               "be": 12, "cz": 12, "el": 12, "hu": 12, "pt": 12, "at": 10, "bu": 10, "se": 10,
               "dk": 7, "ie": 7, "lt": 7, "sk": 7, "fi": 7, "cr": 7, "cy": 4, "ee": 4, "lv": 4,
               "lu": 4, "si": 4, "mt": 3},
    "DEU III": {"de": 82.5, "fr": 67.0, "uk": 65.8, "it": 60.6, "es": 46.5, "pl": 38.0, "ro": 19.6,
                "nl": 17.1, "be": 11.4, "el": 10.8, "cz": 10.6, "pt": 10.3, "se": 10.0, "hu": 9.8,
                "at": 8.8, "bu": 7.1, "dk": 5.7, "fi": 5.5, "sk": 5.4, "ie": 4.8, "cr": 4.2,
                "lt": 2.8, "si": 2.1, "lv": 2.0, "ee": 1.3, "cy": 0.85, "lu": 0.59, "mt": 0.46},
}

WAVES = ("DEU I", "DEU II", "DEU III")


def wave_members(wave: str) -> tuple[str, ...]:
    """Member states of the Council voting game of a wave (see :func:`council_power`).

    DEU I: EU-15; DEU II: EU-27 (Croatia, listed in ``council_weights.csv``, joined only in
    2013 and holds no DEU II position); DEU III: EU-28.
    """
    w = COUNCIL_WEIGHTS.get(wave, COUNCIL_WEIGHTS["DEU III"])
    members = tuple(a for a in STATES if a in w)
    if wave == "DEU II":
        members = tuple(a for a in members if a != "cr")
    return members



def _subset_table(w: np.ndarray, total: int) -> np.ndarray:
    """cnt[k, v] = number of subsets of size k and weight v (float64, exact below 2**53)."""
    n = len(w)
    cnt = np.zeros((n + 1, total + 1))
    cnt[0, 0] = 1.0
    for j, wj in enumerate(w):
        for k in range(j + 1, 0, -1):
            cnt[k, wj:] += cnt[k - 1, : total + 1 - wj]
    return cnt


def shapley_shubik(
    weights: Sequence[float],
    quota: float,
    *,
    min_members: int = 0,
    always_win_members: int | None = None,
    resolution: float = 1.0,
) -> np.ndarray:
    """Exact Shapley–Shubik indices of a weighted voting game.

    A coalition with weight ``w`` and ``k`` members wins iff ``k >= min_members`` and
    (``w >= quota`` or ``k >= always_win_members``).

    Parameters
    ----------
    weights
        Non-negative voting weights.
    quota
        Weight a coalition needs (same units as ``weights``).
    min_members
        Additional count quota (double-majority games).
    always_win_members
        Coalitions with at least this many members win whatever their weight (the Lisbon
        "blocking minority needs 4 members" clause); ``None`` for none.
    resolution
        Weights and quota are expressed in integer multiples of this unit (rounded) for the
        dynamic programme; use e.g. ``0.01`` for populations in millions.

    Returns
    -------
    numpy.ndarray
        The indices, summing to 1 (when the grand coalition wins).

    Examples
    --------
    >>> shapley_shubik([2, 1, 1], 3).round(4).tolist()
    [0.6667, 0.1667, 0.1667]
    >>> shapley_shubik([1, 1, 1], 3).tolist()   # unanimity
    [0.3333333333333333, 0.3333333333333333, 0.3333333333333333]
    """
    wf = np.asarray(weights, float)
    if np.any(wf < 0):
        raise ValueError("weights must be non-negative")
    w = np.rint(wf / resolution).astype(np.int64)
    q = math.ceil(quota / resolution - 1e-9)
    n = len(w)
    total = int(w.sum())
    cnt = _subset_table(w, total)
    k = np.arange(n + 1)[:, None]
    v = np.arange(total + 1)[None, :]

    def wins(kk: np.ndarray, vv: np.ndarray) -> np.ndarray:
        ok = vv >= q
        if always_win_members is not None:
            ok = ok | (kk >= always_win_members)
        return ok & (kk >= min_members)

    coef = np.array([math.factorial(s) * math.factorial(n - s - 1) / math.factorial(n) for s in range(n)])
    phi = np.zeros(n)
    for i in range(n):
        wi = int(w[i])
        # remove player i from the table: c_i[k, v] = cnt[k, v] - c_i[k-1, v - wi]
        ci = np.empty((n, total + 1))
        ci[0] = cnt[0]
        for kk in range(1, n):
            ci[kk] = cnt[kk].copy()
            if wi == 0:
                ci[kk] -= ci[kk - 1]
            else:
                ci[kk, wi:] -= ci[kk - 1, : total + 1 - wi]
        k_n = k[:n]
        lose = ~wins(k_n, v)
        vplus = np.minimum(v + wi, total)
        pivot = lose & wins(k_n + 1, vplus)
        phi[i] = float(np.sum(np.where(pivot, ci, 0.0).sum(axis=1) * coef))
    return phi


def council_game(wave: str) -> tuple[tuple[str, ...], dict]:
    """Members (DEU codes) and the ``shapley_shubik`` keyword arguments of a wave's QMV game."""
    members = wave_members(wave)
    wts = [float(COUNCIL_WEIGHTS[wave if wave in COUNCIL_WEIGHTS else "DEU III"][m]) for m in members]
    if wave == "DEU I":
        kw = {"quota": 62.0}
    elif wave == "DEU II":
        kw = {"quota": 255.0, "min_members": 14}
    else:
        kw = {"quota": 0.65 * sum(wts), "min_members": 16, "always_win_members": len(members) - 3,
              "resolution": 0.01}
    return members, {"weights": wts, **kw}


@cache
def _council_power(wave: str, rule: str) -> tuple[tuple[str, float], ...]:
    members, kw = council_game(wave)
    if rule == "unanimity":
        phi = np.full(len(members), 1.0 / len(members))
    else:
        phi = shapley_shubik(**kw)
    return tuple(zip(members, (float(x) for x in phi)))


def council_power(wave: str, rule: str = "qmv") -> Mapping[str, float]:
    """Shapley–Shubik index of each member state (DEU code → index) in the Council voting
    game of ``wave`` (``"DEU I"``, ``"DEU II"``, ``"DEU III"``) under ``rule`` (``"qmv"`` or
    ``"unanimity"``). Cached.

    Examples
    --------
    >>> p = council_power("DEU I")
    >>> round(sum(p.values()), 10)
    1.0
    >>> p["de"] > p["es"] > p["be"] > p["at"] > p["dk"] > p["lu"]
    True
    """
    return dict(_council_power(wave, rule))
