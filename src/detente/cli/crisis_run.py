"""What ``detente run`` and ``detente demo`` do for crisis scenarios, without any printing
(CLI layer: it loads files, runs the crisis engine and writes the report).

``crisis_run`` resolves the scenario (bundled name or file), adds user hypotheses given as
YAML files, applies ``--set PATH=VALUE`` overrides, runs every requested hypothesis with the
back-test (:func:`detente.crisis.analysis.run_hypotheses`) and writes the report.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from detente.errors import InputError, Problem

__all__ = ["crisis_run", "load_scenario", "scenario_dir", "locate_dynamics_problems", "check_dynamics",
           "DEFAULT_MECHANISM_RUNS"]

#: Default runs per with/without pair of the mechanism map on the command line (one extra run
#: per mechanism and hypothesis): at most this many, or fewer when the hypotheses run fewer.
DEFAULT_MECHANISM_RUNS = 1000

def scenario_dir(name: str) -> Path | None:
    """Folder of the scenario file (a path, or the bundled example's folder inside the package):
    the record's facts file is read relative to it, never the working directory."""
    from detente import examples

    p = Path(name)
    if p.is_file():
        return p.resolve().parent
    try:
        return examples.path(name).parent
    except KeyError:
        return None


def load_scenario(name: str):
    """The crisis scenario ``name``: a scenario file (any format) or a bundled scenario's name.

    An input error says which of these went wrong: a file that does not exist, a name that is
    not bundled (with the closest bundled names), or a valid scenario that is not a crisis
    scenario (no ``dynamics:`` block; ``detente forecast`` is for those)."""
    import difflib

    from detente import examples
    from detente.formats import load

    p = Path(name)
    if p.is_file():
        scn = load(p)
    elif p.suffix or len(p.parts) > 1:
        raise InputError(Problem("scenario file not found", file=name, column="scenario", value=name,
                                 expected="an existing scenario file or a bundled scenario name ("
                                 + ", ".join(examples.names()) + ")"))
    else:
        try:
            scn = examples.load(name)
        except KeyError:
            close = difflib.get_close_matches(name, examples.names(), n=3, cutoff=0.5)
            hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
            raise InputError(Problem(f"no bundled scenario {name!r}{hint}", column="scenario", value=name,
                                     expected="a bundled scenario name (" + ", ".join(examples.names())
                                     + ") or a scenario file")) from None
    if not scn.dynamics:
        raise InputError(Problem("a valid scenario, but not a crisis scenario: it has no `dynamics:` block "
                                 "(`detente forecast FILE -m MODEL` forecasts it)",
                                 file=str(p) if p.is_file() else None, column="scenario", value=name,
                                 expected="a crisis scenario (a `dynamics:` block, see docs/crisis.md)"))
    return scn


def _user_hypothesis(path: Path) -> tuple[str, dict[str, Any]]:
    """A hypothesis file (``-H file.yaml``), read as strictly as a scenario: malformed YAML,
    duplicate keys and YAML 1.1 base-60 numbers (``1:20``) are problems naming the line."""
    from detente.formats.common import read_text
    from detente.formats.yamlfmt import parse_yaml_with_lines

    try:
        text, _ = read_text(path, encodings=("utf-8-sig",))
    except OSError as exc:
        raise InputError(Problem(f"cannot read hypothesis file: {exc}", file=str(path))) from None
    problems: list[Problem] = []
    doc, _ = parse_yaml_with_lines(text, str(path), problems)
    if problems:
        raise InputError(problems)
    if not isinstance(doc, dict) or "name" not in doc:
        raise InputError(Problem("a hypothesis file needs `name:`, `label:` and `set:`", file=str(path)))
    name = str(doc.pop("name"))
    doc.setdefault("label", name)
    return name, doc


def _scenario_file(name: str) -> Path | None:
    """The YAML file behind a scenario name (a path, or the bundled example's file), if any."""
    from detente import examples

    p = Path(name)
    if not p.is_file():
        try:
            p = examples.path(name)
        except KeyError:
            return None
    return p if p.is_file() and p.suffix in (".yaml", ".yml") else None


def locate_dynamics_problems(exc: InputError, name: str) -> InputError:
    """The problems of a crisis scenario's ``dynamics`` block with the scenario file and the line.

    ``load_spec`` names a problem by its field path in the validated description
    (``dynamics.flashpoints.0.beta.rung.fit``), prefixed ``(hypothesis 'H')`` when a hypothesis'
    ``set:`` brought it in. This finds the line in the YAML file: in the hypothesis' ``set:`` entry
    whose path covers the field (``flashpoints[UA].beta`` covers ``flashpoints.0.beta...`` when
    flashpoint 0 has id UA), else in the base description. Problems already located, or of other
    files, are left as they are."""
    import re

    from detente.formats.common import read_text
    from detente.formats.yamlfmt import parse_yaml_with_lines

    path = _scenario_file(name)
    if path is None or not any((p.column or "").startswith("dynamics.") and p.line is None for p in exc.problems):
        return exc
    try:
        text, _ = read_text(path, encodings=("utf-8-sig",))
    except OSError:
        return exc
    doc, lines = parse_yaml_with_lines(text, str(path), [])
    dyn = (doc or {}).get("dynamics") if isinstance(doc, dict) else None
    if not isinstance(dyn, dict):
        return exc
    seg = re.compile(r"([^.\[\]]+)|\[([^\]]+)\]")

    def as_loc(key: str) -> list[str] | None:
        """A ``set:`` path (``flashpoints[UA].beta``) as the field path of the base description."""
        node: Any = dyn
        out: list[str] = []
        for m in seg.finditer(key):
            if m.group(1) is not None:
                part = m.group(1)
                node = node.get(part) if isinstance(node, dict) else (
                    node[int(part)] if isinstance(node, list) and part.isdigit() and int(part) < len(node) else None)
                out.append(part)
            else:
                idx = [i for i, el in enumerate(node or []) if isinstance(el, dict) and str(el.get("id")) == m.group(2)] \
                    if isinstance(node, list) else []
                if not idx:
                    return None
                node = node[idx[0]]
                out.append(str(idx[0]))
        return out

    def line_of(ypath: tuple[Any, ...]) -> int | None:
        for k in range(len(ypath), 0, -1):
            if ypath[:k] in lines:
                return lines[ypath[:k]]
        return None

    def yaml_key(part: str) -> Any:
        return int(part) if part.isdigit() else part

    out = []
    for p in exc.problems:
        col = p.column or ""
        if p.line is not None or not col.startswith("dynamics.") or (p.file not in (None, name, str(path), doc.get("name"))):
            out.append(p)
            continue
        loc = col.split(".")[1:]
        m = re.match(r"\(hypothesis '([^']+)'\)", p.message)
        line = None
        if m:
            h = m.group(1)
            sets = (((dyn.get("hypotheses") or {}).get(h) or {}).get("set") or {})
            for key in sorted(sets, key=len, reverse=True):
                pre = as_loc(str(key))
                if pre is not None and loc[:len(pre)] == pre:
                    line = line_of(("dynamics", "hypotheses", h, "set", key, *map(yaml_key, loc[len(pre):])))
                    break
            if line is None:
                line = line_of(("dynamics", "hypotheses", h))
        else:
            line = line_of(("dynamics", *map(yaml_key, loc)))
        out.append(Problem(p.message, str(path), line, p.column, p.value, p.expected))
    return InputError(out)


def _as_of_dates(items: list[str] | None) -> list[Any] | None:
    """``--as-of DATE`` values (ISO dates) → dates; a bad one is an input error naming it."""
    import datetime as dt

    out = []
    for v in items or []:
        try:
            out.append(dt.date.fromisoformat(v))
        except ValueError:
            raise InputError(Problem("not a date", column="--as-of", value=v, expected="YYYY-MM-DD")) from None
    return out or None


def check_dynamics(scn: Any, file: str) -> int:
    """Validate a scenario's crisis ``dynamics`` block and every hypothesis declared in it (what
    ``detente validate`` checks beyond the scenario itself); all problems at once, located by file
    and line (:func:`locate_dynamics_problems`). Returns the number of hypotheses checked. Only a
    block that declares ``engine: crisis`` is checked: ``dynamics`` is free for other engines."""
    from detente.crisis.spec import load_spec

    if not isinstance(scn.dynamics, dict) or scn.dynamics.get("engine") != "crisis":
        return 0
    try:
        load_spec(scn.dynamics, file=file)
    except InputError as exc:
        raise locate_dynamics_problems(exc, file) from None
    problems: list[Problem] = []
    hyps = list(scn.dynamics.get("hypotheses") or {})
    for h in hyps:
        try:
            load_spec(scn.dynamics, file=file, hypothesis=h)
        except InputError as exc:
            problems += exc.problems
    if problems:
        raise locate_dynamics_problems(InputError(problems), file)
    return len(hyps)


def _locating(fn: Any) -> Any:
    """Give the problems of a crisis run their scenario file and line (:func:`locate_dynamics_problems`)."""
    import functools

    @functools.wraps(fn)
    def wrapper(name: str, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(name, *args, **kwargs)
        except InputError as exc:
            raise locate_dynamics_problems(exc, name) from None

    return wrapper


@_locating
def crisis_run(name: str, *, hypotheses: list[str] | None = None, runs: int | None = None, seed: int | None = None,
               out_dir: str | Path | None = "reports", sets: list[str] | None = None,
               cf_runs: int | None = None, mechanisms: str | None = None, mechanism_runs: int | None = None,
               mechanism_hypotheses: list[str] | None = None, draw_assumptions: bool = False,
               param_draws: int | None = None, as_of: list[str] | None = None,
               sensitivity: bool = False, sensitivity_samples: int | None = None, executor: str | None = None,
               workers: int | None = None, address: str | None = None, store: Any = None,
               progress: Callable[[int, int], None] | None = None,
               images: Any = None) -> tuple[dict[str, Any], Path | None]:
    """Run a crisis scenario's hypotheses and (optionally) write the report.

    ``mechanisms`` (``all``, ``none`` or comma-separated names), ``mechanism_runs`` and
    ``mechanism_hypotheses`` choose the mechanism map (:func:`detente.crisis.analysis.mechanism_map`);
    by default every mechanism under every hypothesis run, with ``cf_runs`` runs or else the runs per
    hypothesis up to :data:`DEFAULT_MECHANISM_RUNS`.

    ``draw_assumptions`` draws every assumption with a range per run (``settings.draw_assumptions``)
    and adds to each hypothesis an ``uncertainty`` block (:func:`detente.experiments.front.add_uncertainty`,
    ``param_draws`` parameter sets, default :data:`detente.experiments.front.DEFAULT_PARAM_DRAWS`).

    ``sensitivity`` adds ``sensitivity``: Sobol indices of P(war by the record's end) and the focal
    actor's months of peace under the reference hypothesis (or the first one run), over the 20
    numbers a Morris screen ranks highest (:func:`detente.experiments.crisis_sensitivity.screened_sobol`),
    with base sample ``sensitivity_samples`` (default
    :data:`detente.experiments.crisis_sensitivity.DEFAULT_SOBOL_N`).

    ``executor`` (``serial``, ``process``, ``dask``), ``workers`` and ``address`` (a Dask
    scheduler) say where every engine run's chunks run (:func:`detente.experiments.crisis_runs.crisis_execution`);
    with a run ``store`` each finished chunk is kept there, so the same command run again after a
    kill simulates only the missing chunks, and the finished object is stored as a ``crisis`` run
    (its id added as ``run_id``; the sensitivity studies of ``sensitivity`` as ``crisis_sensitivity``
    runs). The numbers depend on none of these.

    ``progress(chunks done, chunks started)`` is called as the engine's chunks finish, summed over
    every engine run of the analysis (:func:`detente.crisis.engine.reporting`).

    ``images`` is a :class:`detente.plotting.export.ImageSession` of the caller's: started here as
    an own one would be (before the analysis), used for the report's PNGs and left open, so the
    caller can close it while it does more (``detente run`` writes the HTML report while the browser
    shuts down) and must close it. Without one the session is this call's own.

    Returns the ``--json`` object and the markdown report's path (``None`` when ``out_dir`` is ``None``).
    """
    from detente.experiments.crisis_runs import crisis_execution
    from detente.report.crisis import write_report

    kind = check_executor(executor, address, default="auto")

    scn = load_scenario(name)
    dyn = dict(scn.dynamics or {})
    hyps = dict(dyn.get("hypotheses") or {})
    chosen: list[str] = []
    for h in hypotheses or []:
        p = Path(h)
        if h in hyps:
            chosen.append(h)
        elif p.suffix in (".yaml", ".yml"):
            if not p.is_file():
                raise InputError(Problem(f"hypothesis file not found: {p}", file=str(p), column="--hypothesis",
                                         value=h, expected="an existing YAML file or a declared hypothesis ("
                                         + (", ".join(sorted(hyps)) or "none declared") + ")"))
            hn, doc = _user_hypothesis(p)
            hyps[hn] = doc
            chosen.append(hn)
        else:
            chosen.append(h)
    dyn["hypotheses"] = hyps
    scn = scn.model_copy(update={"dynamics": dyn})
    extra: dict[str, Any] = {}
    for item in sets or []:
        if "=" not in item:
            raise InputError(Problem(f"--set {item!r}: expected PATH=VALUE", column="--set", value=item))
        k, v = item.split("=", 1)
        try:
            extra[k] = json.loads(v)
        except json.JSONDecodeError:
            extra[k] = v
    for h in chosen:
        if h not in hyps:
            raise InputError(Problem(f"unknown hypothesis {h!r}", column="--hypothesis", value=h,
                                     expected=", ".join(sorted(hyps)) or "no hypotheses are declared: omit -H "
                                     "to run the base scenario (reported as `base`), or pass a hypothesis YAML file"))
    if draw_assumptions:
        extra["settings.draw_assumptions"] = True
    if mechanism_runs is None and cf_runs is None:
        from detente.crisis.spec import load_spec

        mechanism_runs = min(runs or load_spec(dyn).settings.runs, DEFAULT_MECHANISM_RUNS)
    from detente.crisis.engine import reporting
    from detente.plotting.export import ImageSession

    # the report's PNGs need a browser: start it now, so it is ready when the analysis is done
    if images is not None and out_dir is not None:
        session: Any = contextlib.nullcontext(images.start())   # the caller's: it closes it
    else:
        session = ImageSession() if out_dir is not None else contextlib.nullcontext()
    with session as images:
        with crisis_execution(executor=kind, workers=workers or (None if kind == "auto" else 2), address=address,
                              store=store), reporting(progress):
            obj = _analyse(scn, name, chosen=chosen, runs=runs, seed=seed, extra=extra, cf_runs=cf_runs,
                           mechanisms=mechanisms, mechanism_runs=mechanism_runs,
                           mechanism_hypotheses=mechanism_hypotheses, as_of=as_of,
                           draw_assumptions=draw_assumptions, param_draws=param_draws, sensitivity=sensitivity,
                           sensitivity_samples=sensitivity_samples, store=store)
            if store is not None:
                from detente.report.stored import save_crisis

                obj["run_id"] = save_crisis(store, obj, scenario=scn)
        rep = write_report(obj, out_dir, images=images) if out_dir is not None else None
    return obj, rep


def check_executor(executor: str | None, address: str | None = None, default: str = "serial") -> str:
    """The executor to use: ``--executor`` (else ``default``; ``dask`` when only a scheduler
    ``--address`` is given). An unknown name, or an address with another executor, is an input
    error (exit 2) naming the option."""
    if executor is not None and executor not in ("serial", "process", "dask", "auto"):
        raise InputError(Problem("unknown executor", column="--executor", value=executor,
                                 expected="serial, process, dask or auto"))
    if address is not None and executor not in (None, "dask"):
        raise InputError(Problem("--address is a Dask scheduler's address: it needs --executor dask", column="--address",
                                 value=address, expected=f"--executor dask (not {executor})"))
    return executor or ("dask" if address is not None else default)


def _analyse(scn: Any, name: str, *, chosen: list[str], runs: int | None, seed: int | None, extra: dict[str, Any],
             cf_runs: int | None, mechanisms: str | None, mechanism_runs: int | None,
             mechanism_hypotheses: list[str] | None, as_of: list[str] | None, draw_assumptions: bool,
             param_draws: int | None, sensitivity: bool, store: Any,
             sensitivity_samples: int | None = None) -> dict[str, Any]:
    """The ``--json`` object of :func:`crisis_run` (engine calls run in the caller's execution context)."""
    from detente.crisis.analysis import run_hypotheses

    obj = run_hypotheses(scn, hypotheses=chosen or None, runs=runs, seed=seed, base_dir=scenario_dir(name),
                         extra_set=extra or None, cf_runs=cf_runs, mechanisms=mechanisms or "all",
                         mechanism_runs=mechanism_runs, mechanism_hypotheses=mechanism_hypotheses or None,
                         as_of=_as_of_dates(as_of), forecast=True)
    obj["timeline"] = (obj.get("record") or {}).get("facts")
    if draw_assumptions:
        from detente.experiments.front import DEFAULT_PARAM_DRAWS, add_uncertainty

        add_uncertainty(obj, scn, extra=extra, draws=param_draws or DEFAULT_PARAM_DRAWS)
    if sensitivity:
        from detente.experiments.crisis_sensitivity import DEFAULT_SOBOL_N, screened_sobol

        declared = (scn.dynamics or {}).get("hypotheses") or {}
        ref = obj.get("reference") if obj.get("reference") in obj["hypotheses"] else next(iter(obj["hypotheses"]))
        outs = (["p_war_by_end"] if obj.get("backtest_end") else []) + ["months_of_peace_focal"]
        sens = screened_sobol(scn, hypothesis=ref if ref in declared else None, outputs=outs, seed=int(obj["seed"]),
                              extra_set=extra or None, store=store,
                              n=sensitivity_samples or DEFAULT_SOBOL_N).to_json_dict()
        sens["hypothesis"] = ref
        obj["sensitivity"] = sens
    return obj
