"""Shapley–Shubik by dynamic programming against brute-force permutations."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from detente.scenario.eu_council import council_power, shapley_shubik


def brute(w, q, mm=0, always=None):
    n = len(w)
    phi = np.zeros(n)
    for perm in itertools.permutations(range(n)):
        s = 0
        for k, p in enumerate(perm, start=1):
            s += w[p]
            if k >= mm and (s >= q or (always is not None and k >= always)):
                phi[p] += 1
                break
    return phi / math.factorial(n)


@pytest.mark.parametrize("w,q,mm,always", [
    ([4, 3, 2, 1, 1], 6, 0, None),
    ([5, 5, 3, 2, 1, 1, 1], 10, 4, None),
    ([3, 0, 2, 2], 4, 0, None),
    ([7, 4, 4, 2, 1, 1], 14, 3, 5),
])
def test_dp_equals_enumeration(w, q, mm, always):
    assert shapley_shubik(w, q, min_members=mm, always_win_members=always) == pytest.approx(brute(w, q, mm, always), abs=1e-12)


def test_council_games():
    p1 = council_power("DEU I")
    assert p1["de"] == pytest.approx(0.11667, abs=1e-5) and p1["lu"] == pytest.approx(0.02070, abs=1e-4)
    for wave in ("DEU I", "DEU II", "DEU III"):
        p = council_power(wave)
        assert sum(p.values()) == pytest.approx(1.0)
        u = council_power(wave, "unanimity")
        assert len(set(round(v, 12) for v in u.values())) == 1
    assert "cr" not in council_power("DEU II") and "cr" in council_power("DEU III")
