"""Helpers shared by the BDM tests: read a 4-column BDM table into a Scenario and compare
runs with the reference trajectories (schema ``detente-bdm-reference/1``)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from detente.scenario import Actor, Issue, Scenario, Stance

FIX = Path(__file__).resolve().parent / "fixtures" / "bdm"
CASES = {"emission": "emission_scholz2011_table1.csv", "greece": "greece_eu_2015.csv",
         "russia": "russia_ukraine_2022.csv", "uk_emu": "uk_emu_labour.csv"}


def scenario_from_csv(path: Path) -> Scenario:
    """Actor,Capability,Position,Salience -> one-issue Scenario (salience on 0-100 when any > 1)."""
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    sal = [float(r["Salience"]) for r in rows]
    pos = [float(r["Position"]) for r in rows]
    scale = "percent" if max(sal) > 1 else "unit"
    return Scenario(
        name=path.stem, salience_scale=scale,
        actors=[Actor(id=r["Actor"], capability=float(r["Capability"])) for r in rows],
        issues=[Issue(id="issue", lower=min(0.0, min(pos)), upper=max(pos))],
        stances=[Stance(actor=r["Actor"], issue="issue", position=p, salience=s) for r, p, s in zip(rows, pos, sal)],
    )


def case_scenario(case: str, root: Path = FIX) -> Scenario:
    return scenario_from_csv(root / "inputs" / CASES[case])


def expected(name: str, root: Path = FIX) -> dict:
    return json.loads((root / "expected" / name).read_text(encoding="utf-8"))


def compare_trajectory(ir, ref: dict, normalised: bool) -> list[str]:
    """Differences between an IssueResult and a reference trajectory (empty list = pass).

    Tolerances of conformance/bdm/README.md: 1e-9 in round 1, 1e-6 later; event sets equal."""
    diffs: list[str] = []
    for k, (got, exp) in enumerate(zip(ir.rounds, ref["rounds"])):
        tol = 1e-9 if k <= 1 else 1e-6
        pos = got.extra["positions_normalised"] if normalised else got.positions
        med = got.extra["median_normalised"] if normalised else got.median
        mean = got.extra["mean_normalised"] if normalised else got.mean
        for a, x in exp["positions"].items():
            if abs(pos[a] - x) > tol:
                diffs.append(f"round {k}: position {a} {pos[a]!r} vs {x!r}")
        if abs(med - exp["median"]) > tol:
            diffs.append(f"round {k}: median {med!r} vs {exp['median']!r}")
        if abs(mean - exp["mean"]) > tol:
            diffs.append(f"round {k}: mean {mean!r} vs {exp['mean']!r}")
        if exp["risk_exponents"]:
            for a, r in exp["risk_exponents"].items():
                if abs(got.extra["risk_exponents"][a] - r) > tol:
                    diffs.append(f"round {k}: r {a} {got.extra['risk_exponents'][a]!r} vs {r!r}")
        ge = {(e["actor"], e["counterpart"], e["type"]) for e in got.extra["events"]}
        ee = {(e["actor"], e["counterpart"], e["type"]) for e in exp["events"]}
        if ge != ee:
            diffs.append(f"round {k}: events {sorted(ge - ee)} extra, {sorted(ee - ge)} missing")
        gmap = {(e["actor"], e["counterpart"]): e for e in got.extra["events"]}
        for e in exp["events"]:
            g = gmap.get((e["actor"], e["counterpart"]))
            if g is None:
                continue
            for key, gk in (("eu_actor", "eu_actor"), ("eu_counterpart", "eu_counterpart"), ("new_position", "new_position")):
                if key in e:
                    gv = g[gk]
                    if key == "new_position" and normalised:
                        continue
                    if abs(gv - e[key]) > tol:
                        diffs.append(f"round {k}: event {e['actor']}->{e['counterpart']} {key} {gv!r} vs {e[key]!r}")
        if "conflicts" in exp:
            gc = {(c["a"], c["b"], c["winner"]) for c in got.extra.get("conflicts", [])}
            ec = {(c["a"], c["b"], c["winner"]) for c in exp["conflicts"]}
            if gc != ec:
                diffs.append(f"round {k}: conflicts {sorted(gc)} vs {sorted(ec)}")
    if len(ir.rounds) != len(ref["rounds"]):
        diffs.append(f"rounds: {len(ir.rounds)} vs {len(ref['rounds'])}")
    return diffs


def scripted_resolver(ref: dict):
    """A conflict resolver that replays the winners recorded in a reference trajectory."""
    winners = {}
    for rd in ref["rounds"]:
        for c in rd.get("conflicts", []):
            winners.setdefault(frozenset((c["a"], c["b"])), []).append(c["winner"])

    def resolve(a, b, p_a, rng):
        queue = winners.get(frozenset((a, b)))
        if queue:
            return queue.pop(0)
        return a if rng.random() < p_a else b

    return resolve
