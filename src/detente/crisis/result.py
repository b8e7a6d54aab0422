"""The record of a crisis-engine run: per-run arrays plus summaries.

:class:`CrisisResult` is a frozen dataclass. Arrays are indexed by run first; step indices
refer to ``step_end`` dates (month ends for the monthly step). Summaries are computed on
demand and keyed by ISO dates of month ends (``"2022-02-28"``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from detente.crisis.kernels import CONFIGS

__all__ = ["CrisisResult", "sorted_quantiles"]

CAUSES = ("background", "preventive", "crisis", "moral_hazard", "escalation", "provocation")


def _iso(d: dt.date) -> str:
    return d.isoformat()


def sorted_quantiles(v: np.ndarray, q: tuple[float, ...], dtype: Any = None) -> np.ndarray:
    """``np.quantile(v, q)`` (the default linear method, Hyndman & Fan 1996 type 7) of a 1-D float
    array, the same bits, from one full sort instead of numpy's partition around each quantile.

    numpy's selection around six order statistics of 100 000 values takes several times longer
    than its (vectorised) sort of them, and the summaries take hundreds of such quantiles (issue
    17). After the sort the order statistics are those numpy's partition finds, and they are
    combined with numpy's own arithmetic: virtual index (n − 1)·q, its floor and the next index
    (the last value for the top index), weight γ = index − floor, and the interpolation
    a + (b − a)·γ, or b − (b − a)·(1 − γ) when γ ≥ 0.5, in the array's and numpy's dtypes.
    An array with NaN or with a negative zero (whose place among equal zeros a sort and a
    partition may choose differently) goes to ``np.quantile`` itself.

    ``dtype`` (a wider float type than ``v``'s) gives ``np.quantile(v.astype(dtype), q)``: ``v`` is
    sorted in its own narrower type (faster; the conversion is exact and keeps the order)."""
    s = np.sort(v)
    if dtype is not None:
        s = s.astype(dtype)
    n = s.size
    if n == 0 or np.isnan(s[-1]) or np.signbit(s[s == 0]).any():
        return np.quantile(v if dtype is None else v.astype(dtype), q)
    virtual = (n - 1) * np.asanyarray(q)
    prev = np.floor(virtual)
    nxt = prev + 1
    top = virtual >= n - 1
    prev[top] = -1
    nxt[top] = -1
    bottom = virtual < 0
    prev[bottom] = 0
    nxt[bottom] = 0
    prev_i, next_i = prev.astype(np.intp), nxt.astype(np.intp)
    a, b = s[prev_i], s[next_i]
    gamma = np.asanyarray(virtual - prev_i, dtype=virtual.dtype)
    diff = b - a
    out = np.add(a, diff * gamma)
    np.subtract(b, diff * (1 - gamma), out=out, where=gamma >= 0.5, casting="unsafe", dtype=type(out.dtype))
    return out


@dataclass(frozen=True)
class CrisisResult:
    """Outcome of :func:`detente.crisis.run`.

    Attributes
    ----------
    scenario, hypothesis, runs, root_seed, chunk_size, step, dt_months
        What was run, with which random root and chunking (results depend on the chunk size,
        not on the number of workers).
    actors, flashpoints, tracks, dyads, directions, involves, triangle
        Labels of the index axes (``triangle`` is ``None`` when the scenario declares none: then
        ``split_step`` is all ``-1``, the paths below are ``None`` and the triangle outputs of
        :meth:`summary` are null).
    step_end, month_ends, month_end_step
        Dates of the steps; month ends reported and the step index that closes each one.
    onset_step, onset_initiator, onset_cause
        ``(runs, flashpoints)``: step of war onset (``-1`` none), initiator actor index, cause
        index into ``CAUSES``.
    first_step, first_flashpoint, first_initiator
        ``(runs,)``: the first war of each run.
    split_step
        ``(runs,)``: first step with the partners' tie ≤ 0 (``-1`` never).
    agree_step
        ``(runs, tracks)``: step of agreement per negotiation track (``-1`` none).
    rung_step
        ``(runs, flashpoints, max rungs)`` int16: the first step at which each escalation rung
        was reached (``0`` for the rungs at or below the start rung, ``-1`` never or not a rung
        of that flashpoint); answers "rung ≥ R by date D" as ``0 <= rung_step[:, f, R] <= step(D)``.
        ``None`` on results built without it.
    hazard, rc_alignment, configuration
        Per-run paths ``(runs, steps, flashpoints)`` / ``(runs, steps)`` (``None`` if not recorded).
    diagnostics
        Sums over runs per step (divide by ``runs`` for means).
    notes, params, input_hash, version
        Provenance.
    """

    scenario: str
    hypothesis: str | None
    runs: int
    root_seed: int
    chunk_size: int
    step: str
    dt_months: float
    actors: tuple[str, ...]
    flashpoints: tuple[str, ...]
    tracks: tuple[str, ...]
    dyads: tuple[str, ...]
    directions: tuple[str, ...]
    involves: Mapping[str, tuple[str, ...]]
    triangle: tuple[str, str, str] | None
    russia: str
    step_end: tuple[dt.date, ...]
    month_ends: tuple[dt.date, ...]
    month_end_step: tuple[int, ...]
    onset_step: np.ndarray
    onset_initiator: np.ndarray
    onset_cause: np.ndarray
    first_step: np.ndarray
    first_flashpoint: np.ndarray
    first_initiator: np.ndarray
    split_step: np.ndarray
    agree_step: np.ndarray
    hazard: np.ndarray | None
    rc_alignment: np.ndarray | None
    configuration: np.ndarray | None
    diagnostics: Mapping[str, Any]
    params: Mapping[str, Any]
    input_hash: str
    version: str
    notes: tuple[str, ...] = field(default=())
    rung_step: np.ndarray | None = None

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_parts(cls, parts: list[dict[str, Any]], *, compiled: Any, params: Any, root_seed: int, runs: int,
                   input_hash: str, scenario_name: str) -> CrisisResult:
        from detente.result import detente_version

        def cat(key: str) -> Any:
            if parts[0][key] is None:
                return None
            return np.concatenate([p[key] for p in parts], axis=0)

        spec = compiled.spec
        diag: dict[str, Any] = {}
        for k in parts[0]["diag"]:
            diag[k] = sum(p["diag"][k] for p in parts)
        for k in ("diag_dir_forced", "diag_dir_prox", "diag_phi", "diag_rung", "diag_q", "diag_cause",
                  "diag_initiator_hazard"):
            if k in parts[0]:
                diag[k.removeprefix("diag_")] = sum(p[k] for p in parts)
        arrays = {k: cat(k) for k in ("onset_step", "onset_init", "onset_cause", "first_step", "first_fp",
                                      "first_init", "split_step", "agree_step", "hazard", "rc", "config",
                                      "rung_step")}
        for v in arrays.values():
            if isinstance(v, np.ndarray):
                v.setflags(write=False)
        return cls(
            scenario=scenario_name, hypothesis=params.hypothesis, runs=runs, root_seed=root_seed,
            chunk_size=params.chunk_size, step=params.step or spec.settings.step, dt_months=compiled.dt,
            actors=tuple(compiled.actors), flashpoints=tuple(f.id for f in spec.flashpoints),
            tracks=tuple(t.id for t in spec.tracks), dyads=tuple(d.id for d in spec.dyads),
            directions=tuple(parts[0]["directions"]),
            involves={f.id: tuple(f.involves) for f in spec.flashpoints},
            triangle=tuple(spec.triangle.actors) if spec.triangle is not None else None,
            russia=spec.settings.russia, step_end=tuple(compiled.step_end), month_ends=tuple(compiled.month_ends),
            month_end_step=tuple(compiled.month_end_step),
            onset_step=arrays["onset_step"], onset_initiator=arrays["onset_init"], onset_cause=arrays["onset_cause"],
            first_step=arrays["first_step"], first_flashpoint=arrays["first_fp"], first_initiator=arrays["first_init"],
            split_step=arrays["split_step"], agree_step=arrays["agree_step"], hazard=arrays["hazard"],
            rc_alignment=arrays["rc"], configuration=arrays["config"], diagnostics=diag,
            params=params.model_dump(mode="json"), input_hash=input_hash, version=detente_version(),
            notes=tuple(dict.fromkeys(compiled.notes)), rung_step=arrays["rung_step"],
        )

    # ------------------------------------------------------------------ helpers
    def _by_date(self, ok_step: np.ndarray) -> dict[str, float]:
        """P(event step ≤ month-end step) for each month end; ``ok_step`` is -1 for never."""
        s = np.where(ok_step < 0, np.iinfo(np.int32).max, ok_step.astype(np.int64))
        srt = np.sort(s)
        out = {}
        for me, k in zip(self.month_ends, self.month_end_step):
            out[_iso(me)] = float(np.searchsorted(srt, k, side="right") / self.runs) if k >= 0 else 0.0
        return out

    def ru_war_step(self, actor: str | None = None) -> np.ndarray:
        """Step of the first war involving ``actor`` (default ``settings.russia``, the focal actor), ``-1`` if none."""
        a = actor or self.russia
        cols = [j for j, f in enumerate(self.flashpoints) if a in self.involves[f]]
        if not cols:
            return np.full(self.runs, -1, np.int16)
        s = self.onset_step[:, cols].astype(np.int32)
        s = np.where(s < 0, np.iinfo(np.int32).max, s).min(axis=1)
        return np.where(s == np.iinfo(np.int32).max, -1, s)

    # ------------------------------------------------------------------ summaries
    def p_war_by(self) -> dict[str, float]:
        """P(any war by each month end)."""
        return self._by_date(self.first_step)

    def p_war_by_flashpoint(self) -> dict[str, dict[str, float]]:
        """Cause-specific cumulative incidence of the *first* war by location (sums to :meth:`p_war_by`)."""
        return {f: self._by_date(np.where(self.first_flashpoint == j, self.first_step, -1))
                for j, f in enumerate(self.flashpoints)}

    def p_war_at_by(self) -> dict[str, dict[str, float]]:
        """P(a war at each flashpoint by date), whether or not it is the first war."""
        return {f: self._by_date(self.onset_step[:, j]) for j, f in enumerate(self.flashpoints)}

    def p_war_by_initiator(self) -> dict[str, dict[str, float]]:
        """Cumulative incidence of the first war by initiator (actors that ever initiate)."""
        out = {}
        for i, a in enumerate(self.actors):
            sel = self.first_initiator == i
            if sel.any():
                out[a] = self._by_date(np.where(sel, self.first_step, -1))
        return out

    def p_initiated_by(self, actor: str) -> dict[str, float]:
        """P(some war initiated by ``actor`` by date)."""
        i = self.actors.index(actor)
        s = np.where(self.onset_initiator == i, self.onset_step.astype(np.int32), np.iinfo(np.int32).max).min(axis=1)
        return self._by_date(np.where(s == np.iinfo(np.int32).max, -1, s))

    def p_no_war_ru(self, months: int = 48) -> float:
        """P(no war involving the focal actor (``settings.russia``) within ``months``)."""
        s = self.ru_war_step()
        limit = self._step_of_month(months)
        return float(np.mean((s < 0) | (s > limit)))

    def months_of_peace_ru(self, months: int = 48) -> float:
        """E[min(T_war, months)], onset placed at the middle of its step (the mean of
        :meth:`months_of_peace_ru_runs`)."""
        return float(np.mean(self.months_of_peace_ru_runs(months)))

    def months_of_peace_ru_runs(self, months: int = 48) -> np.ndarray:
        """Per run, min(T_war, months) in months, ``T_war`` the onset of the focal actor's first war
        placed at the middle of its step (capped at the horizon)."""
        s = self.ru_war_step()
        t = np.where(s < 0, np.inf, (s + 0.5) * self.dt_months)
        return np.minimum(t, float(min(months, len(self.month_ends))))

    def _step_of_month(self, months: int) -> int:
        m = min(months, len(self.month_end_step))
        return self.month_end_step[m - 1]

    def p_split_by(self) -> dict[str, float]:
        """P(the partners' tie has fallen to ≤ 0 by date) — the wedge worked at least once."""
        return self._by_date(self.split_step)

    def p_agreement_by(self) -> dict[str, dict[str, float]]:
        return {t: self._by_date(self.agree_step[:, k]) for k, t in enumerate(self.tracks)}

    def hazard_bands(self, q: tuple[float, ...] = (0.1, 0.5, 0.9)) -> dict[str, dict[str, dict[str, float | None]]]:
        """Monthly hazard per flashpoint over runs still at peace there: mean, its Monte Carlo standard
        error ``se`` (sd over those runs / √their number; ``None`` with fewer than two) and quantiles.

        The hazard is very skewed across runs (a few runs near war carry most of the mean, so the
        90 % quantile can sit below the mean): ``se`` says how precisely the runs pin the mean down,
        the quantiles how the hazard is spread over runs; they are different bands."""
        if self.hazard is None:
            return {}
        out: dict[str, dict[str, dict[str, float | None]]] = {}
        per_month = max(1, round(1.0 / self.dt_months))
        if per_month == 1:
            return self._hazard_bands_monthly(q)
        for j, f in enumerate(self.flashpoints):
            row: dict[str, dict[str, float | None]] = {}
            prev = -1
            for me, k in zip(self.month_ends, self.month_end_step):
                if k < 0:
                    continue
                steps = np.arange(prev + 1, k + 1)
                prev = k
                h = self.hazard[:, steps, j].astype(float)
                # convert to a monthly hazard: 1 - prod(1 - h) over the month's steps
                hm = 1.0 - np.prod(1.0 - h, axis=1) if per_month > 1 else h[:, 0]
                at_peace = (self.onset_step[:, j] < 0) | (self.onset_step[:, j] >= steps[0])
                v = hm[at_peace]
                if v.size == 0:
                    continue
                qs = sorted_quantiles(v, q)
                se = float(v.std(ddof=1) / np.sqrt(v.size)) if v.size > 1 else None
                row[_iso(me)] = {"mean": float(v.mean()), "se": se,
                                 **{f"q{round(x * 100):02d}": float(y) for x, y in zip(q, qs)}}
            out[f] = row
        return out

    def _hazard_bands_monthly(self, q: tuple[float, ...]) -> dict[str, dict[str, dict[str, float | None]]]:
        """:meth:`hazard_bands` with one step per month (the step's hazard is the month's), the same
        numbers: each month's hazards of every flashpoint are gathered at once (one pass over the
        runs' rows instead of one per flashpoint) and the quantiles come from a sort of the stored
        float32 values (:func:`sorted_quantiles`)."""
        assert self.hazard is not None
        never = np.iinfo(np.int32).max
        onset = self.onset_step.astype(np.int32)
        onset = np.where(onset < 0, never, onset).T.copy()      # (flashpoints, runs): at peace at step s ⇔ ≥ s
        rows: dict[str, dict[str, dict[str, float | None]]] = {f: {} for f in self.flashpoints}
        prev = -1
        for me, k in zip(self.month_ends, self.month_end_step):
            if k < 0:
                continue
            s0, prev = prev + 1, k
            hk = self.hazard[:, s0, :].T.copy()                 # (flashpoints, runs), float32
            for j, f in enumerate(self.flashpoints):
                v32 = hk[j][onset[j] >= s0]
                if v32.size == 0:
                    continue
                v = v32.astype(float)
                qs = sorted_quantiles(v32, q, dtype=float)
                se = float(v.std(ddof=1) / np.sqrt(v.size)) if v.size > 1 else None
                rows[f][_iso(me)] = {"mean": float(v.mean()), "se": se,
                                     **{f"q{round(x * 100):02d}": float(y) for x, y in zip(q, qs)}}
        return rows

    def alignment(self) -> dict[str, dict[str, float]]:
        """The triangle partners' tie over time: mean, 10 % and 90 % quantiles."""
        if self.rc_alignment is None:
            return {}
        out = {}
        for me, k in zip(self.month_ends, self.month_end_step):
            if k < 0:
                continue
            v = self.rc_alignment[:, k]
            q10, q90 = sorted_quantiles(v, (0.1, 0.9))
            out[_iso(me)] = {"mean": float(v.mean()), "q10": float(q10), "q90": float(q90)}
        return out

    def triangle_occupancy(self) -> dict[str, dict[str, float]]:
        """Share of runs in each Dittmer configuration at each month end."""
        if self.configuration is None or self.triangle is None:   # recorded exactly with a triangle
            return {}
        names = _config_names(self.triangle)
        out = {}
        for me, k in zip(self.month_ends, self.month_end_step):
            if k < 0:
                continue
            cnt = np.bincount(self.configuration[:, k].astype(np.int64), minlength=len(CONFIGS)) / self.runs
            out[_iso(me)] = {names[i]: float(cnt[i]) for i in range(len(CONFIGS)) if cnt[i] > 0}
        return out

    def initiator_distribution(self, by: str | None = None) -> dict[str, float]:
        """Distribution of the first war's initiator (among runs with a war by ``by``)."""
        s = self.first_step
        limit = self._date_step(by) if by else len(self.step_end) - 1
        sel = (s >= 0) & (s <= limit)
        if not sel.any():
            return {}
        cnt = np.bincount(self.first_initiator[sel].astype(np.int64), minlength=len(self.actors)) / sel.sum()
        return {a: float(cnt[i]) for i, a in enumerate(self.actors) if cnt[i] > 0}

    def location_distribution(self, by: str | None = None) -> dict[str, float]:
        s = self.first_step
        limit = self._date_step(by) if by else len(self.step_end) - 1
        sel = (s >= 0) & (s <= limit)
        if not sel.any():
            return {}
        cnt = np.bincount(self.first_flashpoint[sel].astype(np.int64), minlength=len(self.flashpoints)) / sel.sum()
        return {f: float(cnt[i]) for i, f in enumerate(self.flashpoints)}

    def cause_distribution(self) -> dict[str, float]:
        sel = self.first_step >= 0
        if not sel.any():
            return {}
        rows = np.nonzero(sel)[0]
        c = self.onset_cause[rows, self.first_flashpoint[rows].astype(np.int64)]
        cnt = np.bincount(c.astype(np.int64), minlength=len(CAUSES)) / len(rows)
        return {CAUSES[i]: float(cnt[i]) for i in range(len(CAUSES))}

    def _date_step(self, iso: str) -> int:
        d = dt.date.fromisoformat(iso)
        return max((k for k, e in enumerate(self.step_end) if e <= d), default=-1)

    def diagnostics_means(self) -> dict[str, Any]:
        """Per-step means over runs of the engine's diagnostics."""
        out: dict[str, Any] = {}
        for k, v in self.diagnostics.items():
            arr = np.asarray(v, dtype=float) / self.runs
            if k in ("dir_forced", "dir_prox"):
                out[k] = {d: arr[:, i].round(6).tolist() for i, d in enumerate(self.directions)}
            elif k == "phi":
                out[k] = {d: arr[:, i].round(6).tolist() for i, d in enumerate(self.dyads)}
            elif k == "rung":
                out[k] = {f: arr[:, i].round(4).tolist() for i, f in enumerate(self.flashpoints)}
            elif k == "cause":
                out[k] = {f: {c: arr[:, i, ci].round(6).tolist() for ci, c in enumerate(CAUSES)}
                          for i, f in enumerate(self.flashpoints)}
            elif k == "initiator_hazard":
                out[k] = {f: {a: arr[:, i, ai].round(8).tolist() for ai, a in enumerate(self.actors)}
                          for i, f in enumerate(self.flashpoints)}
            elif k == "q":
                out[k] = arr.round(4).tolist()
            else:
                out[k] = arr.round(6).tolist()
        return out

    def summary(self) -> dict[str, Any]:
        """The per-hypothesis JSON block (see ``docs/json-contract.md``)."""
        return {
            "p_war_by": self.p_war_by(),
            "p_war_by_flashpoint": self.p_war_by_flashpoint(),
            "p_war_by_initiator": self.p_war_by_initiator(),
            "p_war_at_by": self.p_war_at_by(),
            "p_no_war_ru_48": self.p_no_war_ru(48),
            "months_of_peace_ru_48": self.months_of_peace_ru(48),
            "hazard_by_flashpoint": self.hazard_bands(),
            # null when the scenario declares no triangle
            "ru_cn_alignment": self.alignment() if self.triangle is not None else None,
            "p_ru_cn_split_by": self.p_split_by() if self.triangle is not None else None,
            "triangle": self.triangle_occupancy() if self.triangle is not None else None,
            "p_agreement_by": self.p_agreement_by(),
            "initiators": self.initiator_distribution(),
            "locations": self.location_distribution(),
            "causes": self.cause_distribution(),
        }


def _config_names(tri: tuple[str, str, str]) -> list[str]:
    a, b, c = tri
    return ["menage", f"romantic_{a}_pivot", f"romantic_{b}_pivot", f"romantic_{c}_pivot",
            f"marriage_{a}_outcast", f"marriage_{b}_outcast", f"marriage_{c}_outcast", "unit_veto"]
