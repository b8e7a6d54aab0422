"""Baseline models against closed forms and the EC emission reference values."""

from __future__ import annotations

import numpy as np
import pytest

import detente
from detente import examples
from detente.errors import InputError, UnknownModelError
from detente.models.baseline import compromise, nash_bargaining, weighted_median
from detente.models.registry import names, run_model


def test_ec_emission_compromise_and_median():
    s = examples.load("ec_emission")
    assert run_model(s, "compromise").forecast() == pytest.approx(7.389955686853767, abs=1e-12)
    assert run_model(s, "median").forecast() == 7.0


def test_weighted_median_ties_and_pooling():
    x = np.array([0.0, 10.0, 10.0, 20.0])
    assert weighted_median(x, np.ones(4)) == 10.0
    assert weighted_median(np.array([0.0, 10.0]), np.ones(2), "lower") == 0.0
    assert weighted_median(np.array([0.0, 10.0]), np.ones(2), "upper") == 10.0
    assert weighted_median(np.array([3.0, 1.0, 2.0]), np.array([1.0, 1.0, 5.0])) == 2.0
    # equal weights reproduce numpy's median
    rng = np.random.default_rng(0)
    for n in range(1, 12):
        v = rng.integers(0, 5, n).astype(float) * 10
        assert weighted_median(v, np.ones(n)) == pytest.approx(float(np.median(v)))


def test_compromise_closed_form():
    assert compromise(np.array([0.0, 10.0]), np.array([1.0, 3.0])) == 7.5
    with pytest.raises(ZeroDivisionError):
        compromise(np.array([1.0]), np.array([0.0]))


def test_nbs_symmetric_and_status_quo():
    # two equal actors, symmetric disagreement (each at its worse end): the midpoint
    assert nash_bargaining(np.array([0.2, 0.8]), np.ones(2), None) == pytest.approx(0.5, abs=1e-8)
    # status quo at 0: only outcomes in (0, 0.4) leave the actor at 0.2 better off; the
    # closed form maximises log(0.04 - (x-0.2)^2) + log(0.64 - (x-0.8)^2)
    from scipy.optimize import minimize_scalar
    ref = minimize_scalar(lambda v: -np.log(0.04 - (v - 0.2) ** 2) - np.log(0.64 - (v - 0.8) ** 2),
                          bounds=(1e-9, 0.4 - 1e-9), method="bounded", options={"xatol": 1e-12}).x
    assert nash_bargaining(np.array([0.2, 0.8]), np.ones(2), 0.0) == pytest.approx(ref, abs=1e-7)
    # everyone on one side of the status quo: the solution lies between them
    x = nash_bargaining(np.array([0.6, 0.9]), np.array([1.0, 3.0]), 0.0)
    assert 0.6 < x < 0.9
    # veto rule: actors on both sides of the status quo keep the status quo
    assert nash_bargaining(np.array([0.2, 0.8]), np.ones(2), 0.5, when_no_gain="status_quo") == 0.5
    # heavier side bargains among itself
    y = nash_bargaining(np.array([0.2, 0.7, 0.9]), np.array([1.0, 2.0, 2.0]), 0.5)
    assert 0.7 <= y <= 0.9


def test_nbs_outcome_on_issue_scale():
    s = examples.load("ec_emission")
    f = run_model(s, "nbs").forecast()
    assert 4.0 <= f <= 10.0


def test_registry_and_errors():
    assert {"compromise", "median", "nbs"} <= set(names())
    s = examples.load("ec_emission")
    with pytest.raises(UnknownModelError):
        run_model(s, "nope")
    with pytest.raises(InputError) as e:
        run_model(s, "compromise", rounds=3)
    assert "rounds" in str(e.value)
    with pytest.raises(InputError):
        run_model(s, "median", params={"tie": "sideways"})


def test_result_records_provenance_and_key():
    s = examples.load("ec_emission")
    a = run_model(s, "compromise", seed=3)
    b = run_model(s, "compromise")
    c = run_model(s, "bdm", seed=3)
    assert a.key == b.key != c.key != run_model(s, "bdm", seed=4).key
    d = a.to_json_dict()
    # the compromise model draws nothing: no seed is recorded (detente.seeding)
    assert d["model"] == "compromise" and d["seed"] is None and d["version"] == detente.__version__
    assert c.seed == 3
    assert d["input_hash"] == s.content_hash()
    assert set(d["issues"]) == {"emission"}


def test_zero_weights_defined():
    s = detente.Scenario(
        actors=[detente.Actor(id="A", capability=0), detente.Actor(id="B", capability=0)],
        issues=[detente.Issue(id="x")],
        stances=[detente.Stance(actor="A", issue="x", position=10, salience=0),
                 detente.Stance(actor="B", issue="x", position=30, salience=0)],
    )
    r = run_model(s, "compromise")
    assert r.forecast() == 20.0 and any("every weight is zero" in n for n in r.notes)
    with pytest.raises(detente.RunError):
        run_model(s, "compromise", params={"zero_weight": "error"})


@pytest.mark.parametrize("name,compromise_ref,median_ref", [
    ("emission.csv", 7.389955686853767, 7.0),
    ("greece_eu_2015.csv", 82.22222222222223, 100.0),
    ("russia_ukraine_2022.csv", 68.831169, 80.0),
])
def test_bdm_tables_through_the_reader(fixtures, name, compromise_ref, median_ref):
    s = detente.load(fixtures / name)
    assert run_model(s, "compromise").forecast() == pytest.approx(compromise_ref, abs=1e-6)
    assert run_model(s, "median").forecast() == median_ref


def test_shared_bdm_inputs_match_local_copies(shared, fixtures):
    for local, ref in [("emission.csv", "emission_scholz2011_table1.csv"), ("greece_eu_2015.csv", "greece_eu_2015.csv"),
                       ("russia_ukraine_2022.csv", "russia_ukraine_2022.csv")]:
        assert (fixtures / local).read_bytes() == (shared / "conformance" / "bdm" / "inputs" / ref).read_bytes()


def test_result_dataframe_plot_and_html():
    s = examples.load("ec_emission")
    r = run_model(s, "compromise")
    df = r.to_df()
    assert df.to_dict("records")[0]["kind"] == "forecast" and df["value"].iloc[0] == pytest.approx(7.389955686853767)
    assert "<table>" in r._repr_html_()
    fig = r.plot(scenario=s)   # a model without rounds: the forecast on the issue's scale
    (diamond,) = [t for t in fig.data if t.name == "compromise"]
    assert list(diamond.x) == [pytest.approx(7.389955686853767)]
    assert next(t for t in fig.data if t.name == "issue bounds").x == (4.0, 10.0)
    assert hasattr(fig, "_repr_html_") or hasattr(fig, "_ipython_display_")   # displays itself in Jupyter
