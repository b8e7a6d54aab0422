"""NBS variants on the DEU development file (pre-registered in preregistration/nbs_variants.md).

Usage: python preregistration/nbs_variants.py [DEU_CSV] [OUT_JSON]
(defaults ../shared/data/deu/deu3_dev.csv and preregistration/nbs_variants_result.json).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from detente.experiments.deu_benchmark import Entry, bootstrap_ci, read_split, run_tournament
from detente.formats.deu import load_deu
from detente.models.baseline import actor_weights

HERE = Path(__file__).resolve().parent
ELIGIBLE = ["N1", "N2", "N3", "N4", "N5"]
VARIANTS = {
    "nbs": {},
    "N1": {"when_no_gain": "status_quo"},
    "N2": {"utility": "linear"},
    "N3": {"utility": "linear", "when_no_gain": "status_quo"},
    "N4": {"disagreement": "worst"},
    "N5": {"utility": "linear", "disagreement": "worst"},
    "D1": {"weights": "capability"},
    "D2": {"weights": "equal"},
    "D3": {"disagreement": "worst", "weights": "capability"},
}


def n0_path(s) -> str:
    """How the default variant resolves one DEU issue (a descriptive label)."""
    iss = s.issues[0]
    arr = s.issue_arrays(iss.id)
    if iss.status_quo is None:
        return "no reference point: 'worst' rule"
    w = actor_weights(arr, "capability_salience")
    if not w.sum() > 0:
        w = np.ones(arr.n)
    x, d = arr.position[w > 0], iss.status_quo
    wp = w[w > 0]
    wl, wr = wp[x < d].sum(), wp[x > d].sum()
    if wl > 0 and wr > 0:
        if abs(wl - wr) <= 1e-12 * (wl + wr):
            return "both sides, tie: status quo"
        return "both sides: heavier side bargains"
    if (x == d).any():
        return "one side and actors at the status quo: status quo"
    if wl == 0 and wr == 0:
        return "everyone at the status quo"
    return "one side only: everyone bargains"


def main(path: str, out: str) -> None:
    entries = [Entry("compromise", "compromise")]
    entries += [Entry(k, "nbs", params=v) for k, v in VARIANTS.items()]
    res = run_tournament(path, entries=entries, n_boot=2000, seed=0, jobs=1)
    truth = res["outcomes"]
    ids = list(truth)
    scen = {s.name: s for s in load_deu(path)}
    side = read_split(HERE / "deu_split.csv")
    sides = {i: side.get(str(scen[i].metadata.get("prnr"))) for i in ids}

    # the status quo as a forecast (compromise where rp is missing)
    comp = res["models"]["compromise"]["forecasts"]
    sq = {i: (scen[i].issues[0].status_quo if scen[i].issues[0].status_quo is not None else comp[i]) for i in ids}
    fc = {name: m["forecasts"] for name, m in res["models"].items()}
    fc["SQ"] = sq

    def err(name):
        return np.array([abs(fc[name][i] - truth[i]) for i in ids])

    waves = {i: scen[i].metadata.get("wave") for i in ids}
    table = {}
    for name in ["compromise", *VARIANTS, "SQ"]:
        e = err(name)
        row = {"mae": float(e.mean()), "rmse": float(np.sqrt((e ** 2).mean())), "medae": float(np.median(e)),
               "n": len(e),
               "diff_vs_compromise": float(e.mean() - err("compromise").mean()),
               "ci_vs_compromise": list(bootstrap_ci(e, err("compromise"), n_boot=2000, seed=0)),
               "diff_vs_N0": float(e.mean() - err("nbs").mean()),
               "ci_vs_N0": list(bootstrap_ci(e, err("nbs"), n_boot=2000, seed=0)),
               "by_wave": {str(w): float(np.mean([x for x, i in zip(e, ids) if waves[i] == w]))
                           for w in sorted(set(waves.values()), key=str)},
               "by_side": {sd: float(np.mean([x for x, i in zip(e, ids) if sides[i] == sd]))
                           for sd in ("train", "validation")}}
        if name in VARIANTS:
            row["params"] = VARIANTS[name]
        table[name] = row

    best = min(ELIGIBLE, key=lambda k: (table[k]["mae"], ELIGIBLE.index(k)))
    b = table[best]
    cond1 = b["ci_vs_N0"][1] < 0
    cond2 = all(b["by_side"][sd] < table["nbs"]["by_side"][sd] for sd in ("train", "validation"))

    rp = [scen[i].issues[0].status_quo for i in ids]
    counts = {
        "issues": len(ids),
        "rp_missing": sum(v is None for v in rp),
        "rp_at_0_or_100": sum(v is not None and v in (0.0, 100.0) for v in rp),
        "rp_elsewhere": sum(v is not None and v not in (0.0, 100.0) for v in rp),
        "outcome_equals_rp": sum(v is not None and v == truth[i] for v, i in zip(rp, ids)),
        "n0_path": {},
    }
    for i in ids:
        p = n0_path(scen[i])
        counts["n0_path"][p] = counts["n0_path"].get(p, 0) + 1
    result = {"file": str(path), "n_issues": len(ids), "table": table, "counts": counts,
              "decision": {"best_eligible": best, "ci_below_zero": cond1, "better_on_both_sides": cond2,
                           "change_default": bool(cond1 and cond2)}}
    Path(out).write_text(json.dumps(result, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    for name, r in table.items():
        print(f"{name:11s} MAE {r['mae']:6.2f}  vs compromise {r['diff_vs_compromise']:+6.2f} "
              f"[{r['ci_vs_compromise'][0]:+.2f}, {r['ci_vs_compromise'][1]:+.2f}]  vs N0 {r['diff_vs_N0']:+6.2f} "
              f"[{r['ci_vs_N0'][0]:+.2f}, {r['ci_vs_N0'][1]:+.2f}]  train {r['by_side']['train']:.2f} "
              f"val {r['by_side']['validation']:.2f}  waves {r['by_wave']}")
    print(json.dumps(counts, indent=1))
    print(json.dumps(result["decision"]))


if __name__ == "__main__":
    root = HERE.parent
    main(sys.argv[1] if len(sys.argv) > 1 else str(root.parent / "shared" / "data" / "deu" / "deu3_dev.csv"),
         sys.argv[2] if len(sys.argv) > 2 else str(HERE / "nbs_variants_result.json"))
