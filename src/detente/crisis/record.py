"""The record of a crisis scenario and its scoring as a likelihood (docs/crisis.md "Back-test").

A scenario declares what happened in its ``record:`` block (:class:`detente.crisis.spec.Record`):
a window, an information cutoff, whether a war (use of force) began in the window, when (with
the date's precision), where and by whom, and other events the engine simulates (an agreement
on a track, a split of the triangle's partners, a flashpoint reaching an escalation rung —
"rung ≥ R by date D", read off the engine's per-run first step of each rung). :func:`observed` resolves it (reading the
facts CSV relative to the scenario file when one is referenced); :func:`score` turns a
:class:`~detente.crisis.result.CrisisResult` into the probability of that history and
per-event scores, each with its Monte Carlo standard error; :func:`compare` compares the
hypotheses by log likelihood ratios (log Bayes factors) against a reference hypothesis.

Method
------
*Likelihood.* Each simulated run either reproduces the observed history or not: with a war,
the run's first war begins in a step that overlaps the observed onset date at its precision,
at the observed flashpoint, started by the observed initiator; without one, the run has no
war in any step that starts on or before the window's end; and every declared event
happened (or not) by its date. The likelihood L is the share of runs that reproduce the
history, a binomial proportion: SE(L̂) = √(L̂(1 − L̂)/n); by the delta method
SE(log L̂) = √((1 − L̂)/(n L̂)). When no run reproduces the history, L̂ = 0 and the report
gives the exact one-sided 95 % upper bound 1 − 0.05^(1/n) (≈ 3/n, Clopper & Pearson 1934)
instead of a log.

*Bayes factors.* log BF(h : ref) = log L̂_h − log L̂_ref. Hypotheses are run on the same
random root (common random numbers), so the two estimates are correlated; the standard
error is the delta-method SE of the paired runs: SE = sd(d)/√n with
d_i = x_h,i/L̂_h − x_ref,i/L̂_ref (x the per-run indicator of the history).

*Verdict.* With z = :data:`VERDICT_Z` and T = :data:`LOG_BF_REJECT` (= ln 20, "strong"
evidence in Kass & Raftery 1995): **rejected** when log BF + z·SE < −T (the record favours
the reference more than 20 : 1 even at the favourable end of the Monte Carlo interval),
**kept** when log BF − z·SE > −T, **undecided** when the interval spans −T. With no run
reproducing the history the upper end uses the upper bound above. More runs narrow the
interval, so a verdict reached at n runs is the one reached at more runs (up to the 5 %
chance of each interval missing), and an unresolved one says "undecided".

*Per-event scores* (the secondary view): for each binary event with simulated probability p̂
and outcome o, Brier (p̂ − o)² with SE |2(p̂ − o)|·SE(p̂), and log score log P(o) with SE
SE(p̂)/P(o) (delta method; Brier 1950, Gneiting & Raftery 2007).
"""

from __future__ import annotations

import csv
import datetime as dt
import math
from pathlib import Path
from typing import Any

import numpy as np

from detente.errors import InputError, Problem

__all__ = ["observed", "score", "compare", "likelihood", "log_ratio", "verdict", "event_score", "onset_steps",
           "LOG_BF_REJECT", "VERDICT_Z", "UPPER_LEVEL"]

#: A hypothesis is rejected when the record favours the reference by more than e^T : 1 (T = ln 20).
LOG_BF_REJECT = math.log(20.0)
#: Width of the Monte Carlo interval, in standard errors, used by the verdicts.
VERDICT_Z = 2.0
#: Confidence of the upper bound on L when no run reproduces the history.
UPPER_LEVEL = 0.95
_EPS = 1e-4


# ====================================================================== the observed record
def _parse_date(text: str) -> tuple[dt.date, str]:
    """A facts-file date: ``YYYY-MM-DD`` (day), ``YYYY-MM`` (month), ``a/b`` (its start, day)."""
    first = text.strip().split("/")[0]
    if len(first) == 7:
        return dt.date.fromisoformat(first + "-01"), "month"
    if len(first) == 4:
        return dt.date.fromisoformat(first + "-01-01"), "year"
    return dt.date.fromisoformat(first), "day"


def _read_facts(path: Path) -> list[dict[str, str]]:
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
    except OSError as exc:
        raise InputError(Problem(f"cannot read the record's facts file: {exc.strerror or exc}", file=str(path),
                                 column="record.facts")) from None
    need = {"date", "actors", "kind"}
    if rows and not need <= set(rows[0]):
        raise InputError(Problem("the facts file lacks columns " + ", ".join(sorted(need - set(rows[0]))), file=str(path),
                                 column="record.facts", expected="date, event, actors, kind, …"))
    return rows


def observed(spec: Any, base_dir: str | Path | None = None) -> dict[str, Any] | None:
    """The scenario's record, resolved: ``None`` when it declares none.

    Returns ``{"window": [start, end], "cutoff", "war", "onset": {"date", "precision"} | None,
    "flashpoint", "initiator", "events": [...], "focal": {"actor", "horizon_months", "label"},
    "reference", "facts", "sources", "note"}`` (dates as ISO strings). A ``facts`` path is read
    relative to ``base_dir`` (the scenario file's folder), never the working directory.
    """
    r = spec.record
    if r is None:
        return None
    war, onset, fp, ini = r.war, r.onset.model_dump(mode="json") if r.onset else None, r.flashpoint, r.initiator
    facts_path = None
    if r.facts is not None:
        if base_dir is None:
            raise InputError(Problem("record.facts is a path relative to the scenario file, but the scenario was not "
                                     "read from a file", column="record.facts", value=r.facts,
                                     expected="an inline record (war, onset, flashpoint, initiator)"))
        facts_path = (Path(base_dir) / r.facts).resolve()
        rows = _read_facts(facts_path)
        lo, hi = r.window
        hits = []
        for i, row in enumerate(rows, start=2):
            if row.get("kind") not in r.war_kinds:
                continue
            try:
                d, prec = _parse_date(row["date"])
            except ValueError:
                raise InputError(Problem("not a date", file=str(facts_path), line=i, column="date",
                                         value=row["date"], expected="YYYY-MM-DD, YYYY-MM or start/end")) from None
            if lo <= d <= hi:
                hits.append((d, prec, i, row))
        if war is None:
            war = bool(hits)
        if war and hits:
            d, prec, line, row = min(hits, key=lambda h: h[0])
            acts = [a.strip() for a in (row.get("actors") or "").split(";") if a.strip()]
            if onset is None:
                onset = {"date": d.isoformat(), "precision": prec}
            if ini is None and acts:
                if acts[0] not in spec.actors:
                    raise InputError(Problem(f"the onset's initiator {acts[0]!r} (first actor listed) is not an actor of "
                                             "the scenario", file=str(facts_path), line=line, column="actors",
                                             value=row.get("actors"), expected=", ".join(spec.actors)))
                ini = acts[0]
            if fp is None:
                cands = [f.id for f in spec.flashpoints if f.local in acts[1:] or f.id in acts[1:]]
                if not cands:
                    raise InputError(Problem("no flashpoint of the scenario has its `local` actor among the onset's "
                                             "actors; give `record.flashpoint`", file=str(facts_path), line=line,
                                             column="actors", value=row.get("actors"),
                                             expected=", ".join(f"{f.id} (local {f.local})" for f in spec.flashpoints)))
                fp = cands[0]
        if war and onset is None:
            raise InputError(Problem(f"`war: true` but the facts file has no row of kind {', '.join(r.war_kinds)} in "
                                     f"the window {lo} – {hi}", file=str(facts_path), column="kind",
                                     expected="a war-onset row or `record.onset`"))
    start = spec.settings.start
    if onset is not None and dt.date.fromisoformat(onset["date"]) < start:
        raise InputError(Problem(f"the record's onset {onset['date']} is before the scenario's start {start}",
                                 column="record.onset.date", value=onset["date"], expected=f"a date from {start}"))
    focal_actor = (r.focal.actor if r.focal else None) or spec.settings.russia
    horizon = min((r.focal.horizon_months if r.focal and r.focal.horizon_months else spec.settings.horizon_months),
                  spec.settings.horizon_months)
    label = (r.focal.label if r.focal and r.focal.label else None) or f"{focal_actor}: {horizon} months"
    return {
        "window": [r.window[0].isoformat(), r.window[1].isoformat()],
        "cutoff": (r.cutoff or r.window[0]).isoformat(),
        "war": bool(war), "onset": onset if war else None, "flashpoint": fp if war else None,
        "initiator": ini if war else None,
        "events": [e.model_dump(mode="json") | {"by": (e.by or r.window[1]).isoformat()} for e in r.events],
        "focal": {"actor": focal_actor, "horizon_months": horizon, "label": label},
        "reference": r.reference, "facts": str(facts_path) if facts_path else None,
        "sources": list(r.sources), "note": r.note,
        "states": [st.model_dump(mode="json") for st in r.states],
        "forecast": r.forecast.model_dump(mode="json") if r.forecast else None,
    }


# ====================================================================== steps of the record
def _step_starts(res: Any, start: dt.date) -> list[dt.date]:
    return [start] + [e + dt.timedelta(days=1) for e in res.step_end[:-1]]


def onset_steps(res: Any, start: dt.date, onset: dict[str, Any]) -> np.ndarray:
    """Steps whose days overlap the observed onset at its precision (the day's step; every step
    of the month or year)."""
    d = dt.date.fromisoformat(onset["date"])
    prec = onset.get("precision", "day")
    if prec == "day":
        lo = hi = d
    elif prec == "month":
        lo = d.replace(day=1)
        hi = (lo.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)
    else:
        lo, hi = d.replace(month=1, day=1), d.replace(month=12, day=31)
    starts = _step_starts(res, start)
    return np.array([k for k, (s0, s1) in enumerate(zip(starts, res.step_end)) if s0 <= hi and s1 >= lo], np.int64)


def _last_step(res: Any, start: dt.date, date: str) -> int:
    """The last step that starts on or before ``date`` (the step containing it counts)."""
    d = dt.date.fromisoformat(date)
    return max((k for k, s0 in enumerate(_step_starts(res, start)) if s0 <= d), default=-1)


def _within(steps: np.ndarray, k: int) -> np.ndarray:
    s = steps.astype(np.int64)
    return (s >= 0) & (s <= k)


def _event_key(e: dict[str, Any], res: Any) -> str:
    if e["kind"] == "split":
        a, b = (x.lower() for x in res.triangle[1:])
        return f"{a}_{b}_split" if e["happened"] else f"no_{a}_{b}_split"
    if e["kind"] == "rung":
        return f"{'' if e['happened'] else 'no_'}rung_{e['flashpoint']}_{e['rung']}_by_{e['by']}"
    return f"agreement_{e['track']}" if e["happened"] else f"no_agreement_{e['track']}"


def _event_runs(e: dict[str, Any], res: Any, start: dt.date) -> np.ndarray:
    """Per run: did the declared event (as observed: happened or not) occur by its date?"""
    k = _last_step(res, start, e["by"])
    if e["kind"] == "split":
        hit = _within(res.split_step, k)
    elif e["kind"] == "rung":
        if res.rung_step is None:
            raise ValueError("this result carries no rung path (rung_step); rerun the engine")
        j = res.flashpoints.index(e["flashpoint"])
        hit = _within(res.rung_step[:, j, e["rung"]], k)
    else:
        hit = _within(res.agree_step[:, res.tracks.index(e["track"])], k)
    return hit if e["happened"] else ~hit


# ====================================================================== estimators
def likelihood(hits: np.ndarray) -> dict[str, Any]:
    """Share of runs that reproduce the history, its binomial SE, its log and the delta-method
    SE of the log; with no hit, ``log`` is ``None`` and ``upper`` the exact one-sided bound."""
    n = int(hits.size)
    x = int(np.count_nonzero(hits))
    p = x / n
    out: dict[str, Any] = {"p": p, "se": math.sqrt(p * (1 - p) / n), "hits": x, "runs": n,
                           "log": None, "log_se": None, "upper": None, "method": "binomial; log by the delta method"}
    if x > 0:
        out["log"] = math.log(p)
        out["log_se"] = math.sqrt((1 - p) / (n * p))
    else:
        out["upper"] = 1.0 - (1.0 - UPPER_LEVEL) ** (1.0 / n)
    return out


def log_ratio(hits_h: np.ndarray, hits_ref: np.ndarray) -> dict[str, Any]:
    """log L̂_h − log L̂_ref with the paired delta-method SE (None when either has no hit)."""
    ph, pr = float(hits_h.mean()), float(hits_ref.mean())
    if ph == 0 or pr == 0:
        return {"value": None, "se": None}
    n = hits_h.size
    d = hits_h.astype(float) / ph - hits_ref.astype(float) / pr
    return {"value": math.log(ph) - math.log(pr), "se": float(d.std(ddof=1) / math.sqrt(n)) if n > 1 else 0.0}


def verdict(lr: dict[str, Any], lik_h: dict[str, Any], lik_ref: dict[str, Any], *,
            threshold: float = LOG_BF_REJECT, z: float = VERDICT_Z) -> dict[str, Any]:
    """Verdict of one hypothesis against the reference (module docstring): the interval of the
    log Bayes factor, and ``rejected`` / ``kept`` / ``undecided``."""
    if lr["value"] is not None:
        lo, hi = lr["value"] - z * lr["se"], lr["value"] + z * lr["se"]
    else:
        ref_lo = (lik_ref["log"] - z * lik_ref["log_se"]) if lik_ref["log"] is not None else None
        ref_hi = (lik_ref["log"] + z * lik_ref["log_se"]) if lik_ref["log"] is not None else math.log(lik_ref["upper"])
        h_hi = lik_h["log"] + z * lik_h["log_se"] if lik_h["log"] is not None else math.log(lik_h["upper"])
        h_lo = lik_h["log"] - z * lik_h["log_se"] if lik_h["log"] is not None else -math.inf
        hi = h_hi - ref_lo if ref_lo is not None else math.inf
        lo = h_lo - ref_hi
    v = "rejected" if hi < -threshold else "kept" if lo > -threshold else "undecided"
    return {"verdict": v, "lo": lo if math.isfinite(lo) else None, "hi": hi if math.isfinite(hi) else None}


def event_score(hit: np.ndarray, outcome: int) -> dict[str, float]:
    """Probability, Brier and log score of one binary event, each with its MC standard error."""
    n = hit.size
    p = float(hit.mean())
    se = math.sqrt(p * (1 - p) / n)
    po = p if outcome else 1 - p
    pc = min(max(po, _EPS), 1 - _EPS)
    return {"p": p, "p_se": se, "outcome": int(outcome), "brier": (p - outcome) ** 2, "brier_se": abs(2 * (p - outcome)) * se,
            "log": math.log(pc), "log_se": se / pc}


# ====================================================================== scoring a result
def score(res: Any, obs: dict[str, Any], start: dt.date) -> tuple[dict[str, Any], np.ndarray]:
    """Score one result against the resolved record: the likelihood of the history, its
    components, and the per-event table (the secondary view). Returns the back-test block and
    the per-run indicator of the whole history (for :func:`compare`)."""
    end = obs["window"][1]
    k_end = _last_step(res, start, end)
    first = res.first_step.astype(np.int64)
    focal = obs["focal"]["actor"]
    comps: dict[str, np.ndarray] = {}
    if obs["war"]:
        ks = onset_steps(res, start, obs["onset"])
        hist = np.isin(first, ks) & (first >= 0)
        comps["onset"] = hist.copy()
        if obs["flashpoint"] is not None:
            hist &= res.first_flashpoint == res.flashpoints.index(obs["flashpoint"])
            comps["onset_place"] = hist.copy()
        if obs["initiator"] is not None:
            hist &= res.first_initiator == res.actors.index(obs["initiator"])
            comps["onset_place_initiator"] = hist.copy()
    else:
        hist = ~_within(first, k_end)
        comps["no_war"] = hist.copy()
    for e in obs["events"]:
        hist = hist & _event_runs(e, res, start)
    # the per-event table: cumulative by the window's end
    focal_war = _within(res.ru_war_step(focal), k_end)
    ev: dict[str, tuple[np.ndarray, int]] = {f"war_{focal.lower()}": (focal_war, int(obs["war"] and focal in
                                                                                      res.involves.get(obs["flashpoint"], ())))}
    for j, f in enumerate(res.flashpoints):
        ev[f"war_at_{f}"] = (_within(res.onset_step[:, j], k_end), int(obs["war"] and obs["flashpoint"] == f))
    who = obs["initiator"] or focal
    iw = res.actors.index(who)
    ev[f"initiator_{who}"] = ((_within(res.onset_step, k_end) & (res.onset_initiator == iw)).any(axis=1), int(obs["war"]))
    for e in obs["events"]:   # each declared event as observed (happened or not): outcome 1
        ev[_event_key(e, res)] = (_event_runs(e, res, start), 1)
    table = {k: event_score(h, o) for k, (h, o) in ev.items()}
    lik = likelihood(hist)
    probs = {k: t["p"] for k, t in table.items()}
    outcomes = {k: t["outcome"] for k, t in table.items()}
    worst = min(table, key=lambda k: table[k]["p"] if table[k]["outcome"] else 1 - table[k]["p"])
    block = {
        "window": obs["window"],
        "brier": float(np.mean([t["brier"] for t in table.values()])),
        "log_score": float(np.mean([t["log"] for t in table.values()])),
        "events": probs, "outcomes": outcomes, "event_scores": table,
        "p_record": lik["p"], "likelihood": lik,
        "components": {k: likelihood(v) for k, v in comps.items()},
        "worst_event": worst,
        "initiators_by_end": res.initiator_distribution(end),
        "locations_by_end": res.location_distribution(end),
    }
    return block, hist


def compare(blocks: dict[str, dict[str, Any]], hist: dict[str, np.ndarray], reference: str | None) -> str | None:
    """Add ``log_lr``, ``log_lr_se``, ``bayes_factor``, ``verdict`` (and its interval) to each
    back-test block, against ``reference`` (or, when it was not run, the hypothesis with the
    highest likelihood). Returns the reference used."""
    if not blocks:
        return None
    ref = reference if reference in blocks else max(blocks, key=lambda h: blocks[h]["likelihood"]["p"])
    for h, b in blocks.items():
        lr = log_ratio(hist[h], hist[ref])
        if h == ref:
            lr = {"value": 0.0, "se": 0.0} if b["likelihood"]["hits"] else {"value": None, "se": None}
        v = verdict(lr, b["likelihood"], blocks[ref]["likelihood"])
        if h == ref:
            v = {"verdict": "reference", "lo": 0.0, "hi": 0.0}
        b.update({"reference": ref, "log_lr": lr["value"], "log_lr_se": lr["se"],
                  "bayes_factor": math.exp(lr["value"]) if lr["value"] is not None else None,
                  "log_lr_interval": [v["lo"], v["hi"]], "verdict": v["verdict"], "rejected": v["verdict"] == "rejected"})
    return ref
