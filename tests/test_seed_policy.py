"""One seed policy for the Python API, the CLI and the web, and run ids that never name two results.

The policy (``detente.seeding``): a stochastic model run without a seed draws one, records it in
``RunResult.seed`` and is keyed with it; the same seed gives the same bytes from every front end;
a run that draws no random number records ``seed: null`` ("no seed used"), given one or not.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

import detente
from detente import seeding
from detente.cli import app as cli_app
from detente.errors import InputError, StoreError
from detente.models.registry import check_params, get, names, run_model
from detente.result import IssueResult, RunResult
from detente.store import Store

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient

from detente.web.app import WebConfig, create_app

EXAMPLE = Path(detente.__file__).parent / "examples" / "ec_emission.yaml"

# (model, variant, params): bdm's default variant, exchange REX, smp deterministic and stochastic
CASES = [("bdm", None, {}), ("exchange", "rex", {}), ("smp", None, {}), ("smp", None, {"state_transitions": "Stochastic"})]
CASE_IDS = ["bdm", "exchange-rex", "smp", "smp-stochastic"]


@pytest.fixture(autouse=True)
def _home(tmp_path, monkeypatch):
    monkeypatch.setenv("DETENTE_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("DETENTE_DEBUG", raising=False)


@pytest.fixture
def web(tmp_path):
    lib = tmp_path / "lib"
    lib.mkdir()
    app = create_app(WebConfig(library_dir=lib, store_root=tmp_path / "webstore"))
    with TestClient(app) as c:
        c.lib = lib  # type: ignore[attr-defined]
        yield c


def cli_json(*args: str) -> dict:
    r = CliRunner().invoke(cli_app, [str(a) for a in args])
    assert r.exit_code == 0, r.output
    return json.loads(r.output)


def cli_args(model: str, variant: str | None, params: dict) -> list[str]:
    out = ["-m", model]
    if variant:
        out += ["-v", variant]
    for k, v in params.items():
        out += ["-p", f"{k}={json.dumps(v)}"]
    return out


def web_run(client, name: str, model: str, variant: str | None, params: dict, seed: int | None,
            source: str = "library") -> tuple[str, dict]:
    body = {"source": source, "name": name, "model": model, "variant": variant, "params": params}
    if seed is not None:
        body["seed"] = seed
    r = client.post("/api/jobs", json=body)
    assert r.status_code == 202, r.text
    jid = r.json()["id"]
    for _ in range(600):
        j = client.get(f"/api/jobs/{jid}").json()
        if j["status"] in ("done", "failed"):
            break
        time.sleep(0.05)
    assert j["status"] == "done", j
    res = client.get(f"/api/runs/{j['result_id']}")
    assert res.status_code == 200, res.text
    return j["result_id"], res.json()


def canonical(d: dict) -> str:
    d = dict(d)
    d.pop("run_id", None)
    d.pop("same_inputs_as", None)
    d.setdefault("extra", {})
    return json.dumps(d, sort_keys=True, allow_nan=False)


@st.composite
def scenarios(draw):
    """Small random scenarios: 3-5 actors on two issues (exchange needs two)."""
    n = draw(st.integers(3, 5))
    actors = [detente.Actor(id=f"a{i}", capability=draw(st.integers(1, 100))) for i in range(n)]
    issues = [detente.Issue(id="x", lower=0, upper=100), detente.Issue(id="y", lower=0, upper=10)]
    stances = [detente.Stance(actor=a.id, issue=iss.id, position=draw(st.integers(int(iss.lower), int(iss.upper))),
                              salience=draw(st.integers(5, 100)) / 100)
               for a in actors for iss in issues]
    return detente.Scenario(name="random", actors=actors, issues=issues, stances=stances)


# ----------------------------------------------------------------------------- same seed, same bytes

@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
@settings(max_examples=2, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(scn=scenarios(), seed=st.integers(0, 2**53 - 1))
def test_same_seed_same_bytes_from_cli_python_and_web(tmp_path, web, scn, seed, case):
    """Each web job runs in a child process (about a second), hence two examples per case."""
    model, variant, params = case
    name = f"s{scn.content_hash()[:12]}.yaml"
    path = web.lib / name
    detente.save(scn, path)
    loaded = detente.load(path)
    py = run_model(loaded, model, variant=variant, params=params, seed=seed)
    assert py.seed in (seed, None)  # None: this configuration draws nothing
    again = detente.forecast(loaded, model, variant=variant, params=params, seed=seed)
    assert again.to_json() == py.to_json()
    cli = cli_json("forecast", path, *cli_args(model, variant, params), "--seed", seed, "--json",
                   "--store", tmp_path / "clistore")
    _, w = web_run(web, name, model, variant, params, seed)
    assert canonical(cli) == canonical(py.to_json_dict()) == canonical(w)


# ----------------------------------------------------------------------------- runs without a seed

def test_python_api_draws_and_records_a_seed():
    scn = detente.load(EXAMPLE)
    a, b = detente.forecast(scn, "bdm"), detente.forecast(scn, "bdm")
    for r in (a, b):
        assert isinstance(r.seed, int) and 0 <= r.seed <= seeding.MAX_DRAWN_SEED
    assert a.seed != b.seed and a.key != b.key
    assert detente.forecast(scn, "bdm", seed=a.seed).to_json() == a.to_json()


def test_cli_without_seed_two_seeds_two_ids_and_the_printed_seed_reproduces(tmp_path):
    st_dir = tmp_path / "store"
    a = cli_json("forecast", EXAMPLE, "-m", "bdm", "--json", "--store", st_dir)
    b = cli_json("forecast", EXAMPLE, "-m", "bdm", "--json", "--store", st_dir)
    assert isinstance(a["seed"], int) and isinstance(b["seed"], int) and a["seed"] != b["seed"]
    assert a["run_id"] != b["run_id"] and a["run_id"] == a["run_key"][:12]
    again = cli_json("forecast", EXAMPLE, "-m", "bdm", "--seed", a["seed"], "--json", "--store", st_dir)
    assert again == a
    shown = cli_json("runs", "show", a["run_id"], "--json", "--store", st_dir)
    assert shown["result"] == a
    assert shown["run"]["seed"] == a["seed"]
    assert Store(st_dir).count() == 2


def test_cli_text_output_prints_the_drawn_seed(tmp_path, monkeypatch):
    monkeypatch.setattr(seeding, "draw_seed", lambda: 424242)
    r = CliRunner().invoke(cli_app, ["forecast", str(EXAMPLE), "-m", "bdm", "--store", str(tmp_path / "s")])
    assert r.exit_code == 0, r.output
    assert "424242" in r.output and "--seed 424242" in r.output


def test_web_without_seed_two_seeds_two_ids_and_the_seed_reproduces(web):
    id1, r1 = web_run(web, "ec_emission", "bdm", None, {}, None, source="examples")
    id2, r2 = web_run(web, "ec_emission", "bdm", None, {}, None, source="examples")
    assert isinstance(r1["seed"], int) and isinstance(r2["seed"], int) and r1["seed"] != r2["seed"]
    assert id1 != id2
    id3, r3 = web_run(web, "ec_emission", "bdm", None, {}, r1["seed"], source="examples")
    assert id3 == id1 and r3 == r1


def test_web_form_leaves_the_seed_empty(web):
    html = web.get("/scenario/examples/ec_emission").text
    tag = next(t for t in html.split("<input")[1:] if 'id="seed"' in t)
    assert 'value="0"' not in tag.split(">")[0]


def test_one_policy_function_serves_python_cli_and_web(tmp_path, web, monkeypatch):
    """Replacing ``seeding.draw_seed`` changes the seed every front end draws: none has its own.
    (The web draws in the server, before handing the run to a child process.)"""
    monkeypatch.setattr(seeding, "draw_seed", lambda: 97531)
    assert detente.forecast(detente.load(EXAMPLE), "bdm").seed == 97531
    assert cli_json("forecast", EXAMPLE, "-m", "bdm", "--json", "--no-store")["seed"] == 97531
    assert web_run(web, "ec_emission", "bdm", None, {}, None, source="examples")[1]["seed"] == 97531


def test_a_stochastic_model_run_that_draws_nothing_records_no_seed(tmp_path):
    """smp's default (deterministic state transitions) and exchange's equal gain draw nothing:
    no seed is recorded, and runs without a seed share one run id."""
    scn = detente.load(EXAMPLE)
    assert run_model(scn, "smp").seed is None
    assert isinstance(run_model(scn, "smp", params={"state_transitions": "Stochastic"}).seed, int)
    assert run_model(scn, "exchange").seed is None
    assert run_model(scn, "smp", seed=12).to_json() == run_model(scn, "smp").to_json()
    a = cli_json("forecast", EXAMPLE, "-m", "smp", "--json", "--store", tmp_path / "s")
    b = cli_json("forecast", EXAMPLE, "-m", "smp", "--json", "--store", tmp_path / "s")
    assert a["seed"] is None and a == b
    r = CliRunner().invoke(cli_app, ["forecast", str(EXAMPLE), "-m", "smp", "--no-store"])
    assert r.exit_code == 0 and "no seed used" in r.output


ALL_CASES = CASES + [("exchange", "equal_gain", {}), ("bdm", "scholz2011", {}), ("bdm", "masad2016", {}),
                     ("bdm", None, {"shock_probability": 0.5}), ("exchange", "rex", {"ensemble": 3})]


@settings(max_examples=25, deadline=None)
@given(scn=scenarios(), case=st.sampled_from(ALL_CASES))
def test_recorded_seed_is_exactly_what_the_result_depends_on(scn, case):
    """A run records ``None`` only if its result does not depend on the seed (then runs with any
    seed are the same bytes, one run key), and otherwise a seed that repeats it."""
    model, variant, params = case
    res = run_model(scn, model, variant=variant, params=params)
    if res.seed is None:
        for s in (1, 2**40 + 3):
            assert run_model(scn, model, variant=variant, params=params, seed=s).to_json() == res.to_json()
    else:
        assert run_model(scn, model, variant=variant, params=params, seed=res.seed).to_json() == res.to_json()


@pytest.mark.parametrize("name", [n for n in names() if not get(n).stochastic])
def test_deterministic_models_record_no_seed_and_do_not_use_the_generator(name):
    scn = detente.load(EXAMPLE)
    spec = get(name)
    res = run_model(scn, name)
    assert res.seed is None
    p = check_params(spec)
    a = spec.run(scn, p, rng=np.random.default_rng(1)).to_json()
    b = spec.run(scn, p, rng=np.random.default_rng(2)).to_json()
    assert a == b == res.to_json()
    # a seed the caller gives is not recorded where it is not used: one result, one run key
    given = run_model(scn, name, seed=5)
    assert given.seed is None and given.key == res.key and given.to_json() == res.to_json()


def test_draw_seed_range():
    seeds = {seeding.draw_seed() for _ in range(200)}
    assert len(seeds) == 200
    assert all(isinstance(s, int) and 0 <= s <= seeding.MAX_DRAWN_SEED for s in seeds)
    assert seeding.MAX_DRAWN_SEED == 2**53 - 1  # exact in JSON readers that use doubles


@pytest.mark.parametrize("bad", [-1, True, 2.5, "7"])
def test_bad_seed_is_a_named_input_error(bad):
    with pytest.raises(InputError) as e:
        detente.forecast(detente.load(EXAMPLE), "bdm", seed=bad)
    assert e.value.problems[0].column == "seed"


# ----------------------------------------------------------------------------- a run id names one result

def _fake(scn, forecast: float, seed=3) -> RunResult:
    return RunResult.build(model="fake", scenario=scn, params={"k": 1}, seed=seed,
                           issues={scn.issues[0].id: IssueResult(forecast=forecast)})


def test_same_key_different_result_gets_its_own_id(tmp_path):
    scn = detente.load(EXAMPLE)
    store = Store(tmp_path / "s")
    r1, r2 = _fake(scn, 1.0), _fake(scn, 2.0)
    assert r1.key == r2.key and r1.result_hash != r2.result_hash
    s1 = store.save_run(r1, scenario=scn)
    s2 = store.save_run(r2, scenario=scn)
    assert s1.same_inputs_as is None and s1.new
    assert s2.run_id != s1.run_id and s2.same_inputs_as == s1.run_id and s2.new
    assert store.get(s1.run_id).to_json() == r1.to_json()
    assert store.get(s2.run_id).to_json() == r2.to_json()
    # saving either again finds its own run, stores nothing new
    assert store.save(r1) == s1.run_id and store.save(r2) == s2.run_id and store.count() == 2
    assert not store.save_run(r2).new
    assert store.resolve(r1.key) == s1.run_id
    assert store.info(s2.run_id).meta["same_inputs_as"] == s1.run_id


def test_result_hash_ignores_the_version_only():
    scn = detente.load(EXAMPLE)
    r = _fake(scn, 1.0)
    from dataclasses import replace
    assert replace(r, version="9.9.9").result_hash == r.result_hash
    assert replace(r, notes=("x",)).result_hash != r.result_hash
    d = json.loads(r.to_json())
    assert RunResult.from_json_dict(d).result_hash == r.result_hash


def test_generator_without_seed_cannot_make_one_id_name_two_results(tmp_path):
    """A caller's own generator records no seed: different draws share a key but not a run id."""
    scn = detente.load(EXAMPLE)
    store = Store(tmp_path / "s")
    results = {}
    for k in range(12):
        res = run_model(scn, "bdm", rng=np.random.default_rng(k))
        assert res.seed is None
        results.setdefault(res.result_hash, res)
    assert len(results) >= 2  # bdm's default variant draws
    ids = {store.save(r, scenario=scn): r for r in results.values()}
    assert len(ids) == len(results)
    for rid, r in ids.items():
        assert store.get(rid).to_json() == r.to_json()


@settings(max_examples=15, deadline=None)
@given(ops=st.lists(st.tuples(st.integers(0, 2), st.integers(0, 2)), min_size=1, max_size=8))
def test_a_run_id_never_maps_to_two_results(tmp_path_factory, ops):
    """Any order of saves of results whose keys collide (seed) and contents differ (forecast):
    every id always returns the result first saved under it, and a result always gets the same id."""
    scn = detente.load(EXAMPLE)
    store = Store(tmp_path_factory.mktemp("s"))
    seen: dict[str, str] = {}  # run id -> result JSON
    got: dict[tuple[int, int], str] = {}  # (seed, forecast) -> run id
    for seed, f in ops:
        res = _fake(scn, float(f), seed=seed)
        rid = store.save(res, scenario=scn)
        assert seen.setdefault(rid, res.to_json()) == res.to_json()
        assert got.setdefault((seed, f), rid) == rid
    for rid, text in seen.items():
        assert store.get(rid).to_json() == text
    assert store.count() == len(seen) == len(got)


def test_cli_says_when_the_inputs_already_hold_another_result(tmp_path):
    scn = detente.load(EXAMPLE)
    st_dir = tmp_path / "s"
    first = cli_json("forecast", EXAMPLE, "-m", "compromise", "--json", "--store", st_dir)
    # plant a different result under the same key (e.g. made by an older detente)
    other = RunResult.from_json_dict(first)
    from dataclasses import replace
    other = replace(other, issues={"emission": IssueResult(forecast=first["issues"]["emission"]["forecast"] + 1)})
    assert other.key == first["run_key"]
    store = Store(st_dir)
    store.delete(first["run_id"])
    old = store.save(other, scenario=scn)
    d = cli_json("forecast", EXAMPLE, "-m", "compromise", "--json", "--store", st_dir)
    assert d["run_id"] != old and d["same_inputs_as"] == old
    assert store.get(old).to_json() == other.to_json()
    assert canonical(store.get(d["run_id"]).to_json_dict()) == canonical(d)
    r = CliRunner().invoke(cli_app, ["forecast", str(EXAMPLE), "-m", "compromise", "--store", str(st_dir)])
    assert r.exit_code == 0 and old in r.output and d["run_id"] in r.output


def test_web_run_page_names_the_seed_and_the_run_with_the_same_inputs(tmp_path):
    scn = detente.load(EXAMPLE)
    store = Store(tmp_path / "webstore")
    det = store.save(run_model(scn, "compromise"), scenario=scn)
    r1, r2 = _fake(scn, 1.0, seed=77), _fake(scn, 2.0, seed=77)
    id1 = store.save(r1, scenario=scn)
    id2 = store.save(r2, scenario=scn)
    app = create_app(WebConfig(library_dir=tmp_path / "lib", store_root=tmp_path / "webstore"))
    with TestClient(app) as c:
        assert "no seed used" in c.get(f"/runs/{det}").text
        page = c.get(f"/runs/{id2}").text
        assert "seed 77" in page and f'href="/runs/{id1}"' in page and "same inputs" in page
        assert "same inputs" not in c.get(f"/runs/{id1}").text


def test_finish_run_never_replaces_a_different_result(tmp_path):
    scn = detente.load(EXAMPLE)
    store = Store(tmp_path / "s")
    rid = store.open_run("ab" * 16, model="fake", kind="sweep", scenario=scn)
    r1, r2 = _fake(scn, 1.0), _fake(scn, 2.0)
    store.finish_run(rid, "done", result=r1)
    store.finish_run(rid, "done", result=r1)  # the same result again: fine
    with pytest.raises(StoreError, match="different result"):
        store.finish_run(rid, "done", result=r2)
    assert store.get(rid).to_json() == r1.to_json()


def _two_issues() -> detente.Scenario:
    """Four actors on two issues with exchanges to make (REX and stochastic SMP draw on it)."""
    table = {"a0": (30, 0, 9, 0.9, 0.2), "a1": (80, 100, 1, 0.2, 0.8), "a2": (50, 40, 6, 0.6, 0.5), "a3": (20, 80, 2, 0.3, 0.7)}
    return detente.Scenario(
        name="two", actors=[detente.Actor(id=a, capability=row[0]) for a, row in table.items()],
        issues=[detente.Issue(id="x", lower=0, upper=100), detente.Issue(id="y", lower=0, upper=10)],
        stances=[detente.Stance(actor=a, issue=i, position=row[1 + k], salience=row[3 + k])
                 for a, row in table.items() for k, i in enumerate("xy")])


@pytest.mark.parametrize("case", CASES + [("exchange", "equal_gain", {})], ids=CASE_IDS + ["exchange-equal-gain"])
def test_direct_model_entry_points_follow_the_seed_policy(case):
    """Calling a model's own ``run`` (not through ``run_model``) without ``rng`` applies the same
    policy (issue 13): a run that draws records the seed it drew, and that seed reproduces it;
    a run that draws nothing records none."""
    model, variant, params = case
    spec = get(model)
    scn = _two_issues()
    p = check_params(spec, variant=variant, params=params)
    if model == "bdm":  # bdm.run requires a generator: nothing to fall back on
        with pytest.raises(TypeError):
            spec.run(scn, p)
        return
    a, b = spec.run(scn, p), spec.run(scn, p)
    via_api = run_model(scn, model, variant=variant, params=params, seed=a.seed)
    assert a.to_json() == via_api.to_json()
    draws = (model, variant, params.get("state_transitions")) in {("exchange", "rex", None), ("smp", None, "Stochastic")}
    assert (via_api.seed is not None) == draws
    if not draws:
        assert a.seed is None and b.seed is None
    else:
        assert isinstance(a.seed, int) and isinstance(b.seed, int) and a.seed != b.seed
        again = spec.run(scn, p, rng=np.random.default_rng(a.seed)).with_seed(a.seed)
        assert again.to_json() == a.to_json()


def test_smp_simulate_without_rng_records_the_seed_it_drew():
    from detente.models import smp

    cap = np.array([40.0, 60.0, 90.0, 20.0])
    pos = np.array([[0.1, 0.9], [0.6, 0.2], [0.9, 0.5], [0.3, 0.3]])
    sal = np.array([[0.5, 0.4], [0.3, 0.6], [0.7, 0.2], [0.4, 0.4]])
    p = smp.SMPParams(state_transitions="Stochastic")
    t1, t2 = smp.simulate(cap, pos, sal, p), smp.simulate(cap, pos, sal, p)
    assert isinstance(t1.seed, int) and isinstance(t2.seed, int) and t1.seed != t2.seed
    again = smp.simulate(cap, pos, sal, p, rng=np.random.default_rng(t1.seed))
    assert np.array_equal(again.positions, t1.positions) and again.seed is None  # the caller's own rng
    det = smp.simulate(cap, pos, sal, smp.SMPParams())
    assert det.seed is None
