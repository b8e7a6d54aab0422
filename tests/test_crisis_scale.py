"""Crisis runs, crisis sensitivity and the ICB fit on the sweep executors, chunked and resumable:
the same bytes whatever the executor, the number of workers, and after a run killed mid-way is
run again (it then simulates only the chunks that were not stored)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from detente import examples
from detente.crisis.analysis import run_hypotheses
from detente.crisis.engine import plan, run, run_plans, simulate_chunk
from detente.executors import ProcessExecutor, SerialExecutor
from detente.experiments.crisis_runs import CHUNK_KIND, StoredChunks, crisis_execution, pack_part, unpack_part
from detente.experiments.crisis_sensitivity import crisis_sensitivity
from detente.formats import load
from detente.store import Store


class Killed(Exception):
    """Stands for SIGKILL: raised by a chunk store after it has stored ``after`` chunks."""


class DieAfter(StoredChunks):
    def __init__(self, store, after):
        super().__init__(store)
        self.after = after

    def save(self, plan, chunk, part):
        if self.after == 0:
            raise Killed
        super().save(plan, chunk, part)
        self.after -= 1


class Counting(SerialExecutor):
    """A serial executor that records which chunks it was given."""

    def __init__(self):
        self.seen = []

    def map_unordered(self, fn, jobs):
        for j in jobs:
            self.seen.append(j.chunk)
            yield j, fn(j)


class Reversed(SerialExecutor):
    """Finishes chunks in reverse order (as a pool may)."""

    def map_unordered(self, fn, jobs):
        for j in reversed(list(jobs)):
            yield j, fn(j)


def _bytes(res) -> bytes:
    """Every array and summary of a CrisisResult as bytes (what a run's numbers are)."""
    out = []
    for k, v in sorted(vars(res).items()):
        if isinstance(v, np.ndarray):
            out.append(k.encode() + v.dtype.str.encode() + v.tobytes())
        elif k == "diagnostics":
            for kk in sorted(v):
                out.append(f"{k}.{kk}".encode() + np.asarray(v[kk], dtype=float).tobytes())
        elif k == "params":   # the recorded run parameters, less the worker count (never part of the numbers)
            out.append(json.dumps({**v, "workers": None}, sort_keys=True, default=str).encode())
        else:
            out.append(f"{k}={v!r}".encode())
    return b"|".join(out) + json.dumps(res.summary(), sort_keys=True, default=str).encode()


@pytest.fixture(scope="module")
def scn():
    return examples.load("seesaw-2021")


P = {"runs": 500, "chunk_size": 100, "horizon_months": 12, "hypothesis": "combined"}


def test_pack_part_round_trips_every_array_exactly(scn):
    p = plan(scn, {**P, "record_paths": True}, seed=3)
    part = simulate_chunk(p.chunks[1])
    back = unpack_part(pack_part(part))
    assert set(back) == set(part)
    for k, v in part.items():
        if isinstance(v, np.ndarray):
            assert back[k].dtype == v.dtype and back[k].shape == v.shape and back[k].tobytes() == v.tobytes(), k
        elif isinstance(v, dict):
            assert set(back[k]) == set(v)
            assert all(back[k][kk].tobytes() == v[kk].tobytes() for kk in v)
        else:
            assert back[k] == v


def test_chunk_order_and_executor_do_not_change_the_bytes(scn):
    serial = run(scn, P, seed=3)
    assert len(plan(scn, P, seed=3).chunks) == 5
    assert _bytes(run(scn, P, seed=3, executor=Reversed())) == _bytes(serial)
    with ProcessExecutor(2) as ex:
        assert _bytes(run(scn, P, seed=3, executor=ex)) == _bytes(serial)
        # several runs' chunks submitted together give each run's own bytes
        plans = [plan(scn, {**P, "hypothesis": h}, seed=3) for h in ("combined", "article", "combined")]
        together = run_plans(plans, executor=ex)
    assert _bytes(together[0]) == _bytes(together[2]) == _bytes(serial)
    assert _bytes(together[1]) == _bytes(run(scn, {**P, "hypothesis": "article"}, seed=3))
    # the chunk size is part of the numbers (recorded); the worker count is not
    assert _bytes(run(scn, {**P, "workers": 2}, seed=3)) == _bytes(serial)
    assert plan(scn, {**P, "workers": 2}, seed=3).key == plan(scn, P, seed=3).key
    assert plan(scn, {**P, "chunk_size": 50}, seed=3).key != plan(scn, P, seed=3).key
    assert plan(scn, P, seed=4).key != plan(scn, P, seed=3).key


def test_a_killed_run_resumes_from_its_stored_chunks_with_the_same_bytes(scn, tmp_path):
    whole = run(scn, P, seed=3)
    st = Store(tmp_path / "st")
    with pytest.raises(Killed):
        run(scn, P, seed=3, chunks=DieAfter(st, 2))
    (info,) = st.list(kind=CHUNK_KIND)
    assert info.status == "running" and [c["chunk"] for c in st.chunks(info.run_id)] == [0, 1]
    ex = Counting()
    again = run(scn, P, seed=3, executor=ex, chunks=StoredChunks(st))
    assert ex.seen == [2, 3, 4]      # only the chunks that were not stored
    assert _bytes(again) == _bytes(whole)
    assert st.info(info.run_id).status == "done"
    ex2 = Counting()                # everything stored: nothing simulated
    assert _bytes(run(scn, P, seed=3, executor=ex2, chunks=StoredChunks(st))) == _bytes(whole)
    assert ex2.seen == []


def test_a_damaged_stored_chunk_is_simulated_again(scn, tmp_path):
    st = Store(tmp_path / "st")
    whole = run(scn, P, seed=3, chunks=StoredChunks(st))
    (info,) = st.list(kind=CHUNK_KIND)
    path = st.part_path(info.run_id, 2)
    path.write_bytes(path.read_bytes()[:-40] + b"\0" * 40)
    ex = Counting()
    assert _bytes(run(scn, P, seed=3, executor=ex, chunks=StoredChunks(st))) == _bytes(whole)
    assert ex.seen == [2]


def _analysis(scn, **kw):
    """`detente run`'s object for one hypothesis with its counterfactual passes (3 engine runs, 9 chunks)."""
    return json.dumps(run_hypotheses(scn, hypotheses=["combined"], runs=300, seed=5, mechanisms="none",
                                     chunk_size=100, **kw), sort_keys=True, default=str)


@pytest.fixture(scope="module")
def serial_analysis(scn):
    return _analysis(scn)


def test_a_whole_analysis_resumed_after_a_kill_gives_the_same_bytes(scn, serial_analysis, tmp_path):
    """Killed in the middle of `detente run`'s work, then run again on the same store."""
    from detente.crisis.engine import execution

    st = Store(tmp_path / "st")
    with pytest.raises(Killed), execution(None, DieAfter(st, 4)):
        _analysis(scn)
    kept = st.list(kind=CHUNK_KIND)           # the chunks stored before the kill are kept
    assert sum(len(st.chunks(i.run_id)) for i in kept) == 4
    with crisis_execution(executor="serial", store=st):
        assert _analysis(scn) == serial_analysis
    assert st.list(kind=CHUNK_KIND) == []     # once finished, the chunk runs are removed


@pytest.mark.slow
def test_a_whole_analysis_gives_the_same_bytes_serial_process_and_dask(scn, serial_analysis):
    pytest.importorskip("distributed")
    with crisis_execution(executor="process", workers=2):
        assert _analysis(scn) == serial_analysis
    toy_scn = load(TOY)
    sens = crisis_sensitivity(toy_scn, **SENS).to_json_dict()
    with crisis_execution(executor="dask", workers=2):   # a local cluster of two worker processes
        assert _analysis(scn) == serial_analysis
        assert crisis_sensitivity(toy_scn, **SENS).to_json_dict() == sens   # its groups on the cluster too


# ------------------------------------------------------------------ crisis sensitivity
TOY = Path(__file__).parent / "fixtures" / "crisis" / "toy-sobol.yaml"
SENS = dict(outputs=["p_war_horizon"], n=16, runs_per_point=50, seed=3, tornado_runs=200, max_batch_runs=500)


@pytest.fixture(scope="module")
def toy():
    return load(TOY)


def test_sensitivity_on_the_process_executor_gives_the_same_bytes(toy):
    serial = crisis_sensitivity(toy, **SENS).to_json_dict()
    with ProcessExecutor(2) as ex:
        assert crisis_sensitivity(toy, executor=ex, **SENS).to_json_dict() == serial
    with crisis_execution(executor=Reversed()):     # from the execution context, chunks finishing out of order
        assert crisis_sensitivity(toy, **SENS).to_json_dict() == serial


class DieAfterGroups:
    """Wraps the stored groups of a study: raises :class:`Killed` after ``after`` were stored."""

    def __init__(self, after):
        self.after = after

    def __call__(self, inner):
        outer = self

        class Wrapped:
            get = inner.get

            def put(self, chunk, mean, var):
                if outer.after == 0:
                    raise Killed
                inner.put(chunk, mean, var)
                outer.after -= 1
        return Wrapped()


def test_a_stored_sensitivity_study_resumes_and_reads_back(toy, tmp_path, monkeypatch):
    from detente.experiments import crisis_sensitivity as CS

    plain = crisis_sensitivity(toy, **SENS).to_json_dict()
    st = Store(tmp_path / "st")
    groups = CS._StoredGroups
    monkeypatch.setattr(CS, "_StoredGroups", lambda *a: DieAfterGroups(1)(groups(*a)))
    with pytest.raises(Killed):
        crisis_sensitivity(toy, store=st, **SENS)
    monkeypatch.setattr(CS, "_StoredGroups", groups)
    (info,) = st.list(kind=CS.STORE_KIND)
    n_chunks = info.meta["n_chunks"]
    assert info.status == "running" and len(st.chunks(info.run_id)) == 1 and n_chunks == 9
    # 64 Sobol points of 50 runs in groups of 10 (500 runs): 7 chunks; the 5 tornado points: 1; the result: 1
    ex = Counting()
    res = crisis_sensitivity(toy, store=st, executor=ex, **SENS)
    assert sorted(ex.seen) == [1, 2, 3, 4, 5, 6, 7]   # the group stored before the kill is not run again
    assert res.run_id == info.run_id and st.info(info.run_id).status == "done"
    assert {**res.to_json_dict(), "run_id": ""} == plain
    again = crisis_sensitivity(toy, store=st, executor=(ex2 := Counting()), **SENS)   # done: read back, nothing run
    assert ex2.seen == [] and again.to_json_dict() == res.to_json_dict()
    obj = CS.load_crisis_sensitivity(st, info.run_id)
    assert obj["scenario"] == toy.name and obj["request"]["n"] == 16 and obj["indices"] == res.to_json_dict()["indices"]
    # a different request is a different stored study
    crisis_sensitivity(toy, store=st, **{**SENS, "seed": 4})
    assert len(st.list(kind=CS.STORE_KIND)) == 2


# ------------------------------------------------------------------ the command line
def _cli(*args):
    from typer.testing import CliRunner

    from detente.cli import app

    return CliRunner().invoke(app, list(args))


@pytest.mark.slow
def test_cli_run_with_a_store_and_an_executor_gives_the_same_object_and_stores_it(tmp_path):
    args = ["run", "seesaw-2021", "-H", "combined", "--runs", "200", "--mechanisms", "none", "--json"]
    plain = _cli(*args)
    assert plain.exit_code == 0, plain.output
    st = tmp_path / "st"
    stored = _cli(*args, "--store", str(st), "--executor", "process", "--workers", "2")
    assert stored.exit_code == 0, stored.output
    a, b = json.loads(plain.output), json.loads(stored.output)
    run_id = b.pop("run_id")
    assert "run_id" not in a and a == b
    s = Store(st)
    assert [i.run_id for i in s.list(kind="crisis")] == [run_id]
    assert s.list(kind=CHUNK_KIND) == []       # the chunks of a finished run are not kept
    from detente.report.stored import load_crisis

    assert load_crisis(s, run_id)["hypotheses"] == a["hypotheses"]
    bad = _cli(*args, "--executor", "cluster")
    assert bad.exit_code == 2 and "--executor" in bad.output and "serial, process, dask or auto" in bad.output
    bad = _cli(*args, "--executor", "process", "--address", "tcp://127.0.0.1:1")
    assert bad.exit_code == 2 and "--address" in bad.output and "needs --executor dask" in bad.output


def test_cli_crisis_sensitivity_with_a_store_is_stored_and_read_back(toy, tmp_path):
    from detente.experiments.crisis_sensitivity import STORE_KIND

    args = ["sensitivity", str(TOY), "--samples", "8", "--runs-per-point", "20", "--output", "p_war_horizon", "--json"]
    plain = _cli(*args)
    assert plain.exit_code == 0, plain.output
    assert json.loads(plain.output)["run_id"] == ""           # without --store nothing is stored
    first = _cli(*args, "--store", str(tmp_path / "st"), "--executor", "process")
    again = _cli(*args, "--store", str(tmp_path / "st"))
    assert first.exit_code == again.exit_code == 0, first.output + again.output
    a, b, c = (json.loads(r.output) for r in (plain, first, again))
    (info,) = Store(tmp_path / "st").list(kind=STORE_KIND)
    assert b["run_id"] == c["run_id"] == info.run_id and info.status == "done"
    assert {**b, "run_id": ""} == a and b == c


# ------------------------------------------------------------------ the ICB fit
def test_icb_probe_runs_of_many_cases_on_a_process_pool_match_one_by_one():
    from detente.cases import fit as F
    from detente.cases.icb import build_cases

    cases, _ = build_cases(Path(__file__).parent / "fixtures" / "cases")
    cs = [cases[k] for k in sorted(cases)][:3]
    one_by_one = [F.probe_counts(c, 0.7, 300) for c in cs]
    from detente.crisis.engine import execution

    with ProcessExecutor(2) as ex, execution(ex):
        together = F.all_probe_counts(cs, 0.7, 300)
    assert len(together) == 3
    for a, b in zip(one_by_one, together):
        assert a.dtype == b.dtype and a.tobytes() == b.tobytes()


@pytest.mark.slow
def test_cli_run_killed_with_sigkill_resumes_from_its_stored_chunks(tmp_path):
    """`detente run --store` killed by SIGKILL after some chunks are stored; the same command again
    prints the object of an uninterrupted run and stores it (that only the missing chunks are then
    simulated is checked above, with a chunk store that raises)."""
    import os
    import signal
    import subprocess
    import sys
    import time

    toy = Path(__file__).parent / "fixtures" / "crisis" / "toy-crisis.yaml"
    args = ["run", str(toy), "--runs", "60000", "--mechanisms", "none", "--json"]
    st = tmp_path / "st"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")}
    proc = subprocess.Popen([sys.executable, "-m", "detente", *args, "--store", str(st)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        t0 = time.time()
        while True:
            assert proc.poll() is None, "the run finished before it could be killed"
            assert time.time() - t0 < 120, "no chunk was stored in time"
            done = 0
            if (st / "catalog.sqlite").exists():
                s = Store(st, readonly=True)
                done = sum(c["status"] == "done" for i in s.list(kind=CHUNK_KIND) for c in s.chunks(i.run_id))
            if done >= 2:
                break
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    s = Store(st)
    kept = s.list(kind=CHUNK_KIND)
    assert kept and s.list(kind="crisis") == []          # killed: chunks kept, no result stored
    plain = _cli(*args)
    resumed = _cli(*args, "--store", str(st))
    assert plain.exit_code == resumed.exit_code == 0, resumed.output
    b = json.loads(resumed.output)
    assert b.pop("run_id") == s.list(kind="crisis")[0].run_id
    assert json.loads(plain.output) == b
    assert s.list(kind=CHUNK_KIND) == []


def test_the_front_door_stores_a_crisis_study(toy, tmp_path):
    import detente

    st = Store(tmp_path / "st")
    r = detente.sensitivity(toy, vary=[FA_TOY], outputs=["p_war_horizon"], n=8, runs_per_point=20, seed=1, store=st)
    (info,) = st.list(kind="crisis_sensitivity")
    assert r.run_id == info.run_id and r.factors == [FA_TOY]


FA_TOY = "flashpoints[F].base_hazard_m"


def test_cli_sensitivity_of_a_sweep_spec_takes_the_executor_options(tmp_path):
    spec = Path(__file__).resolve().parents[1] / "src" / "detente" / "examples" / "sweeps" / "ec_salience.yaml"
    args = ["sensitivity", str(spec), "--samples", "8", "--json"]
    serial = _cli(*args, "--store", str(tmp_path / "a"))
    pooled = _cli(*args, "--store", str(tmp_path / "b"), "--executor", "process", "--workers", "2")
    assert serial.exit_code == pooled.exit_code == 0, pooled.output
    a, b = json.loads(serial.output), json.loads(pooled.output)
    assert a["indices"] == b["indices"] and a["run_id"] == b["run_id"]   # same key, same numbers
    bad = _cli(*args, "--executor", "grid")
    assert bad.exit_code == 2 and "--executor" in bad.output


@pytest.mark.slow
def test_the_icb_fit_resumes_from_stored_probe_chunks_and_the_cli_gives_the_same_record(tmp_path):
    from detente.cases.fit import freeze

    fix = Path(__file__).parent / "fixtures" / "cases"

    def record(rec):
        rec["provenance"].pop("seconds")
        return rec

    whole = record(freeze(fix, runs=40, split=2100))
    st = Store(tmp_path / "st")
    with pytest.raises(Killed):
        freeze(fix, runs=40, split=2100, chunks=DieAfter(st, 7))
    def stored():
        return sum(len(st.chunks(i.run_id)) for i in st.list(kind=CHUNK_KIND, limit=None))

    assert stored() == 7        # one chunk per probe run (40 runs): 7 probe runs stored before the kill
    ex = Counting()
    assert record(freeze(fix, runs=40, split=2100, executor=ex, chunks=StoredChunks(st))) == whole
    assert len(ex.seen) == stored() - 7 > 0     # only the probe runs not stored were simulated
    out = tmp_path / "fit.json"
    r = _cli("cases", "fit", str(fix), "--out", str(out), "--runs", "40", "--split", "2100", "--executor", "process",
             "--store", str(tmp_path / "st2"), "--json")
    assert r.exit_code == 0, r.output
    assert record(json.loads(out.read_text())) == json.loads(json.dumps(whole, default=float))
    assert Store(tmp_path / "st2").list(kind=CHUNK_KIND) == []
