"""``detente cases``: historical case libraries (``docs/cases.md``).

* ``detente cases icb DATA_DIR [--split 1989] [--forecast [--corrected-builder]] [--json]`` — build
  one crisis scenario per ICB crisis from the conflict data directory; print coverage, the
  trigger-time features of each crisis and the reason for each skipped one; ``--forecast`` adds the
  pre-registered test scores, ``--corrected-builder`` the post-hoc ones of the corrected builder;
* ``detente cases show CRISNO --data DATA_DIR [--out FILE]`` — write that crisis as a scenario
  YAML that ``detente run FILE`` runs;
* ``detente cases fit DATA_DIR --out FILE [--runs N] [--split Y] [--executor K] [--workers N]
  [--address tcp://H:P] [--store PATH]`` — the pre-registered fit (``python -m detente.cases.fit``)
  with its probe runs on an executor and, with ``--store``, resumable after a kill.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from detente.cli.base import app, guarded, out, print_json
from detente.errors import InputError, Problem

cases_app = typer.Typer(help="Historical case libraries (ICB crises) built into crisis scenarios.",
                        no_args_is_help=True)
app.add_typer(cases_app, name="cases")


def reliability_diagram(scores: dict[str, Any], path: Any) -> str | None:
    """Write the reliability diagram of the pre-registered test scores (without the trigger type):
    P(full-scale war) and P(any violence), engine and logistic baseline, 5 equal-count bins with
    90 % Wilson intervals (``scores`` as ``score_test`` returns it). ``.html`` is written directly;
    ``.png``/``.svg`` through kaleido. Returns ``None`` on success, else why nothing was written."""
    from detente.plotting.export import write_images
    from detente.plotting.figures import reliability_figure

    b = scores["without_trigger"]
    panels = {f"P(full-scale war), {b['war']['n']} test crises, {b['war']['events']} wars":
              {"engine": b["war"]["reliability_engine"], "logistic": b["war"]["reliability_logit"]},
              f"P(any violence), {b['violence']['events']} violent":
              {"engine": b["violence"]["reliability_engine"], "logistic": b["violence"]["reliability_logit"]}}
    fig = reliability_figure(panels, f"ICB crises triggered after {scores['split']}: reliability of the frozen "
                                     "engine and the logistic baseline (without trigger type)")
    p = Path(path)
    if p.suffix.lower() == ".html":
        p.parent.mkdir(parents=True, exist_ok=True)
        fig.write_html(str(p), include_plotlyjs=True)
        return None
    return write_images({p: fig})


@cases_app.command("icb")
def icb_cmd(
    data_dir: Path = typer.Argument(..., help="Directory with icb1v14.csv, icb2v14.csv, cow_nmc.csv, gml_part.csv, td_rivalries.csv."),
    split: int = typer.Option(1989, "--split", help="Last trigger year of the training set."),
    forecast: bool = typer.Option(False, "--forecast", help="Add the frozen fit's forecasts and the pre-registered test scores (about a minute)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
    figure: Path | None = typer.Option(None, "--figure", help="With --forecast: write the reliability diagram of the test scores (.png, .svg or .html)."),
    corrected: bool = typer.Option(False, "--corrected-builder", help="With --forecast: also score the test crises built "
                                   "with the corrected builder (frozen coefficients, not refitted; NOT pre-registered), "
                                   "as `corrected_builder`."),
) -> None:
    """Build one crisis scenario per ICB crisis from trigger-time data; report coverage."""
    from detente.cases.icb import CaseParams, build_cases, library_json

    def go():
        if figure is not None and not forecast:
            raise InputError(Problem("--figure needs --forecast (the diagram is of the test scores)",
                                     column="--figure", value=str(figure)))
        if corrected and not forecast:
            raise InputError(Problem("--corrected-builder needs --forecast (it is a second scoring of the test crises)",
                                     column="--corrected-builder", value=True))
        if figure is not None and figure.suffix.lower() not in (".png", ".svg", ".html"):
            raise InputError(Problem("unknown figure format", column="--figure", value=str(figure),
                                     expected=".png, .svg or .html"))
        params = CaseParams(split=split)
        cases, skipped = build_cases(data_dir, params)
        obj = library_json(cases, skipped, params)
        if forecast:
            import json as _json

            from detente.cases.fit import FROZEN_PATH
            from detente.cases.score import score_test

            if not FROZEN_PATH.is_file():
                raise InputError(Problem("no frozen ICB fit in the package", file=str(FROZEN_PATH),
                                         expected="the output of `python -m detente.cases.fit`"))
            frozen = _json.loads(FROZEN_PATH.read_text(encoding="utf-8"))
            if int(frozen["provenance"]["train"]["last_year"]) != split:
                raise InputError(Problem("the frozen fit was made with another split", column="--split", value=split,
                                         expected=str(frozen["provenance"]["train"]["last_year"])))
            obj.update(score_test(data_dir, frozen))
            if corrected:
                obj["corrected_builder"] = score_test(data_dir, frozen, code_corrections=True, initiators=False,
                                                      diagnostics=False)
            if figure is not None:
                why = reliability_diagram(obj["scores"], figure)
                if why:
                    raise InputError(Problem(f"the figure was not written: {why}", file=str(figure)))
        return obj

    obj = guarded(go, as_json=as_json)
    if as_json:
        print_json(obj)
        return
    cov = obj["coverage"]
    out.print(f"ICB crises built: {cov['built']} of {cov['total']} (train ≤ {obj['split']}: {cov['train']}, "
              f"test: {cov['test']}); skipped {cov['skipped']}:")
    for cn, why in obj["skipped"].items():
        out.print(f"  {cn}: {why}", markup=False)
    if obj.get("scores"):
        pr = obj["scores"]["primary"]
        out.print(f"primary: {pr['outcome']}: Brier skill vs base rate {pr['bss_vs_base_rate']:.3f}, "
                  f"90 % bootstrap [{pr['bootstrap90'][0]:.3f}, {pr['bootstrap90'][1]:.3f}]; "
                  f"success = {pr['success']}")
    if obj.get("corrected_builder"):
        pc = obj["corrected_builder"]["scores"]["primary"]
        out.print(f"NOT pre-registered, corrected builder ({obj['corrected_builder']['scores']['n_test']} test crises, "
                  f"frozen coefficients): Brier skill vs base rate {pc['bss_vs_base_rate']:.3f}, "
                  f"90 % bootstrap [{pc['bootstrap90'][0]:.3f}, {pc['bootstrap90'][1]:.3f}]")
    if figure is not None:
        out.print(f"reliability diagram written to {figure}", markup=False)


@cases_app.command("show")
def show_cmd(
    crisno: int = typer.Argument(..., help="ICB crisis number (crisno)."),
    data: Path = typer.Option(..., "--data", help="The conflict data directory (as for `detente cases icb`)."),
    out_path: Path | None = typer.Option(None, "--out", "-o", help="Output YAML (default: icb-CRISNO.yaml)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Write one ICB crisis as an editable scenario YAML (run it with `detente run FILE`)."""
    from detente.cases.icb import build_cases, case_scenario
    from detente.formats.yamlfmt import write_yaml

    def go():
        cases, skipped = build_cases(data)
        if crisno not in cases:
            why = skipped.get(crisno, "no such crisis in icb1v14.csv")
            raise InputError(Problem(f"ICB crisis {crisno} cannot be built: {why}", column="crisno", value=crisno,
                                     expected="a crisno listed under `crises` by `detente cases icb --json`"))
        sc = case_scenario(cases[crisno])
        path = out_path or Path(f"icb-{crisno}.yaml")
        write_yaml(sc, path)
        return {"crisno": crisno, "path": str(path), "scenario": sc.name}

    obj = guarded(go, as_json=as_json)
    if as_json:
        print_json(obj)
    else:
        out.print(f"ICB crisis {obj['crisno']} written to {obj['path']} (run it with `detente run {obj['path']}`)")


@cases_app.command("fit")
def fit_cmd(
    data_dir: Path = typer.Argument(..., help="The conflict data directory (as for `detente cases icb`)."),
    out_path: Path = typer.Option(..., "--out", "-o", help="Where to write the fit record (JSON)."),
    runs: int = typer.Option(1000, "--runs", "-n", min=2, help="Probe runs per crisis and down_m value."),
    split: int = typer.Option(1989, "--split", help="Last trigger year of the training set."),
    executor: str | None = typer.Option(None, "--executor", help="serial | process | dask: where the probe runs' "
                                        "chunks run (same record on any; default serial)."),
    workers: int | None = typer.Option(None, "--workers", min=1, help="Worker processes (default 2)."),
    address: str | None = typer.Option(None, "--address", help="Dask scheduler tcp://HOST:PORT (implies --executor dask)."),
    store: Path | None = typer.Option(None, "--store", help="Run store directory: keep every finished probe chunk "
                                      "there, so the same command after a kill resumes."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Fit the ICB crisis scenarios on the training crises (pre-registered maximum simulated
    likelihood, `python -m detente.cases.fit`), on any executor, resumable with --store."""
    import json as _json

    from detente.cases.fit import freeze
    from detente.cli.base import open_store
    from detente.cli.crisis_run import check_executor
    from detente.experiments.crisis_runs import crisis_execution

    st = open_store(store, as_json=as_json) if store is not None else None

    def go():
        kind = check_executor(executor, address)
        if not data_dir.is_dir():
            raise InputError(Problem("data directory not found", file=str(data_dir), column="DATA_DIR"))
        with crisis_execution(executor=kind, workers=workers or 2, address=address, store=st) as chunks:
            from detente.crisis.engine import current_execution

            rec = freeze(data_dir, runs=runs, split=split, executor=current_execution()[0], chunks=chunks)
        out_path.write_text(_json.dumps(rec, indent=1, allow_nan=False, default=float) + "\n", encoding="utf-8")
        return {"path": str(out_path), "crises": rec["provenance"]["train"]["crises"], "runs": runs,
                "down_m": {v: r["down_m"] for v, r in rec["variants"].items()}}

    obj = guarded(go, as_json=as_json)
    if as_json:
        print_json(obj)
    else:
        out.print(f"fit of {obj['crises']} training crises ({runs} probe runs each) written to {obj['path']}")
