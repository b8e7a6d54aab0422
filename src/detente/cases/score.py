"""Scoring the frozen ICB fit on the test crises (``preregistration/icb_crisis_engine.md`` §5–6).

Forecasts are the Rao–Blackwellised probabilities of :mod:`detente.cases.fit` over engine rung
paths with the frozen coefficients; baselines are the training base rate and an unpenalised
logistic regression (``statsmodels`` ``Logit``) on the same trigger-time features. Scores:
Brier, log score, AUC (``scipy.stats.mannwhitneyu``), Brier skill against the base rate,
reliability bins, and paired bootstrap intervals over test crises.

References
----------
Brier (1950, *Monthly Weather Review* 78(1)); Gneiting & Raftery (2007, *JASA* 102(477));
Efron & Tibshirani (1993), *An Introduction to the Bootstrap*; Hanley & McNeil (1982,
*Radiology* 143(1)) for the AUC as a Mann–Whitney statistic.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import stats

from detente.cases.fit import FEATURES, HORIZON, _exposure, probe_counts
from detente.cases.icb import IcbCase

__all__ = ["brier", "log_score", "auc", "reliability", "forecast_case", "features_row", "logit_baseline",
           "paired_bootstrap", "BOOT_B", "BOOT_SEED"]

BOOT_B, BOOT_SEED = 10_000, 20261206


def brier(p: np.ndarray, y: np.ndarray) -> float:
    """Mean squared error of probability forecasts ``p`` for 0/1 outcomes ``y``.

    >>> brier(np.array([0.5, 1.0]), np.array([1, 1]))
    0.125
    """
    return float(np.mean((np.asarray(p, float) - np.asarray(y, float)) ** 2))


def log_score(p: np.ndarray, y: np.ndarray) -> float:
    """Mean log probability of the observed outcome (natural log; no clipping: −inf if a sure forecast misses)."""
    p, y = np.asarray(p, float), np.asarray(y, int)
    with np.errstate(divide="ignore"):
        return float(np.mean(np.where(y == 1, np.log(p), np.log1p(-p))))


def auc(p: np.ndarray, y: np.ndarray) -> float:
    """Area under the ROC curve = U / (n₁ n₀) of the Mann–Whitney test (ties count ½)."""
    p, y = np.asarray(p, float), np.asarray(y, int)
    pos, neg = p[y == 1], p[y == 0]
    if len(pos) == 0 or len(neg) == 0:
        return float("nan")
    return float(stats.mannwhitneyu(pos, neg, alternative="two-sided").statistic / (len(pos) * len(neg)))


def reliability(p: np.ndarray, y: np.ndarray, bins: int = 5) -> list[dict[str, Any]]:
    """Equal-count bins of the forecasts: mean forecast, observed share and its Wilson 90 % interval."""
    from detente.crisis.calibration import wilson_interval

    order = np.argsort(p, kind="stable")
    out = []
    for idx in np.array_split(order, bins):
        if len(idx) == 0:
            continue
        k, n = int(np.sum(y[idx])), len(idx)
        lo, hi = wilson_interval(k, n, z=1.6448536269514722)
        out.append({"n": n, "mean_forecast": float(np.mean(p[idx])), "observed": k / n, "wilson90": [lo, hi]})
    return out


def features_row(case: IcbCase, std: dict[str, tuple[float, float]]) -> np.ndarray:
    """The case's features, standardised with the frozen training mean and SD (as in the fit)."""
    f = case.features()
    return np.array([(f[k] - std[k][0]) / std[k][1] if k in std else float(f[k]) for k in FEATURES])


def forecast_case(case: IcbCase, theta: np.ndarray, std: dict[str, tuple[float, float]], down_m: float,
                  runs: int, with_trigger: bool) -> dict[str, Any]:
    """Frozen-engine forecast of one crisis: ``p_war``, ``p_violence``, month distribution of first violence.

    Averages, over ``runs`` engine rung paths (probe run, seed of the crisis), the probabilities
    given each path (``P(first violence in month m)`` for m = 0..11, normalised by
    ``p_violence`` in ``p_onset_by_month``).
    """
    x = features_row(case, std)
    eta = float(x @ theta[2:6]) + (float(theta[7]) * float(case.features()["violent_trigger"] or 0) if with_trigger else 0.0)
    lv, lw = math.exp(theta[0] + eta), math.exp(theta[1] + eta)
    cnt = probe_counts(case, down_m, runs).astype(float)             # (R, 13, 2, 3)
    E = _exposure(cnt, float(theta[6]))                               # (R, 13, 2)
    S = np.exp(-lv * E[..., 0]) * np.exp(-lw * E[..., 1])             # P(no onset of either before t)
    first = (S[:, :-1] - S[:, 1:]).mean(axis=0)                       # (12,)
    p_war = float(np.mean(1 - np.exp(-lw * E[:, -1, 1])))
    p_v = float(np.mean(1 - S[:, -1]))
    return {"p_war": p_war, "p_violence": p_v,
            "p_onset_by_month": {str(m): float(first[m] / p_v) if p_v > 0 else 0.0 for m in range(HORIZON)}}


def logit_baseline(X_train: np.ndarray, y_train: np.ndarray, X_test: np.ndarray) -> np.ndarray:
    """Unpenalised logistic regression (statsmodels ``Logit``, with an intercept)."""
    import statsmodels.api as sm

    m = sm.Logit(y_train, sm.add_constant(X_train, has_constant="add")).fit(disp=0, maxiter=200)
    return np.asarray(m.predict(sm.add_constant(X_test, has_constant="add")), float)


def paired_bootstrap(y: np.ndarray, forecasts: dict[str, np.ndarray], base: str, *, B: int = BOOT_B,
                     seed: int = BOOT_SEED, level: float = 0.9) -> dict[str, Any]:
    """Percentile intervals over resampled test crises (same resample for every model)."""
    rng = np.random.default_rng(seed)
    n = len(y)
    idx = rng.integers(0, n, size=(B, n))
    a = (1 - level) / 2
    out: dict[str, Any] = {}
    yb = y[idx]
    bb = np.mean((forecasts[base][idx] - yb) ** 2, axis=1)
    for name, p in forecasts.items():
        if name == base:
            continue
        b = np.mean((p[idx] - yb) ** 2, axis=1)
        bss = 1 - b / bb
        out[name] = {"bss_vs_" + base: [float(np.quantile(bss, a)), float(np.quantile(bss, 1 - a))],
                     "brier_minus_" + base: [float(np.quantile(b - bb, a)), float(np.quantile(b - bb, 1 - a))]}
    return out
