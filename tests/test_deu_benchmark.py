"""DEU tournament, procedural model, frozen candidate and the benchmark CLI (fast: fixture only)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from detente.cli import app
from detente.experiments.deu_benchmark import Entry, bootstrap_ci, default_entries, fit_lad, run_tournament
from detente.formats.deu import load_deu
from detente.models.deu.median_regression import FROZEN, SPEC_COLUMNS
from detente.models.registry import names, run_model

FAST = ["compromise", "median", "nbs", "procedural", "deu_candidate"]


@pytest.fixture
def sample(fixtures):
    return fixtures / "deu" / "deu_sample.csv"


def test_tournament_on_fixture(sample):
    res = run_tournament(sample, entries=default_entries(FAST), n_boot=200)
    assert res["n_issues"] == 10
    m = res["models"]
    assert {"compromise", "compromise:equal", "compromise:shapley", "mean", "median", "median:council", "nbs",
            "procedural:codecision", "procedural:setter", "deu_candidate"} <= set(m)
    assert m["compromise"]["ci_vs_compromise"] == [0.0, 0.0]
    for v in m.values():
        assert v["n"] == 10 and len(v["forecasts"]) == 10
        errs = [abs(v["forecasts"][i] - res["outcomes"][i]) for i in v["forecasts"]]
        assert v["mae"] == pytest.approx(np.mean(errs))
        assert set(v["by"]) == {"wave", "proc", "counvte"}


def test_failing_model_is_reported_not_fatal(sample):
    bad = Entry("broken", "compromise", params={"weights": "nonsense"})
    res = run_tournament(sample, entries=[Entry("compromise", "compromise"), bad], n_boot=100)
    assert res["models"]["broken"]["n"] == 0 and res["models"]["broken"]["n_failed"] == 10
    assert res["models"]["broken"]["failure_reasons"]


def test_registry_and_candidate_frozen():
    assert {"procedural", "deu_candidate"} <= set(names())
    assert FROZEN["spec"] in SPEC_COLUMNS and len(FROZEN["coef"]) == len(SPEC_COLUMNS[FROZEN["spec"]])


def test_procedural_unanimity_keeps_status_quo(sample):
    s = load_deu(sample)[0]
    # everyone at 100 except one member at the status quo 0 -> under unanimity nothing moves
    st = [x.model_copy(update={"position": 100.0}) if x.actor != "DE" else x.model_copy(update={"position": 0.0})
          for x in s.stances]
    iss = s.issues[0].model_copy(update={"decision_rule": "unanimity", "status_quo": 0.0})
    u = s.model_copy(update={"stances": st, "issues": [iss]})
    assert run_model(u, "procedural", variant="setter").forecast() == 0.0
    q = u.model_copy(update={"issues": [iss.model_copy(update={"decision_rule": "qmv"})]})
    assert run_model(q, "procedural", variant="setter").forecast() == 100.0


def test_bootstrap_and_lad():
    lo, hi = bootstrap_ci([2.0, 3.0, 4.0, 5.0], [1.0, 1.0, 1.0, 1.0], n_boot=500, seed=1)
    assert 1.0 <= lo <= hi <= 4.0
    lo, hi = bootstrap_ci([2.0, 3.0], [1.0, 1.0], n_boot=500, seed=1, clusters=["a", "b"])
    assert 1.0 <= lo <= hi <= 2.0
    X = np.c_[np.ones(7), np.arange(7.0)]
    y = 1 + 2 * np.arange(7.0)
    y[3] += 50  # an outlier does not move a LAD fit
    assert fit_lad(X, y) == pytest.approx([1.0, 2.0], abs=1e-8)


def test_cli_json(sample):
    r = CliRunner().invoke(app, ["benchmark", "deu", str(sample), "--json", "--models", "compromise,median",
                                 "--bootstrap", "200", "--jobs", "1"])
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert d["n_issues"] == 10
    c = d["models"]["compromise"]
    assert {"mae", "rmse", "ci_vs_compromise", "forecasts"} <= set(c)
    assert set(c["forecasts"]) == set(d["outcomes"])
    assert d["run"]["time_budget"] is None  # no budget by default: every model on every issue


def test_cli_bad_file(tmp_path):
    f = tmp_path / "x.csv"
    f.write_text("prnr,isnr\n1,2\n")
    r = CliRunner().invoke(app, ["benchmark", "deu", str(f), "--json"])
    assert r.exit_code == 2
    assert json.loads(r.stdout)["error"] == "invalid input"


def test_json_contract_documents_benchmark_keys(sample):
    import re
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[1] / "docs" / "json-contract.md").read_text(encoding="utf-8")
    sec = re.search(r"^## `benchmark deu`\n(.*?)(?=^### |^## |\Z)", doc, flags=re.M | re.S).group(1)
    keys = set(re.findall(r"^\| `([^`]+)` \|", sec, flags=re.M))
    r = CliRunner().invoke(app, ["benchmark", "deu", str(sample), "--json", "--models", "compromise",
                                 "--bootstrap", "100", "--jobs", "1"])
    assert set(json.loads(r.stdout)) == keys


def test_jobs_and_chunking_do_not_change_results(sample):
    ents = default_entries(["compromise", "median", "procedural", "bdm"])
    a = run_tournament(sample, entries=ents, n_boot=100, jobs=1)
    b = run_tournament(sample, entries=ents, n_boot=100, jobs=2)
    assert b["run"]["tasks"] > a["run"]["tasks"] >= 1
    for k in a["models"]:
        assert a["models"][k]["forecasts"] == b["models"][k]["forecasts"]
        assert a["models"][k]["ci_vs_compromise"] == b["models"][k]["ci_vs_compromise"]


@pytest.mark.parametrize("variant", ["detente", "scholz2011", "masad2014", "masad2016"])
def test_bdm_batched_path_gives_the_per_run_forecasts(sample, variant):
    from detente.experiments.deu_benchmark import _bdm_batched

    scns = load_deu(sample)
    keep = {s.name for s in scns}
    done = _bdm_batched(Entry("b", "bdm", variant=variant), scns, keep)
    assert done is not None
    fc, rest = done
    assert len(fc) + len(rest) == len(scns)
    for s in scns:
        if s.name in fc:
            assert fc[s.name] == pytest.approx(run_model(s, "bdm", variant=variant, seed=0).forecast(), abs=1e-9)


def test_identical_configurations_run_once(sample):
    ents = [Entry("compromise", "compromise"), Entry("again", "compromise")]
    res = run_tournament(sample, entries=ents, n_boot=100)
    assert res["run"]["configurations"] == 1
    assert res["models"]["again"]["same_as"] == "compromise"
    assert res["models"]["again"]["forecasts"] == res["models"]["compromise"]["forecasts"]


def test_candidate2_frozen_and_nests_the_compromise(sample):
    from detente.experiments.deu_benchmark import _grid_predictions, candidate2_grid
    from detente.models.deu.reweighted_compromise import BASELINE, FROZEN, issue_data, predict

    assert FROZEN["spec"] in ("R1", "R2", "R3", "R4")
    assert len(candidate2_grid("R1")) == 25 and len(candidate2_grid("R3")) == 4500
    keys = ("alpha", "gamma", "kappa", "eps_cod", "eps_cns", "lam")
    P = np.array([[g[k] for k in keys] for g in candidate2_grid("R3")[::97]])
    for s in load_deu(sample):
        d = issue_data(s, s.name)
        # the baseline parameters are the compromise model
        assert predict(d, BASELINE) == pytest.approx(run_model(s, "compromise").forecast(), abs=1e-9)
        # the vectorised grid equals the scalar forecast
        g = _grid_predictions(d, P)
        for k in range(len(P)):
            assert g[k] == pytest.approx(predict(d, {**dict(zip(keys, P[k])), "delta": 0.0}), abs=1e-9)
        assert run_model(s, "deu_candidate2").forecast() == pytest.approx(predict(d, FROZEN), abs=1e-9)


def test_time_budget_is_reported_as_failures(sample):
    res = run_tournament(sample, entries=[Entry("compromise", "compromise"), Entry("nbs", "nbs")], n_boot=100,
                         time_budget=1e-12, jobs=2)
    m = res["models"]["nbs"]
    assert m["n"] + m["n_failed"] == 10 and m["n_failed"] > 0
    assert any("budget" in r for r in m["failure_reasons"])


def test_candidate3_rules_nest_the_compromise_and_frozen_forecasts(sample):
    from detente.experiments.deu_benchmark import candidate3_grid
    from detente.models.deu.point_masses import BASELINE, FROZEN, OFF, predict
    from detente.models.deu.reweighted_compromise import issue_data

    assert "deu_candidate3" in names()
    assert FROZEN["spec"] in ("P1", "P2", "P3", "P4")
    sizes = {s: len(candidate3_grid(s)) for s in ("P1", "P2", "P3", "P4")}
    assert sizes == {"P1": 7, "P2": 63, "P3": 7, "P4": 49}
    for s in ("P1", "P2", "P3", "P4"):  # tie-break order starts at the compromise
        assert candidate3_grid(s)[0] == BASELINE
    by_id = {}
    for s in load_deu(sample):
        d = issue_data(s, s.name)
        by_id[s.name] = (s, d)
        assert predict(d, BASELINE) == (pytest.approx(run_model(s, "compromise").forecast(), abs=1e-9), "compromise")
        assert run_model(s, "deu_candidate3").forecast() == pytest.approx(predict(d, FROZEN)[0], abs=1e-9)
    # frozen (P3, delta 20): compromise 52.91 -> nearest position 40 (12.9 away); 75.76 has no
    # position within 20 (50 and 100 are 25.8 and 24.2 away) and stays the compromise
    assert run_model(by_id["d00032i1"][0], "deu_candidate3").forecast() == pytest.approx(40.0)
    assert run_model(by_id["d00032i4"][0], "deu_candidate3").forecast() == pytest.approx(75.7575757576)
    # d00032i3: 79 % of the Council weight shares the Commission's position (100), which is also
    # the reference point; the Commission rule fires from theta 0.79 down, not above
    _, d = by_id["d00032i3"]
    assert predict(d, {**BASELINE, "theta": 0.79}) == (100.0, "commission")
    assert predict(d, {**BASELINE, "theta": 0.8})[1] == "compromise"
    assert predict(d, {**BASELINE, "phi": 0.79}) == (100.0, "status_quo")
    # the Commission rule has priority over the status-quo rule; d00032i1: COM at 100, rp 0
    _, d = by_id["d00032i1"]
    assert predict(d, {**BASELINE, "theta": 0.2, "phi": 0.2}) == (100.0, "commission")
    assert predict(d, {**BASELINE, "theta": OFF, "phi": 0.3}) == (0.0, "status_quo")
    assert predict(d, {**BASELINE, "delta": 12.0})[1] == "compromise"
    assert predict(d, {**BASELINE, "delta": 13.0}) == (40.0, "snap")


@pytest.mark.shared
def test_candidate3_fit_reproduces_the_committed_fit(shared):
    """Re-running the pre-registered fit gives preregistration/deu_candidate3_fit.json and the
    frozen parameters in the model."""
    from pathlib import Path

    from detente.experiments.deu_benchmark import fit_preregistered3
    from detente.models.deu.point_masses import FROZEN

    pre = Path(__file__).resolve().parents[1] / "preregistration"
    committed = json.loads((pre / "deu_candidate3_fit.json").read_text(encoding="utf-8"))
    r = fit_preregistered3(shared / "data" / "deu" / "deu3_dev.csv", pre / "deu_split.csv")
    assert (r["n_train"], r["n_validation"]) == (156, 87)
    assert r["selected"] == committed["selected"] == FROZEN["spec"]
    assert r["frozen"] == committed["frozen"] == {k: FROZEN[k] for k in r["frozen"]}
    for spec, d in r["specs"].items():
        assert d["params"] == committed["specs"][spec]["params"]
        assert d["train_mae"] == pytest.approx(committed["specs"][spec]["train_mae"], abs=1e-9)
        assert d["val_mae"] == pytest.approx(committed["specs"][spec]["val_mae"], abs=1e-9)
    assert r["compromise_val_mae"] == pytest.approx(19.824017694, abs=1e-6)
    assert r["val_diff"] == pytest.approx(committed["val_diff"], abs=1e-9)
    assert r["val_ci_issues"] == pytest.approx(committed["val_ci_issues"], abs=1e-9)
    assert r["val_ci_proposals"] == pytest.approx(committed["val_ci_proposals"], abs=1e-9)
    # and the whole result: every key, count, rule tally and forecast (floats to 1e-9)
    _assert_same_json(r, committed)


def _assert_same_json(got, want, path="result"):
    """``got`` (after a JSON round trip) equals ``want``: same keys, lengths, strings, integers
    and booleans; floats equal to within 1e-9."""
    got = json.loads(json.dumps(got))
    _same(got, want, path)


def _same(a, b, path):
    if isinstance(b, dict):
        assert isinstance(a, dict) and set(a) == set(b), (path, sorted(set(a) ^ set(b)) if isinstance(a, dict) else a)
        for k in b:
            _same(a[k], b[k], f"{path}.{k}")
    elif isinstance(b, list):
        assert isinstance(a, list) and len(a) == len(b), (path, a, b)
        for k, (x, y) in enumerate(zip(a, b)):
            _same(x, y, f"{path}[{k}]")
    elif isinstance(b, float) or isinstance(a, float):
        assert not isinstance(a, (bool, str)) and a == pytest.approx(b, abs=1e-9), (path, a, b)
    else:
        assert type(a) is type(b) and a == b, (path, a, b)


@pytest.mark.shared
@pytest.mark.parametrize("fit, committed_file", [("fit_preregistered", "deu_candidate_fit.json"),
                                                  ("fit_preregistered2", "deu_candidate2_fit.json")])
def test_earlier_candidate_fits_reproduce_the_committed_fits(shared, fit, committed_file):
    """The first two pre-registered fits still give their committed JSON files (which do not
    store the validation forecasts)."""
    from pathlib import Path

    import detente.experiments.deu_benchmark as bm

    pre = Path(__file__).resolve().parents[1] / "preregistration"
    committed = json.loads((pre / committed_file).read_text(encoding="utf-8"))
    r = getattr(bm, fit)(shared / "data" / "deu" / "deu3_dev.csv", pre / "deu_split.csv")
    assert set(r) == set(committed) | {"val_forecasts"} and len(r["val_forecasts"]) == r["n_validation"] == 87
    if fit == "fit_preregistered":
        _check_candidate1_tie_deviation(r, committed, shared)
        return
    _assert_same_json({k: v for k, v in r.items() if k != "val_forecasts"}, committed)


def _check_candidate1_tie_deviation(r, committed, shared):
    """The first candidate's committed fit was made on a machine whose BLAS rounded one training
    forecast (S5, exactly 35.0 when summed exactly, 15.0 from its nearest actor position) one ulp
    away from the snapping distance 15, so that row did not snap. Forecasts are now summed exactly
    (``math.fsum``, the same on every machine): the row snaps, its error rises from 0 to 15, the
    train MAE at delta 15 rises by exactly 15/156, and the grid search picks delta 20. Everything
    else of the fit is unchanged, and the frozen model (delta 15, fixed by the pre-registered
    freeze) still gives the committed validation numbers (docs/deu-benchmark.md, "Deviation")."""
    import numpy as np

    from detente.models.deu.median_regression import FROZEN

    got = json.loads(json.dumps({k: v for k, v in r.items() if k != "val_forecasts"}))
    for k in ("n_train", "n_validation", "compromise_train_mae", "compromise_val_mae", "selected", "yva_mean"):
        _same(got[k], committed[k], k)
    for spec in ("S1", "S2", "S3", "S4"):
        _same(got["specs"][spec], committed["specs"][spec], spec)
    g5, c5 = got["specs"]["S5"], committed["specs"]["S5"]
    _same(g5["coef"], c5["coef"], "S5.coef")
    for d, v in c5["train_mae_by_delta"].items():
        want = v + 15.0 / 156 if d == "15.0" else v
        assert g5["train_mae_by_delta"][d] == pytest.approx(want, abs=1e-9), d
    assert (c5["delta"], g5["delta"]) == (15.0, 20.0) and FROZEN["delta"] == 15.0
    # the frozen delta-15 model still gives the committed validation score and comparison
    from pathlib import Path

    import detente.experiments.deu_benchmark as bm
    from detente.models.deu.median_regression import predict

    pre = Path(__file__).resolve().parents[1] / "preregistration"
    _, val = bm.split_rows(shared / "data" / "deu" / "deu3_dev.csv", pre / "deu_split.csv", bm._candidate_fields)
    e1 = np.array([abs(predict(x["f"], "S5", FROZEN["coef"], FROZEN["delta"], x["positions"]) - x["y"]) for x in val])
    e0 = np.array([abs(x["f"]["C"] - x["y"]) for x in val])
    assert float(e1.mean()) == pytest.approx(c5["val_mae"], abs=1e-9)
    assert float(e1.mean() - e0.mean()) == pytest.approx(committed["val_diff"], abs=1e-9)
    assert list(bm.bootstrap_ci(e1, e0, n_boot=10000, seed=20250607)) == pytest.approx(committed["val_ci_issues"], abs=1e-9)


def _issue(x, role, s=None, v=None, rp=None):
    """Synthetic candidate input: positions ``x`` (0-100) in reader order, roles 0 member state /
    1 Commission / 2 EP; saliences and member-state weights default to 1."""
    from detente.models.deu.reweighted_compromise import IssueData

    n = len(x)
    return IssueData(x=np.array(x, float), s=np.ones(n) if s is None else np.array(s, float), role=np.array(role),
                     v=np.ones(n) if v is None else np.array(v, float), cod=True, unanimity=False, rp=rp)


def test_candidate3_snap_at_exactly_delta():
    from detente.models.deu.point_masses import BASELINE, predict

    # C = (0 + 100) / 2 = 50 (the member state has salience 0); its position 62.5 is 12.5 away,
    # the institutions 50: a distance equal to delta snaps, a smaller delta does not
    d = _issue([0.0, 100.0, 62.5], [1, 2, 0], s=[1.0, 1.0, 0.0])
    assert predict(d, BASELINE) == (50.0, "compromise")
    assert predict(d, {**BASELINE, "delta": 12.5}) == (62.5, "snap")
    assert predict(d, {**BASELINE, "delta": 12.499}) == (50.0, "compromise")


def test_candidate3_snap_ties_go_to_the_first_actor_in_reader_order():
    from detente.models.deu.point_masses import BASELINE, predict

    # C = 40; COM (20) and EP (60) are both 20 away: the Commission, listed first, wins
    d = _issue([20.0, 60.0, 95.0], [1, 2, 0], s=[1.0, 1.0, 0.0])
    assert predict(d, BASELINE)[0] == 40.0
    assert predict(d, {**BASELINE, "delta": 25.0}) == (20.0, "snap")
    # two member states 10 from C = 40: the one first in reader order, whichever position it has
    for first, second in ((30.0, 50.0), (50.0, 30.0)):
        d = _issue([0.0, 80.0, first, second], [1, 2, 0, 0], s=[1.0, 1.0, 0.0, 0.0])
        assert predict(d, BASELINE)[0] == 40.0
        assert predict(d, {**BASELINE, "delta": 10.0}) == (first, "snap")


def test_candidate3_rules_fire_at_a_share_exactly_at_the_threshold():
    from detente.models.deu.point_masses import BASELINE, predict, shares

    # member states with weights 0.5, 0.25, 0.25 at 100, 100, 0; Commission at 100, reference
    # point 0. The first state has salience 0 and still counts: share_K = 0.75, share_q = 0.25
    d = _issue([100.0, 50.0, 100.0, 100.0, 0.0], [1, 2, 0, 0, 0], s=[1, 1, 0, 1, 1], v=[1, 1, 0.5, 0.25, 0.25],
               rp=0.0)
    assert shares(d) == (0.75, 0.25)
    assert predict(d, {**BASELINE, "theta": 0.75}) == (100.0, "commission")
    assert predict(d, {**BASELINE, "theta": 0.76})[1] == "compromise"
    assert predict(d, {**BASELINE, "phi": 0.25}) == (0.0, "status_quo")
    assert predict(d, {**BASELINE, "phi": 0.26})[1] == "compromise"


def test_candidate_runs_report_the_frozen_spec_only_with_the_frozen_values(sample):
    from detente.models.deu import point_masses as deu_candidate3
    from detente.models.deu import reweighted_compromise as deu_candidate2

    s = load_deu(sample)[0]
    for model, mod, override in (("deu_candidate3", deu_candidate3, {"delta": 10.0}),
                                 ("deu_candidate2", deu_candidate2, {"kappa": 1.0})):
        spec = mod.FROZEN["spec"]
        assert run_model(s, model).params["spec"] == spec
        k = next(iter(override))
        assert run_model(s, model, params={k: mod.FROZEN[k]}).params["spec"] == spec  # the frozen value again
        res = run_model(s, model, params=override)
        assert res.params["spec"] == "custom" and res.params[k] == override[k]


def test_fits_refuse_a_split_file_without_a_proposal(sample, tmp_path):
    from detente.errors import InputError
    from detente.experiments import deu_benchmark as bm

    prnrs = ["a04163", "d00032", "d05246", "d160280", "d97264"]  # the fixture's proposals
    split = tmp_path / "split.csv"
    split.write_text("prnr,side\n" + "".join(f"{p},{'train' if k % 2 else 'validation'}\n"
                                              for k, p in enumerate(prnrs)), encoding="utf-8")
    train, val = bm.split_rows(sample, split, bm._issue_data_fields)
    assert len(train) + len(val) == 10 and {r["side"] for r in train} == {"train"}
    split.write_text("prnr,side\n" + "".join(f"{p},train\n" for p in prnrs if p != "d05246"), encoding="utf-8")
    for fit in (bm.fit_preregistered, bm.fit_preregistered2, bm.fit_preregistered3):
        with pytest.raises(InputError) as ei:
            fit(sample, split, n_boot=10)
        assert [q.value for q in ei.value.problems] == ["d05246"]
        assert "d05246" in str(ei.value) and "split.csv" in str(ei.value)
    split.write_text("prnr,side\n" + "".join(f"{p},trian\n" for p in prnrs), encoding="utf-8")
    with pytest.raises(InputError, match="unknown side"):
        bm.split_rows(sample, split, bm._issue_data_fields)
