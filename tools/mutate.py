"""Mutation-test one module against the tests that import it (``make mutate MODULE=...``).

Runs mutmut 3 (``pip install -e ".[dev]"``) in a scratch directory ``.mutmut/<module>/``
that holds links to ``src`` and ``tests`` and a copy of ``pyproject.toml`` whose
``[tool.mutmut]`` table is the repository's with two keys filled in for this module:

* ``only_mutate``: the module's file;
* ``pytest_add_cli_args_test_selection``: the test files that import the module (by its
  dotted name, or ``from <package> import <module>``), or the files given with ``--tests``.

mutmut records which tests call each function and runs, for every mutant, only the tests
that reached its function. A function first called while a module- or class-scoped fixture
is being set up would be credited to the first test of that module only; the plugin
``tools/mutmut_scope.py`` credits it to every later test of the module as well, so the tests
that read the fixture also run against the mutant.

At the end it prints the score (killed / total; a timeout counts as killed and their number is
printed, a mutant that no test reaches counts as a survivor) and the survivors, one per line;
``mutmut show NAME`` in the scratch directory prints a survivor's diff. One worker by default
(``--max-children``): the machine is shared. mutmut stops a mutant after a wall-clock time of
half its CPU limit, so on a loaded machine a slow but correct run can time out: raise
``--timeout-multiplier`` there, and ``--survivors`` re-tests the timeouts with the survivors.

``--sample N`` draws N mutants uniformly from all of the module's mutants (every mutant equally
likely, whatever its function) and runs them in that random order, in batches of ``--batch``
mutants (one ``mutmut run`` each). mutmut orders the mutants of one run by the time of their
tests, so a run stopped part-way has checked mostly the fast functions' mutants; batches of a
shuffled sample keep what was checked a uniform sample too: the score of a sample counts its
complete batches only (the order is kept in ``sample.json`` in the scratch directory).

Examples
--------
``python tools/mutate.py src/detente/models/baseline.py``
``python tools/mutate.py src/detente/models/bdm.py --sample 300 --seed 0``
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
KILLED = {1, 3, 36, -24, 24, 152, 255}  # mutmut's exit codes for killed and timeout
TIMEOUT = {36, -24, 24, 152, 255}       # the timeouts among them
STATUS = {0: "survived", 5: "no tests", 33: "no tests", 34: "skipped", 37: "caught by type check", None: "not checked"}


def dotted_name(module: Path) -> str:
    rel = module.resolve().relative_to(ROOT / "src")
    return ".".join(rel.with_suffix("").parts)


def tests_importing(dotted: str) -> list[str]:
    """Test files that import ``dotted`` directly or as ``from package import leaf``."""
    pkg, _, leaf = dotted.rpartition(".")
    pats = [re.compile(rf"\b{re.escape(dotted)}\b"),
            re.compile(rf"from\s+{re.escape(pkg)}\s+import\s+\(?[^)\n]*\b{re.escape(leaf)}\b")]
    out = []
    for f in sorted((ROOT / "tests").glob("test_*.py")):
        text = f.read_text(encoding="utf-8")
        if any(p.search(text) for p in pats):
            out.append(str(f.relative_to(ROOT)))
    return out


def mutmut_table(only: str, tests: list[str], timeout_multiplier: float | None = None) -> str:
    """The repository's ``[tool.mutmut]`` table with this module's keys filled in."""
    import tomllib

    base = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8")).get("tool", {}).get("mutmut", {})
    conf = {**base, "only_mutate": [only], "pytest_add_cli_args_test_selection": tests}
    if timeout_multiplier is not None:
        conf["timeout_multiplier"] = timeout_multiplier
    conf["pytest_add_cli_args"] = list(base.get("pytest_add_cli_args", [])) + ["-p", "mutmut_scope"]
    lines = ["[tool.mutmut]"]
    for k, v in conf.items():
        lines.append(f"{k} = {json.dumps(v)}")
    return "\n".join(lines) + "\n"


def project_without_mutmut_table() -> str:
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    return re.sub(r"(?ms)^\[tool\.mutmut\]\n.*?(?=^\[|\Z)", "", text)


def read_results(work: Path, only: str) -> dict[str, int | None]:
    meta = work / "mutants" / (only + ".meta")
    data = json.loads(meta.read_text(encoding="utf-8"))
    return data["exit_code_by_key"]


def merge_retested(previous: dict[str, int | None], current: dict[str, int | None],
                   retested: list[str]) -> dict[str, int | None]:
    """Results after ``--survivors``: the re-tested mutants' new results, every other mutant's
    result from before. mutmut drops every cached result when the test selection changes (as it
    does when the new tests are in a new file that imports the module), and tests only added
    cannot revive a mutant that was killed, so the earlier kills stand."""
    again = set(retested)
    return {k: (current.get(k) if k in again else v) for k, v in {**current, **previous}.items()}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("module", help="source file under src/, e.g. src/detente/models/baseline.py")
    ap.add_argument("--tests", nargs="*", help="test files to run (default: those that import the module)")
    ap.add_argument("--max-children", type=int, default=1, help="parallel mutant runs (default 1)")
    ap.add_argument("--sample", type=int, default=0, help="test only a random sample of this many mutants")
    ap.add_argument("--seed", type=int, default=0, help="seed of the sample")
    ap.add_argument("--batch", type=int, default=50,
                    help="mutants per mutmut run of a sample, in the sample's random order (default 50)")
    ap.add_argument("--resume", action="store_true",
                    help="run the previous sample's mutants not run yet, batch by batch (e.g. after a stop; implies --keep)")
    ap.add_argument("--keep", action="store_true", help="reuse the previous run's results (mutmut's cache)")
    ap.add_argument("--report", action="store_true", help="only print the score and survivors of the previous run")
    ap.add_argument("--survivors", action="store_true",
                    help="re-test only the previous run's survivors and timeouts (after adding tests; implies --keep)")
    ap.add_argument("--timeout-multiplier", type=float, default=None,
                    help="mutmut's timeout_multiplier (default: pyproject's); raise it on a loaded machine")
    a = ap.parse_args(argv)

    module = Path(a.module)
    if not (ROOT / module).is_file() or module.suffix != ".py":
        ap.error(f"{a.module}: not a Python file of this repository")
    only = str((ROOT / module).resolve().relative_to(ROOT))
    dotted = dotted_name(ROOT / module)
    tests = a.tests if a.tests else tests_importing(dotted)
    if not tests:
        ap.error(f"no test file imports {dotted}; name them with --tests")
    if shutil.which("mutmut", path=str(Path(sys.executable).parent)) is None:
        ap.error("mutmut is not installed in this environment: pip install -e '.[dev]'")
    mutmut = str(Path(sys.executable).parent / "mutmut")

    work = ROOT / ".mutmut" / dotted
    previous: dict[str, int | None] = {}
    if a.survivors:
        a.keep = True
        try:
            previous = read_results(work, only)
        except FileNotFoundError:
            ap.error(f"--survivors: no previous run in {work.relative_to(ROOT)}")
    if a.report:
        a.keep = True
    sample_file = work / "sample.json"
    if a.resume:
        a.keep = True
        if not sample_file.is_file():
            ap.error(f"--resume: no previous sample in {work.relative_to(ROOT)}")
        # the sample's own tests and timeout: another test selection would make mutmut drop every result
        saved = json.loads(sample_file.read_text(encoding="utf-8"))
        tests = saved.get("tests") or tests
        if a.timeout_multiplier is None:
            a.timeout_multiplier = saved.get("timeout_multiplier")
    if work.exists() and not a.keep:
        shutil.rmtree(work)
    work.mkdir(parents=True, exist_ok=True)
    for name in ("src", "tests"):
        link = work / name
        if not link.exists():
            link.symlink_to(ROOT / name, target_is_directory=True)
    if not a.report:   # --report runs nothing: the previous run's configuration (its test selection) stays
        (work / "pyproject.toml").write_text(project_without_mutmut_table().rstrip() + "\n\n" + mutmut_table(only, tests, a.timeout_multiplier),
                                             encoding="utf-8")
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT / "tools")  # the scope plugin; mutmut puts mutants/src first itself
    shared = ROOT.parent / "shared"
    if shared.is_dir():
        env.setdefault("DETENTE_SHARED", str(shared))
    print(f"mutating {only} ({dotted}) against: {' '.join(tests)}", flush=True)

    names: list[str] = []
    if a.report:
        if not (work / "mutants" / (only + ".meta")).is_file():
            ap.error(f"--report: no previous run in {work.relative_to(ROOT)}")
    elif a.survivors:
        # a timeout is re-tested too: mutmut's wall-clock limit (half its CPU limit) also fires
        # when a niced run on a loaded machine is slow, not only on an endless loop
        names = sorted(k for k, v in previous.items() if v is not None and (v not in KILLED or v in TIMEOUT))
        print(f"re-testing the {len(names)} survivors and timeouts of the previous run", flush=True)
        if not names:
            return 0
    elif a.resume:
        cur = read_results(work, only)
        batches = [[k for k in b if cur.get(k) is None] for b in json.loads(sample_file.read_text(encoding="utf-8"))["batches"]]
        batches = [b for b in batches if b]
        print(f"resuming the sample: {sum(map(len, batches))} mutants not run yet, in {len(batches)} batches", flush=True)
    elif a.sample:
        # generate the mutants and the test stats without running any mutant, then pick the sample
        subprocess.run([mutmut, "run", "--max-children", str(a.max_children), "__no_such_mutant__"], cwd=work,
                       env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        every = sorted(read_results(work, only))
        # random.sample returns the chosen mutants in random order: the order they are run in
        names = random.Random(a.seed).sample(every, min(a.sample, len(every)))
        batches = [names[i:i + max(1, a.batch)] for i in range(0, len(names), max(1, a.batch))]
        (work / "sample.json").write_text(json.dumps({"seed": a.seed, "of": len(every), "batches": batches, "tests": tests,
                                                      "timeout_multiplier": a.timeout_multiplier}),
                                          encoding="utf-8")
        print(f"sample: {len(names)} of {len(every)} mutants (seed {a.seed}), {len(batches)} batches", flush=True)
    if not (a.sample or a.resume or a.survivors or a.report):
        sample_file.unlink(missing_ok=True)  # a run of every mutant: no sample to restrict the score to
    by_batch = (a.sample or a.resume) and not a.survivors
    for i, batch in enumerate([] if a.report else batches if by_batch else [names]):
        if by_batch:
            print(f"batch {i + 1} / {len(batches)}", flush=True)
        rc = subprocess.run([mutmut, "run", "--max-children", str(a.max_children), *batch],
                            cwd=work, env=env).returncode
        if rc != 0:
            print(f"mutmut run failed (exit {rc})", file=sys.stderr)
            return 1

    every = read_results(work, only)
    if a.survivors:
        every = merge_retested(previous, every, names)
    res = {k: v for k, v in every.items() if v is not None}  # a sample leaves the others unchecked
    if sample_file.is_file():
        # the score of the sample alone (the cache may hold results of other mutants), over its
        # complete batches: within a batch mutmut runs the fast functions' mutants first
        plan = json.loads(sample_file.read_text(encoding="utf-8"))
        done: list[str] = []
        for batch in plan["batches"]:
            if any(every.get(k) is None for k in batch):
                break
            done += batch
        total = sum(len(b) for b in plan["batches"])
        print(f"sample: {len(done)} of {total} sampled mutants in complete batches (seed {plan['seed']}, "
              f"of {plan['of']} mutants){'; the rest is not counted' if len(done) < total else ''}", flush=True)
        res = {k: v for k, v in res.items() if k in set(done)}
    killed = sum(1 for v in res.values() if v in KILLED)
    timeouts = sum(1 for v in res.values() if v in TIMEOUT)
    survivors = sorted((k, STATUS.get(v, f"exit {v}")) for k, v in res.items() if v not in KILLED)
    print()
    print(f"survivors ({len(survivors)}), diffs: cd {work.relative_to(ROOT)} && mutmut show NAME")
    for k, s in survivors:
        print(f"  {k}  [{s}]")
    unchecked = f" ({len(every) - len(res)} of {len(every)} mutants not run)" if len(res) < len(every) else ""
    tmo = f" ({timeouts} of them by timeout)" if timeouts else ""
    print(f"score {only}: {killed} / {len(res)} killed = {100.0 * killed / max(1, len(res)):.1f} %{tmo}{unchecked}")
    if sample_file.is_file() and res:
        # the sample's mutants are a uniform draw from the module's: an exact binomial interval for
        # the share of the module's mutants the tests kill (equivalent mutants not yet set aside)
        from scipy.stats import binomtest

        ci = binomtest(killed, len(res)).proportion_ci(0.95, method="exact")
        print(f"95 % interval (Clopper-Pearson) for the module's kill rate: {100 * ci.low:.1f} - {100 * ci.high:.1f} %")
    return 0


if __name__ == "__main__":
    sys.exit(main())
