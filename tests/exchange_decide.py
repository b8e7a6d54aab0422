"""A tiny Decide-file reader for the exchange tests (the real one is ``formats/decide.py``).

Only what the conformance inputs need: ``#A``, ``#P``, ``#M``, ``#D`` rows, tab or ``;``
separated, cells optionally quoted with ``'``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from detente.models.exchange import ExchangeData
from detente.scenario import Actor, Issue, Scenario, Stance


def _cells(line: str) -> list[str]:
    sep = "\t" if "\t" in line else ";"
    return [c.strip().strip("'").strip() for c in line.rstrip("\r\n").split(sep)]


def read(path: str | Path):
    actors: list[str] = []
    issues: list[str] = []
    scale: dict[str, list[float]] = {}
    rows: list[tuple[str, str, float, float, float]] = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        c = _cells(line)
        if not c or not c[0]:
            continue
        t = c[0]
        if t == "#A":
            actors.append(c[1])
        elif t == "#P":
            issues.append(c[1])
        elif t == "#M":
            scale.setdefault(c[1], []).append(float(c[2]))
        elif t == "#D":
            rows.append((c[1], c[2], float(c[3]), float(c[4]), float(c[5])))
    bounds = {i: (min(scale[i]), max(scale[i])) if i in scale else (0.0, 100.0) for i in issues}
    return actors, issues, bounds, rows


def data(path: str | Path) -> ExchangeData:
    actors, issues, bounds, rows = read(path)
    n, m = len(actors), len(issues)
    ai = {a: k for k, a in enumerate(actors)}
    ii = {a: k for k, a in enumerate(issues)}
    X, S, C = np.zeros((n, m)), np.zeros((n, m)), np.zeros((n, m))
    P = np.zeros((n, m), bool)
    for a, i, x, s, c in rows:
        X[ai[a], ii[i]], S[ai[a], ii[i]], C[ai[a], ii[i]], P[ai[a], ii[i]] = x, s, c, True
    lo = np.array([bounds[i][0] for i in issues])
    hi = np.array([bounds[i][1] for i in issues])
    return ExchangeData(tuple(actors), tuple(issues), X, S, C, P, lo, hi)


def scenario(path: str | Path, salience_scale: str = "unit") -> Scenario:
    actors, issues, bounds, rows = read(path)
    return Scenario(
        name=Path(path).stem,
        salience_scale=salience_scale,
        actors=[Actor(id=a) for a in actors],
        issues=[Issue(id=i, lower=bounds[i][0], upper=bounds[i][1]) for i in issues],
        stances=[Stance(actor=a, issue=i, position=x, salience=s, capability=c) for a, i, x, s, c in rows],
    )
