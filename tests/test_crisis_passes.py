"""run_hypotheses plans every engine pass first and submits their chunks together.

The hypothesis run, its counterfactual passes (stalling / seesaw off, the same seed), the
mechanism map's passes and the forecast path's runs are planned before any is simulated and go
to the executor in one :func:`detente.crisis.engine.run_planned` call, so a process pool works on
all of them at once. The ``--json`` object is the same bytes whatever the executor and the
order in which chunks finish.
"""

from __future__ import annotations

import json

import pytest

from detente import examples
from detente.crisis import analysis as A
from detente.crisis import engine
from detente.crisis.engine import execution
from detente.executors import ProcessExecutor, SerialExecutor

KW = dict(hypotheses=["combined"], runs=240, seed=5, chunk_size=80, mechanisms="stalling,seesaw,leaks",
          mechanism_runs=160, forecast=True)


class Reversed(SerialExecutor):
    """Finishes chunks in reverse order (as a pool may)."""

    def map_unordered(self, fn, jobs):
        for j in reversed(list(jobs)):
            yield j, fn(j)


class Recording(SerialExecutor):
    """A serial executor that records each batch of chunks it is given."""

    def __init__(self):
        self.batches = []

    def map_unordered(self, fn, jobs):
        jobs = list(jobs)
        self.batches.append([(j.key, j.chunk, j.n) for j in jobs])
        for j in jobs:
            yield j, fn(j)


@pytest.fixture(scope="module")
def scn():
    return examples.load("seesaw-2021")


def _json(obj) -> str:
    return json.dumps(obj, sort_keys=True, default=str)


@pytest.fixture(scope="module")
def serial(scn):
    return _json(A.run_hypotheses(scn, **KW))


@pytest.mark.slow   # two whole analyses of the flagship (about 30 s on the loaded 2-core machine)
def test_the_same_bytes_serial_reversed_and_process_pool(scn, serial):
    obj = json.loads(serial)
    b = obj["hypotheses"]["combined"]
    # what is compared has every kind of pass in it
    assert b["counterfactuals"]["stalling"]["months_gained"] is not None and b["counterfactuals"]["seesaw"] is not None
    assert [m["status"] for m in b["mechanisms"].values()] == ["measured"] * 3 and b["mechanism_runs"] == 160
    assert len(obj["forecast_path"]["path"]) == 4
    with execution(Reversed()):
        assert _json(A.run_hypotheses(scn, **KW)) == serial
    with ProcessExecutor(2) as ex, execution(ex):
        assert _json(A.run_hypotheses(scn, **KW)) == serial


def test_every_pass_is_submitted_in_one_batch(scn, serial):
    ex = Recording()
    with execution(ex):
        assert _json(A.run_hypotheses(scn, **KW)) == serial
    (batch,) = ex.batches
    runs = {}
    for key, _chunk, n in batch:
        runs[key] = runs.get(key, 0) + n
    # the hypothesis (240 runs), stalling off and seesaw off (240 each), the mechanism map's base
    # and its three switched-off passes (160 each), the forecast at each of the record's 4 dates (240 each)
    assert sorted(runs.values()) == sorted([240] * 3 + [160] * 4 + [240] * 4)
    assert len(batch) == 3 * 3 + 4 * 2 + 4 * 3 == len(set(batch))


class Warming(Recording):
    """Records the warm-up it is asked for, and when (before or after the batch)."""

    def __init__(self):
        super().__init__()
        self.events = []

    def warm(self, fn, make_job, work=None, preload=()):
        self.events.append(("warm", fn, make_job(), work, preload))

    def map_unordered(self, fn, jobs):
        self.events.append(("batch",))
        yield from super().map_unordered(fn, jobs)


def test_the_workers_are_warmed_while_the_passes_are_planned(scn, serial):
    from detente.crisis import compiled

    ex = Warming()
    with execution(ex):
        assert _json(A.run_hypotheses(scn, **KW)) == serial    # speed only
    (kind, fn, job, work, preload), (after,) = ex.events
    assert kind == "warm" and after == "batch"
    # each worker first simulates 8 runs of 2 steps of the first hypothesis
    assert fn is engine.simulate_chunk and job.n == 8 and len(job.compiled.step_start) == 2
    # the estimate: 1 hypothesis × (its run + 2 counterfactual passes) × (240 runs + 2,500 per chunk × 3 chunks) × 48 steps
    assert work == 1 * 3 * (240 + 2500 * 3) * 48
    assert job.use_compiled == compiled.choose(work)
    # the forkserver loads the engine once, and the twins with it when the batch uses them
    assert preload == ((A.TWINS_PRELOAD,) if job.use_compiled else ("detente.crisis.engine",))


_PROBE = """
import sys

from detente.executors import ProcessExecutor
from detente.processes import preload_in_forkserver


def probe(job):
    return "detente.crisis.engine" in sys.modules   # nothing here imports it


if __name__ == "__main__":
    with ProcessExecutor(2) as ex:
        ex.warm(probe, lambda: 0, preload=sys.argv[1:])
        got = sorted(set(r for _, r in ex.map_unordered(probe, [0, 1, 2, 3])))
    late = preload_in_forkserver(["json"])
    with ProcessExecutor(2) as closed:
        closed.warm(probe, lambda: 0)   # closed at once, maybe before its workers have started: no error
    print(got, late)
"""


def test_a_warmed_pool_s_workers_start_with_what_its_forkserver_preloaded(tmp_path):
    import subprocess
    import sys

    script = tmp_path / "probe.py"
    script.write_text(_PROBE)

    def run(*preload):
        done = subprocess.run([sys.executable, str(script), *preload], capture_output=True, text=True, timeout=120)
        assert done.returncode == 0 and done.stderr == "", done.stderr
        return done.stdout.split("\n")[0]

    # preloaded in the forkserver, so present in every worker before its first job
    assert run("detente.crisis.engine") == "[True] False"
    # without it a worker has only what the job needed; a forkserver already started takes no preload
    assert run() == "[False] False"


def test_an_auto_executor_starts_its_pool_early_only_for_a_large_batch():
    from detente.executors import AutoExecutor

    made = []

    def make_job():
        made.append(1)
        return Job(0, 1)

    with AutoExecutor(workers=2, min_work=1000) as ex:
        ex.warm(_pid_of, make_job, work=999)
        assert ex.pool is None and not made            # small: not even the job is made
        ex.warm(_pid_of, make_job, work=1000)
        assert ex.pool is not None and made == [1]
        pool = ex.pool
        got = dict(ex.map_unordered(_pid_of, [Job(0, 500), Job(1, 500)]))
        assert ex.pool is pool and len(got) == 2       # the warmed pool runs the batch
    with AutoExecutor(workers=1, min_work=0) as one:
        one.warm(_pid_of, make_job, work=10**9)
        assert one.pool is None and made == [1]        # one worker: never a pool
    SerialExecutor().warm(_pid_of, make_job)
    assert made == [1]


@pytest.mark.slow   # two whole analyses of the flagship (about 30 s on the loaded 2-core machine)
def test_a_pass_not_foreseen_is_still_run(scn, monkeypatch):
    """Two hypotheses and no reference run: the forecast's hypothesis is known only after the
    back-test, so its runs form a second batch; the object is the one of unplanned passes."""
    calls = []
    real = engine.run_planned

    def counting(plans, **kw):
        calls.append(len(plans))
        return real(plans, **kw)

    kw = dict(KW, hypotheses=["article", "ru_preventive"], mechanisms="none")
    monkeypatch.setattr(A, "run_planned", counting)
    planned = _json(A.run_hypotheses(scn, **kw))
    assert calls == [2 + 2 * 2, 4]     # two hypotheses with their counterfactual passes, then the 4 forecast dates
    # each pass on its own (no planning): the same object
    monkeypatch.setattr(A, "_plan_passes", lambda *a, **k: None)
    calls.clear()
    assert _json(A.run_hypotheses(scn, **kw)) == planned
    assert len(calls) > 2


# ------------------------------------------------------------------ the `auto` executor (detente run's default)
class Job:
    def __init__(self, chunk, work=None):
        self.chunk = chunk
        if work is not None:
            self.work = work


def _pid_of(job):
    import os

    return job.chunk, os.getpid()


def test_auto_executor_is_serial_for_small_batches_and_a_pool_for_large_ones():
    import os

    from detente.executors import AUTO_MIN_WORK, AutoExecutor

    ex = AutoExecutor(workers=2, min_work=1000)
    assert not ex.uses_pool([Job(0, 400), Job(1, 599)])       # 999 < 1000
    assert ex.uses_pool([Job(0, 400), Job(1, 600)])           # 1000
    assert not ex.uses_pool([Job(0, 10**9)])                  # one job: nothing to share
    assert ex.uses_pool([Job(0), Job(1)])                     # no estimate: each counts as large
    assert not AutoExecutor(workers=1, min_work=1).uses_pool([Job(0, 5), Job(1, 5)])
    assert AutoExecutor().min_work == AUTO_MIN_WORK and AutoExecutor().workers >= 1
    with ex:
        got = dict(ex.map_unordered(_pid_of, [Job(0, 1), Job(1, 1)]))
        assert ex.pool is None and {pid for _, pid in got.values()} == {os.getpid()}
        got = dict(ex.map_unordered(_pid_of, [Job(0, 500), Job(1, 500)]))
        assert ex.pool is not None and os.getpid() not in {pid for _, pid in got.values()}
        assert sorted(c for c, _ in got.values()) == [0, 1]
    assert ex.pool is None    # closed with the block


def test_a_crisis_chunk_weighs_its_runs_and_its_fixed_cost_per_step(scn):
    import dataclasses

    p = engine.plan(scn, {"runs": 250, "chunk_size": 100, "horizon_months": 6}, seed=1)
    # (runs + 2,500 run-steps per chunk-step) × 6 steps
    assert engine.CHUNK_STEP_WORK == 2500
    assert [c.work for c in p.chunks] == [15600, 15600, 15300]
    # with the twins: 93 % of the runs' cost, 400 per chunk-step
    assert [dataclasses.replace(c, use_compiled=True).work for c in p.chunks] == [(93 + 400) * 6] * 2 + [(46 + 400) * 6]


def test_detente_run_defaults_to_auto():
    from detente.cli.crisis_run import check_executor
    from detente.errors import InputError

    assert check_executor(None, default="auto") == "auto" and check_executor(None) == "serial"
    assert check_executor("auto") == "auto" and check_executor(None, "tcp://127.0.0.1:1", default="auto") == "dask"
    with pytest.raises(InputError) as ei:
        check_executor("threads", default="auto")
    assert ei.value.problems[0].expected == "serial, process, dask or auto"


class _Stop(Exception):
    pass


@pytest.mark.parametrize("mode, twins, pool", [("auto", True, False), ("off", False, True)])
def test_the_flagship_hypothesis_at_its_2000_runs_chooses_as_measured(scn, monkeypatch, mode, twins, pool):
    """`detente run seesaw-2021 -H combined` at the scenario's 2,000 runs (23 one-chunk passes of the
    mechanism map among its 30): with the twins, serially (1.9 million of work: 4.9–5.1 s against
    5.9–6.2 s on the pool); with numpy only, on the pool (4.7 million: 5.5 s against 8.6 s serial)."""
    from detente.crisis import compiled as C
    from detente.executors import AutoExecutor

    for name, value in (("available", True), ("compatible", True), ("loaded", False)):
        monkeypatch.setattr(C, name, lambda v=value: v)
    monkeypatch.setenv("DETENTE_COMPILED", mode)
    seen = {}

    class Deciding(AutoExecutor):
        def map_unordered(self, fn, jobs):
            jobs = list(jobs)
            seen.update(twins={j.use_compiled for j in jobs}, pool=self.uses_pool(jobs), chunks=len(jobs))
            raise _Stop

    with Deciding(workers=2) as ex, execution(ex), pytest.raises(_Stop):
        A.run_hypotheses(scn, hypotheses=["combined"], runs=2000, seed=1, mechanisms="all", mechanism_runs=1000,
                         forecast=True)
    assert seen["twins"] == {twins} and seen["pool"] is pool and seen["chunks"] >= 30
