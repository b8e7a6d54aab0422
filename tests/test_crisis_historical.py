"""The historical crisis scenarios shipped with their records (issue 15).

``detente run`` on each, from a temporary working directory in a separate process: the report's
dates, actors and labels are the scenario's own, no hypothesis of the no-war cases is rejected,
and the record's outcome is the one stated in the shared facts (read from the facts files when
the shared folder is present).
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import detente
from detente import examples
from detente.crisis.spec import load_spec

# name: (window, focal label, words that must not appear in its report)
CASES = {
    "taiwan-strait-1995": (("1995-05-22", "1996-03-25"), "China's first crisis year", ("2022", "Ukraine", "Russia's")),
    "cuba-1962": (("1962-10-16", "1962-11-20"), "The Soviet Union's three months", ("2022", "Ukraine", "Russia")),
    "crimea-2014": (("2014-02-21", "2014-03-31"), "Russia's three months after the fall of Yanukovych",
                    ("2022", "Taiwan", "48 months")),
    "seesaw-2021": (("2021-12-01", "2022-02-28"), "Russia's 48 months", ("1962", "1995", "2014")),
}
FACTS = {"taiwan-strait-1995": "timeline_taiwan_1995_1996.csv", "cuba-1962": "timeline_cuba_1962.csv",
         "crimea-2014": "timeline_crimea_2014.csv", "seesaw-2021": "timeline_2021_2022.csv"}


def _run(name: str, cwd: Path) -> tuple[dict, str]:
    env = {**os.environ, "PYTHONPATH": str(Path(detente.__file__).resolve().parent.parent)}
    # the flagship with two of its seven hypotheses (the whole set takes about a minute here)
    hyps = ["-H", "combined", "-H", "pure_theory"] if name == "seesaw-2021" else []
    base = [sys.executable, "-m", "detente.cli", "run", name, "-n", "200", "--mechanisms", "none", *hyps]
    r = subprocess.run(base + ["--json"], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    obj = json.loads(r.stdout)
    r = subprocess.run(base + ["--out", "rep"], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    return obj, (cwd / "rep" / f"{name}.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", list(CASES))
def test_run_from_a_temporary_folder_reports_the_scenarios_own_record(name, tmp_path):
    (w0, w1), label, absent = CASES[name]
    obj, text = _run(name, tmp_path)
    assert obj["record"]["window"] == [w0, w1] and obj["backtest_end"] == w1
    assert obj["focal"]["label"].startswith(label) and f"## {obj['focal']['label']}" in text
    assert f"Back-test against {w0} – {w1}" in text
    for word in absent:
        assert word not in text, (name, word)
    spec = load_spec(examples.load(name).dynamics)
    actors = set(spec.actors)
    assert {obj["focal"]["actor"], *obj["triangle_actors"]} <= actors
    assert obj["reference"] == spec.record.reference
    verdicts = {r["hypothesis"]: r["verdict"] for r in obj["likelihood_table"]}
    assert verdicts[obj["reference"]] == "reference"
    if not obj["record"]["war"] or name == "seesaw-2021":
        # nothing is rejected where the record cannot tell the stories apart at this many runs
        assert "rejected" not in verdicts.values(), verdicts


def test_the_no_war_cases_and_the_agreement():
    for name in ("taiwan-strait-1995", "cuba-1962"):
        rec = load_spec(examples.load(name).dynamics).record
        assert rec.war is False and rec.onset is None
    cuba = load_spec(examples.load("cuba-1962").dynamics).record
    assert [(e.kind, e.track, e.happened) for e in cuba.events] == [("agreement", "missiles", True)]
    crimea = load_spec(examples.load("crimea-2014").dynamics).record
    assert (crimea.war, str(crimea.onset.date), crimea.initiator) == (True, "2014-02-27", "RU")


@pytest.mark.parametrize("name", list(FACTS))
def test_records_agree_with_the_shared_facts(name, shared):
    """The inline record restates the facts file: its outcome row's window and, with a war, the
    first onset row (war_onset, or use_of_force for Crimea) with its initiator."""
    with open(shared / "facts" / FACTS[name], encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    rec = load_spec(examples.load(name).dynamics).record
    out = [r for r in rows if r["kind"] == "outcome"]
    if out:
        lo, hi = out[-1]["date"].split("/")
        assert (str(rec.window[0]), str(rec.window[1])) == (lo, hi)
    kinds = {"crimea-2014": "use_of_force"}.get(name, "war_onset")
    onsets = [r for r in rows if r["kind"] == kinds and str(rec.window[0]) <= r["date"][:10] <= str(rec.window[1])]
    if rec.war:
        first = min(onsets, key=lambda r: r["date"])
        assert str(rec.onset.date) == first["date"][:10]
        assert rec.initiator == first["actors"].split(";")[0]
    else:
        assert not onsets
