"""Hash every output array of the crisis engine over many configurations (same-bytes check).

For each bundled crisis scenario, each hypothesis (and the base description), each mechanism
switch the mechanism map would measure, and drawn assumptions, the script simulates a few small
chunks with recorded paths and hashes every array of every part. Run it before and after a change
that must not change any number (a speed-up, a compiled twin) and compare the two files:

    python tools/engine_hashes.py --out before.json
    DETENTE_COMPILED=on python tools/engine_hashes.py --out after.json
    python tools/engine_hashes.py --compare before.json after.json

``--compare`` prints the configurations whose hashes differ and exits 1 if any does. It takes
about two minutes for the 251 configurations on one core (``--scenarios`` narrows it; ``--settings``
adds 105 configurations with structural settings: weekly steps, stop at the first war, …).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

SCENARIOS = ("seesaw-2021", "taiwan-strait-1995", "cuba-1962", "crimea-2014")


def part_hash(part: dict[str, Any]) -> str:
    """SHA-256 (16 hex digits) of every array, per-step table and list of one engine part."""
    m = hashlib.sha256()
    for k in sorted(part):
        v = part[k]
        if isinstance(v, dict):
            for kk in sorted(v):
                m.update(kk.encode())
                m.update(np.ascontiguousarray(v[kk]).tobytes())
        elif isinstance(v, np.ndarray):
            m.update(k.encode())
            m.update(str(v.dtype).encode())
            m.update(np.ascontiguousarray(v).tobytes())
        elif v is not None:
            m.update(json.dumps(v).encode())
    return m.hexdigest()[:16]


#: ``--settings``: settings that change the loop's structure (weekly steps, stop at the first war,
#: no pressure with monthly re-evaluation, a short look-ahead with drawn values, growth, lags and
#: war parties off), each under every hypothesis (105 more configurations)
SETTINGS_VARIANTS: list[dict[str, Any]] = [
    {"settings.step": "week", "settings.horizon_months": 6},
    {"settings.after_first_war": "stop"},
    {"settings.preventive_pressure": False, "settings.reeval_months": 1},
    {"settings.lookahead_months": 12, "settings.draw_assumptions": True},
    {"settings.capability_growth": False, "settings.allies_lag": False, "settings.war_parties": False},
]


def hashes(scenarios: list[str], runs: int, chunk_size: int, seed: int, settings: bool = False) -> dict[str, list[str]]:
    from detente import examples
    from detente.crisis import engine as E
    from detente.crisis.analysis import _mechanism_switches
    from detente.crisis.spec import load_spec

    out: dict[str, list[str]] = {}
    for name in scenarios:
        scn = examples.load(name)
        spec = load_spec(scn.dynamics)
        for h in [None, *spec.hypotheses]:
            _, rows = _mechanism_switches(scn, h, None, None)
            offs: list[dict[str, Any]] = [{}] + [present for _n, _m, present, _a, status in rows if status == "measured"]
            variants = [({}, off) for off in offs] + [({"settings.draw_assumptions": True}, {})]
            if settings:
                variants += [(v, {}) for v in SETTINGS_VARIANTS]
            for extra, off in variants:
                params = {"runs": runs, "chunk_size": chunk_size, "hypothesis": h, "set": {**extra, **off},
                          "record_paths": True}
                plan = E.plan(scn, params, seed=seed)
                key = "|".join([name, str(h), json.dumps(extra, sort_keys=True), json.dumps(off, sort_keys=True, default=str)])
                out[key] = [part_hash(E.simulate_chunk(ch)) for ch in plan.chunks]
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, help="write the hashes to this JSON file")
    ap.add_argument("--compare", nargs=2, type=Path, metavar=("A", "B"), help="compare two hash files")
    ap.add_argument("--scenarios", default=",".join(SCENARIOS), help="comma-separated bundled scenarios")
    ap.add_argument("--runs", type=int, default=700)
    ap.add_argument("--chunk-size", type=int, default=300)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--settings", action="store_true", help="also the structural settings variants (SETTINGS_VARIANTS)")
    a = ap.parse_args(argv)
    if a.compare:
        x, y = (json.loads(p.read_text(encoding="utf-8")) for p in a.compare)
        differ = sorted(k for k in set(x) | set(y) if x.get(k) != y.get(k))
        for k in differ:
            print("differs:", k)
        print(f"{len(set(x) | set(y)) - len(differ)} of {len(set(x) | set(y))} configurations identical")
        return 1 if differ else 0
    if a.out is None:
        ap.error("give --out FILE or --compare A B")
    got = hashes(a.scenarios.split(","), a.runs, a.chunk_size, a.seed, a.settings)
    a.out.write_text(json.dumps(got, indent=0, sort_keys=True), encoding="utf-8")
    print(f"{len(got)} configurations -> {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
