"""DEU reader: one scenario per issue, metadata, capabilities, problems; baseline MAEs."""

from __future__ import annotations

import numpy as np
import pytest

from detente.errors import InputError
from detente.formats import load
from detente.formats.deu import load_deu, load_deu_proposals, read_deu, scoreable
from detente.models.registry import run_model


@pytest.fixture
def sample(fixtures):
    return fixtures / "deu" / "deu_sample.csv"


def test_one_scenario_per_issue(sample):
    scs = load_deu(sample)
    assert len(scs) == 11
    s = scs[0]
    assert s.name == "d00032i1" and s.salience_scale == "percent"
    iss = s.issues[0]
    assert (iss.lower, iss.upper, iss.status_quo, iss.outcome) == (0, 100, 0.0, 100.0)
    assert iss.decision_rule == "qmv"
    m = s.metadata
    assert m["prnr"] == "d00032" and m["wave"] == "DEU I" and m["proc"] == "COD" and m["n_actors"] == 17
    assert "council" in m["capability_weights"]
    assert len(s.stances) == 17
    # Commission and EP at the largest member-state weight of the wave (DEU I: 10)
    assert s.actor("COM").capability == 10 and s.actor("EP").capability == 10 and s.actor("LU").capability == 2


def test_unanimity_missing_outcome_and_missing_salience(sample):
    scs = {s.name: s for s in load_deu(sample)}
    rules = {s.issues[0].decision_rule for s in scs.values()}
    assert rules == {"qmv", "unanimity"}
    assert any(s.issues[0].outcome is None for s in scs.values())
    assert any("salience_missing" in s.metadata for s in scs.values())
    assert sum(scoreable(s) for s in scs.values()) == 10


def test_weightings(sample):
    eq = load_deu(sample, weights="equal")[0]
    assert {a.capability for a in eq.actors} == {1.0}
    ss = load_deu(sample, weights="shapley")[0]
    assert ss.actor("DE").capability == pytest.approx(0.116667, abs=1e-5)  # EU-15 pre-Nice SSI
    assert ss.actor("COM").capability == ss.actor("DE").capability


def test_proposals_and_registry(sample):
    props = load_deu_proposals(sample)
    assert props[0].name == "d00032" and len(props[0].issues) == 4
    assert all(s.capability is not None for s in props[0].stances)
    whole = load(sample, format="deu")
    assert len(whole.issues) == 11
    assert read_deu(sample, proposal="d00032").issue_ids == props[0].issue_ids


def test_bad_rows_reported_with_location(tmp_path, sample):
    lines = sample.read_text().splitlines()
    head = lines[0].split(",")
    row = lines[1].split(",")
    row[head.index("pde")] = "abc"
    row[head.index("sfr")] = "150"
    row2 = lines[2].split(",")
    row2[head.index("counvte")] = "maybe"
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join([lines[0], ",".join(row), ",".join(row2)]) + "\n")
    with pytest.raises(InputError) as ei:
        load_deu(bad)
    probs = {(p.line, p.column, p.value) for p in ei.value.problems}
    assert (2, "pde", "abc") in probs and (2, "sfr", "150") in probs and (3, "counvte", "maybe") in probs
    missing = tmp_path / "missing.csv"
    missing.write_text("prnr,isnr\nx,y\n")
    with pytest.raises(InputError, match="missing DEU column"):
        load_deu(missing)


def test_out_of_range_outcome_is_missing(tmp_path, sample):
    lines = sample.read_text().splitlines()
    head = lines[0].split(",")
    row = lines[1].split(",")
    row[head.index("out")] = "999"
    f = tmp_path / "s.csv"
    f.write_text(lines[0] + "\n" + ",".join(row) + "\n")
    s = load_deu(f)[0]
    assert s.issues[0].outcome is None and s.metadata["out_raw"] == 999 and not scoreable(s)


README_MAE = {  # deu3_dev.csv README, "Baselines to beat"
    "compromise": (23.3426, {"DEU I": 24.59, "DEU II": 23.12, "DEU III": 18.69}),
    "salience": (24.1814, {"DEU I": 24.61, "DEU II": 23.72, "DEU III": 24.65}),
    "median": (28.9259, {"DEU I": 29.60, "DEU II": 29.15, "DEU III": 24.55}),
    "mean": (24.1609, {"DEU I": 24.28, "DEU II": 24.32, "DEU III": 22.75}),
}


@pytest.mark.shared
def test_dev_file_reproduces_readme_baselines(shared):
    scs = load_deu(shared / "data" / "deu" / "deu3_dev.csv")
    assert len(scs) == 252
    runs = {
        "compromise": dict(model="compromise"),
        "salience": dict(model="compromise", weights="salience"),
        "median": dict(model="median", weights="equal"),
        "mean": dict(model="compromise", weights="equal"),
    }
    errs: dict[str, dict[str, list[float]]] = {k: {} for k in runs}
    n = 0
    for s in scs:
        if not scoreable(s):
            continue
        n += 1
        o = s.issues[0].outcome
        for k, kw in runs.items():
            kw = dict(kw)
            f = run_model(s, kw.pop("model"), **kw).forecast()
            errs[k].setdefault(s.metadata["wave"], []).append(abs(f - o))
    assert n == 243
    for k, (total, waves) in README_MAE.items():
        allerr = [e for v in errs[k].values() for e in v]
        assert np.mean(allerr) == pytest.approx(total, abs=0.01), k
        for w, v in waves.items():
            assert np.mean(errs[k][w]) == pytest.approx(v, abs=0.01), (k, w)
