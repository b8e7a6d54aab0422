"""Cost and quality of the crisis Sobol analysis on seesaw-2021 (issue 17).

    PYTHONPATH=src python benchmarks/bench_crisis_sensitivity.py [N] [RUNS_PER_POINT]

Twenty numbers of the Russia–Ukraine path (hazard coefficients, escalation, crisis bargaining,
Russia's believed window, stalling, seesaw, provocation), hypothesis `combined`, outputs
P(war by the record's end) and Russia's months of peace. Prints wall and CPU time, the points
evaluated, the widest confidence half-width and the warnings, then the top indices.
"""

from __future__ import annotations

import json
import sys
import time

from detente import examples
from detente.experiments.crisis_sensitivity import crisis_sensitivity

FACTORS = ["flashpoints[UA].beta.forced", "flashpoints[UA].beta.pressure", "flashpoints[UA].beta.crisis_pwar",
           "flashpoints[UA].beta.moral_hazard", "flashpoints[UA].beta.rung", "flashpoints[UA].beta.forces",
           "flashpoints[UA].beta.groups", "flashpoints[UA].escalation.up_m", "flashpoints[UA].escalation.down_m",
           "flashpoints[UA].crisis.c_A", "flashpoints[UA].crisis.c_bar", "dyads[RU-UA].beliefs.0.cliff.size",
           "dyads[RU-UA].beliefs.0.drift_m", "dyads[RU-UA].exponent", "dyads[RU-UA].kappa.RU",
           "policies.stall.postpone_prob", "policies.seesaw.offer_s", "triangle.coupling.provocation.beta",
           "triangle.initial.RU-CN", "settings.pressure_scale_months"]


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 512
    m = int(sys.argv[2]) if len(sys.argv) > 2 else 32
    scn = examples.load("seesaw-2021")
    t0, c0 = time.time(), time.process_time()
    r = crisis_sensitivity(scn, hypothesis="combined", factors=FACTORS, outputs=["p_war_by_end", "months_of_peace"],
                           n=n, runs_per_point=m, with_tornado=False)
    df = r.to_df()
    print(json.dumps({"N": n, "runs_per_point": m, "wall_s": round(time.time() - t0, 1),
                      "cpu_s": round(time.process_time() - c0, 1), "points": r.points,
                      "max_half_width": round(float(df[["S1_conf", "ST_conf"]].max().max()), 3),
                      "warnings": r.warnings}, indent=1))
    print(df.sort_values("ST", ascending=False).head(10).to_string(index=False))


if __name__ == "__main__":
    main()
