"""Frozen fits on history, read by name: the numbers a scenario takes with ``fit:``.

A *frozen fit* is a JSON record shipped under ``detente/data/`` that a fitting procedure wrote
once, with its provenance, and that nothing edits afterwards (the ICB crisis-engine fit,
``icb_engine.json``, written by :mod:`detente.cases.fit` as pre-registered in
``preregistration/icb_crisis_engine.md``). A scenario number that says

.. code-block:: yaml

    beta:
      rung: {fit: {file: icb_engine, variant: without_trigger, coefficient: beta_rung}}

takes its value from that record when the scenario is validated, and its ``source`` says which
file (with its SHA-256), which variant, which coefficient, its standard error and the period
the fit was trained on, so a report can label it "frozen fit on <period>". Nothing is copied by
hand into the scenario; changing the file changes the number.

Two kinds of reference (:meth:`FrozenFit.number`):

* ``coefficient: NAME`` — one fitted coefficient on its raw scale (the keys of the variant's
  ``coefficients``: ``beta_rung``, ``escalation_down_m``, ``log_base_war_m``, …);
* ``hazard: war|violence`` with ``features`` — the fitted monthly hazard floor
  ``exp(log_base_<outcome>_m + Σ_k β_k x_k)`` at the given trigger-time features (the linear
  predictor of :func:`detente.cases.icb.linear_predictor`).

Standard errors on the raw scale: a slope's SE is its standardised SE divided by the training
SD of its feature (:mod:`detente.cases.fit` standardises with the training mean and SD); the
SE of ``escalation_down_m`` is ``down_m · SE(log down_m)`` (delta method). The SE of an
intercept on the raw scale, and of a hazard at given features, needs the coefficients'
covariance: when the variant stores it (``covariance_standardised``: the inverse numerical
Hessian of −ℓ at the frozen point, on the standardised scale) they are delta-method SEs —
``log h = α_k + Σ_j β_j z_j`` with ``z_j`` the feature standardised with the training mean and SD
(raw for ``rivalry`` and ``violent_trigger``), so ``Var(log h) = gᵀ Σ g`` with ``g`` = 1 on
``α_k`` and ``z_j`` on ``β_j``, and ``SE(h) = h · SE(log h)`` (Oehlert 1992, *The American
Statistician* 46(1)); ``down_m`` is profiled, not in Σ, and does not enter the hazard floor.
Without a stored covariance they are reported as not available, with the SEs of their parts.

The engine holds no date or case: the fit's training period comes from its own record.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["FITS_DIR", "FitNumber", "FrozenFit", "load_fit", "fit_names", "spec_fit_summary"]

#: Folder of the frozen fits (``<name>.json``); tests point it at a temporary copy.
FITS_DIR = Path(__file__).resolve().parent.parent / "data"

#: Standardised coefficient (``se_standardised`` key) and standardised feature of each raw slope.
_SLOPES: dict[str, tuple[str, str | None]] = {
    "beta_log_cinc_ratio": ("beta_ratio", "log_cinc_ratio"),
    "beta_trend_gap": ("beta_trend", "trend_gap_m"),
    "beta_rivalry": ("beta_rivalry", None),
    "beta_log1p_mids": ("beta_mids", "log1p_prior_mids"),
    "beta_violent_trigger": ("beta_trigger", None),
    "beta_rung": ("beta_rung", None),
}

#: Feature of each slope in the hazard's linear predictor (``detente.cases.icb.PREDICTOR``).
_FEATURE_OF = {"beta_log_cinc_ratio": "log_cinc_ratio", "beta_trend_gap": "trend_gap_m",
               "beta_rivalry": "rivalry", "beta_log1p_mids": "log1p_prior_mids",
               "beta_violent_trigger": "violent_trigger"}


def fit_names() -> list[str]:
    """Names of the frozen fits found in :data:`FITS_DIR` (files with ``provenance`` and ``variants``)."""
    out = []
    for p in sorted(Path(FITS_DIR).glob("*.json")):
        try:
            rec = json.loads(p.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(rec, dict) and "variants" in rec and "provenance" in rec:
            out.append(p.stem)
    return out


@dataclass(frozen=True)
class FitNumber:
    """A number taken from a frozen fit: value, standard error (``None`` when the record cannot
    give one, with the reason in ``se_note``) and the provenance sentence used as its ``source``."""

    value: float
    se: float | None
    se_note: str
    source: str


@dataclass(frozen=True)
class FrozenFit:
    """One frozen fit record (see the module docstring)."""

    name: str
    path: Path
    sha256: str
    record: dict[str, Any]

    @property
    def dataset(self) -> str:
        """Short name of the data the fit was trained on (the record's ``provenance.dataset``, else
        ``ICB`` when its input files are the ICB tables, else the fit's name)."""
        prov = self.record.get("provenance") or {}
        if prov.get("dataset"):
            return str(prov["dataset"])
        files = prov.get("files") or {}
        return "ICB" if any(str(k).startswith("icb") for k in files) else self.name

    @property
    def period(self) -> str:
        """The training period as ``"<dataset> <first>–<last>"`` (from the record's provenance)."""
        tr = (self.record.get("provenance") or {}).get("train") or {}
        first, last = tr.get("first_year"), tr.get("last_year")
        return f"{first}–{last}" if first is not None and last is not None else "unknown period"

    @property
    def last_year(self) -> int | None:
        """Last year of the training period (``None`` when the record does not say)."""
        v = ((self.record.get("provenance") or {}).get("train") or {}).get("last_year")
        return int(v) if isinstance(v, (int, float)) else None

    def variants(self) -> list[str]:
        return sorted(self.record.get("variants") or {})

    def _variant(self, variant: str) -> dict[str, Any]:
        vs = self.record.get("variants") or {}
        if variant not in vs:
            raise ValueError(f"unknown variant {variant!r} of the frozen fit {self.name!r} ({self.path.name}); "
                             f"expected one of: {', '.join(sorted(vs)) or 'none'}")
        return vs[variant]

    def feature_names(self, variant: str) -> list[str]:
        """Features of the variant's linear predictor (one per slope it has)."""
        return [f for b, f in _FEATURE_OF.items() if b in (self._variant(variant).get("coefficients") or {})]

    def _head(self, variant: str) -> str:
        return (f"frozen fit {self.name} ({self.path.name}, sha256 {self.sha256[:12]}; fitted on {self.dataset} crises "
                f"{self.period}, {((self.record.get('provenance') or {}).get('train') or {}).get('crises', '?')} "
                f"crises; variant {variant})")

    def covariance(self, variant: str) -> tuple[list[str], list[list[float]]] | None:
        """The variant's stored covariance of the standardised coefficients (names, matrix), or ``None``."""
        cov = self._variant(variant).get("covariance_standardised")
        if not isinstance(cov, dict) or "names" not in cov or "matrix" not in cov:
            return None
        return list(cov["names"]), [list(map(float, row)) for row in cov["matrix"]]

    def log_hazard_se(self, variant: str, hazard: str, features: dict[str, float]) -> float | None:
        """Delta-method SE of ``log h = log_base_<hazard>_m + Σ β x`` at raw ``features`` (missing
        features count as 0: the raw intercept); ``None`` without a stored covariance."""
        cov = self.covariance(variant)
        if cov is None:
            return None
        names, m = cov
        std = (self.record.get("provenance") or {}).get("standardisation") or {}
        g = dict.fromkeys(names, 0.0)
        g["alpha_" + hazard] = 1.0
        for b, f in _FEATURE_OF.items():
            key, feat = _SLOPES[b]
            if key not in g:
                continue
            x = float(features.get(f, 0.0))
            if feat is not None:
                x = (x - float(std[feat]["mean"])) / float(std[feat]["sd"])
            g[key] = x
        vec = [g[n] for n in names]
        var = sum(vec[i] * m[i][j] * vec[j] for i in range(len(names)) for j in range(len(names)))
        return math.sqrt(max(var, 0.0))

    def se_of(self, variant: str, coefficient: str) -> tuple[float | None, str]:
        """Standard error of a raw-scale coefficient (see the module docstring) and how it was obtained."""
        v = self._variant(variant)
        se_std = v.get("se_standardised") or {}
        std = (self.record.get("provenance") or {}).get("standardisation") or {}
        if coefficient in _SLOPES:
            key, feat = _SLOPES[coefficient]
            if key not in se_std:
                return None, f"no standard error of {key} in the record"
            if feat is None:
                return float(se_std[key]), "from the numerical Hessian of the fit"
            sd = (std.get(feat) or {}).get("sd")
            if not sd:
                return None, f"no training SD of {feat} in the record"
            return float(se_std[key]) / float(sd), f"standardised SE / training SD of {feat}"
        if coefficient == "escalation_down_m":
            s = v.get("se_log_down_m")
            if s is None:
                return None, "no SE of log down_m in the record"
            return float(v["coefficients"][coefficient]) * float(s), "down_m · SE(log down_m) (profile curvature)"
        if coefficient.startswith("log_base_"):
            outcome = coefficient.removeprefix("log_base_").removesuffix("_m")
            alpha = "alpha_" + outcome
            se = self.log_hazard_se(variant, outcome, {})
            if se is not None:
                return se, ("delta method from the stored covariance (the raw intercept is α at standardised "
                            "features −mean/SD)")
            s = se_std.get(alpha)
            return None, ("not available on the raw scale: it needs the coefficients' covariance, which the frozen "
                          f"record does not store (SE of {alpha} at the training mean features: "
                          + (f"{float(s):.3g})" if s is not None else "not recorded)"))
        return None, "no standard error rule for this coefficient"

    def number(self, variant: str, *, coefficient: str | None = None, hazard: str | None = None,
               features: dict[str, float] | None = None, scale: float = 1.0, scale_note: str | None = None
               ) -> FitNumber:
        """The value a ``fit:`` reference stands for (``ValueError`` with the expected names otherwise)."""
        v = self._variant(variant)
        coefs = v.get("coefficients") or {}
        if (coefficient is None) == (hazard is None):
            raise ValueError("a fit reference takes exactly one of `coefficient: NAME` or `hazard: war|violence` "
                             "(with `features:`)")
        tail = "" if scale == 1.0 else f", × {scale:g} ({scale_note})"
        if coefficient is not None:
            if coefficient not in coefs:
                raise ValueError(f"unknown coefficient {coefficient!r} in the frozen fit {self.name!r} "
                                 f"({self.path.name}, variant {variant}); expected one of: {', '.join(sorted(coefs))}")
            value = float(coefs[coefficient])
            se, how = self.se_of(variant, coefficient)
            se_txt = f"SE {se:.3g}, {how}" if se is not None else f"SE {how}"
            return FitNumber(value=value * scale, se=None if se is None else se * abs(scale), se_note=how,
                             source=f"{self._head(variant)}: {coefficient} = {value:.6g} ({se_txt}){tail}")
        assert hazard is not None  # exactly one of coefficient/hazard (checked above)
        key = f"log_base_{hazard}_m"
        if key not in coefs:
            outcomes = sorted(k.removeprefix("log_base_").removesuffix("_m") for k in coefs if k.startswith("log_base_"))
            raise ValueError(f"unknown hazard {hazard!r} in the frozen fit {self.name!r} ({self.path.name}); "
                             f"expected one of: {', '.join(outcomes)}")
        need = self.feature_names(variant)
        given = dict(features or {})
        unknown = sorted(set(given) - set(need))
        missing = [f for f in need if f not in given]
        if unknown or missing:
            raise ValueError(f"the hazard of the frozen fit {self.name!r} (variant {variant}) needs the features "
                             f"{', '.join(need)}" + (f"; unknown: {', '.join(unknown)}" if unknown else "")
                             + (f"; missing: {', '.join(missing)}" if missing else ""))
        eta = sum(float(coefs[b]) * float(given[f]) for b, f in _FEATURE_OF.items() if f in given)
        log_h = float(coefs[key]) + eta
        parts = ", ".join(f"{f} = {given[f]:.6g}" for f in need)
        ses = []
        for b, f in _FEATURE_OF.items():
            if f in given:
                se, _ = self.se_of(variant, b)
                ses.append(f"{b} {float(coefs[b]):.4g} (SE {se:.3g})" if se is not None else f"{b} {float(coefs[b]):.4g}")
        se_log = self.log_hazard_se(variant, hazard, given)
        if se_log is not None:
            se_h: float | None = math.exp(log_h) * se_log * scale
            note = (f"SE {se_h:.3g} (delta method: h · SE(log h), SE(log h) {se_log:.3g} from the stored covariance "
                    "of the fit)")
        else:
            se_h = None
            note = ("not available: the SE of the hazard needs the coefficients' covariance, which the frozen record "
                    "does not store; parts: " + "; ".join(ses))
        return FitNumber(value=math.exp(log_h) * scale, se=se_h, se_note=note,
                         source=f"{self._head(variant)}: exp({key} {float(coefs[key]):.6g} + Σβx {eta:.6g}) at "
                                f"{parts}; {note}{tail}")


def load_fit(name: str) -> FrozenFit:
    """The frozen fit ``name`` (``FITS_DIR/<name>.json``); ``ValueError`` naming the known fits."""
    if not name or "/" in name or "\\" in name or name.startswith("."):
        raise ValueError(f"unknown frozen fit {name!r}; expected one of: {', '.join(fit_names()) or 'none'}")
    p = Path(FITS_DIR) / f"{name}.json"
    try:
        raw = p.read_bytes()
        rec = json.loads(raw.decode("utf-8"))
    except FileNotFoundError:
        raise ValueError(f"unknown frozen fit {name!r}; expected one of: {', '.join(fit_names()) or 'none'}") from None
    except (OSError, ValueError) as exc:
        raise ValueError(f"cannot read the frozen fit {name!r} ({p.name}): {exc}") from None
    if not isinstance(rec, dict) or "variants" not in rec:
        raise ValueError(f"{p.name} is not a frozen fit record (no `variants`)")
    return FrozenFit(name=name, path=p, sha256=hashlib.sha256(raw).hexdigest(), record=rec)


def spec_fit_summary(spec: Any, *, record_start: Any = None, record_end: Any = None) -> dict[str, Any] | None:
    """The numbers of a validated crisis spec taken from frozen fits, with each fit's provenance.

    ``None`` when the spec takes no number from a fit. With the scenario's record window
    (``record_start``, ``record_end``: dates) it adds ``before_record`` — true when every fit
    used was trained on data that end before the window's first year, so none of these numbers
    was chosen knowing the record — and then a ``label`` such as ``"frozen fit on ICB
    1918–1989, not chosen knowing 2022"`` (the year of the window's end).
    """
    items = [(p, n) for p, n in spec.num_items() if getattr(n, "fit", None) is not None]
    if not items:
        return None
    fits: dict[str, dict[str, Any]] = {}
    numbers = []
    for path, n in items:
        f = load_fit(n.fit.file)
        fits.setdefault(f.name, {"fit": f.name, "file": f.path.name, "sha256": f.sha256, "dataset": f.dataset,
                                 "period": f.period, "last_year": f.last_year,
                                 "crises": ((f.record.get("provenance") or {}).get("train") or {}).get("crises"),
                                 "preregistration": (f.record.get("provenance") or {}).get("preregistration")})
        numbers.append({"path": path, "value": n.value, "se": n.se, "fit": f.name, "variant": n.fit.variant,
                        "coefficient": n.fit.coefficient, "hazard": n.fit.hazard, "scale": n.fit.scale,
                        "source": n.source})
    out: dict[str, Any] = {"fits": list(fits.values()), "numbers": numbers, "before_record": None, "label": None}
    if record_start is not None:
        years = [f["last_year"] for f in fits.values()]
        out["before_record"] = all(y is not None and y < record_start.year for y in years)
        what = "; ".join(f"{f['dataset']} {f['period']}" for f in fits.values())
        out["label"] = (f"frozen fit on {what}, not chosen knowing {record_end.year}" if out["before_record"]
                        else f"frozen fit on {what} (overlaps the record window)")
    return out
