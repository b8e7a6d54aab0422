"""Every page of the web UI in a real browser after the move to one plotting layer: each page
loads without a JavaScript error, draws the plotly figures the server built, and is saved as a
screenshot under ``test-artifacts/web/page-*.png``."""

from __future__ import annotations

from pathlib import Path

import pytest

from browser_helpers import browser_page, require_browser, serve, shot

pytestmark = [pytest.mark.browser, pytest.mark.slow]   # about 40 s: a dozen pages, small runs
playwright_api = require_browser()

from detente import examples  # noqa: E402

FIX = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    from detente.crisis.analysis import run_hypotheses
    from detente.experiments.runner import run_sweep
    from detente.experiments.sensitivity import run_sensitivity
    from detente.experiments.sweep import SweepSpec
    from detente.formats import load
    from detente.models.registry import run_model
    from detente.report.stored import save_crisis
    from detente.store import Store

    tmp = tmp_path_factory.mktemp("screens")
    store = Store(tmp / "store")
    scn = examples.load("ec_emission")
    runs = {"bdm": store.save(run_model(scn, "bdm", seed=0), scenario=scn),
            "compromise": store.save(run_model(scn, "compromise"), scenario=scn)}
    xs = load(FIX / "exchange" / "exchange_4x2.csv")
    runs["exchange"] = store.save(run_model(xs, "exchange", seed=0), scenario=xs)
    runs["sweep"] = run_sweep(SweepSpec.model_validate(dict(
        name="screens", scenario="example:ec_emission", model="bdm", seed=1, chunk_size=10, trace="positions",
        params={"rounds": 3},
        factors=[{"field": "salience", "actors": ["UK"], "dist": {"kind": "uniform", "low": -20, "high": 20}, "clip": [0, 100]}],
        design={"kind": "montecarlo", "runs": 20})), store=store).run_id
    runs["sobol"] = run_sensitivity(SweepSpec.model_validate(dict(
        name="screens-sobol", scenario="example:ec_emission", model="compromise", seed=3,
        factors=[{"field": "salience", "actors": ["UK"], "dist": {"kind": "uniform", "low": -10, "high": 10}, "clip": [0, 100]},
                 {"field": "position", "actors": ["Germany"], "dist": {"kind": "uniform", "low": -2, "high": 2}}])),
        method="sobol", n=16, store=store).run_id
    seesaw = examples.load("seesaw-2021")
    runs["crisis"] = save_crisis(store, run_hypotheses(seesaw, hypotheses=["article", "combined"], runs=24, seed=4,
                                                       with_counterfactuals=False), scenario=seesaw)
    runs["crisis2"] = save_crisis(store, run_hypotheses(seesaw, hypotheses=["article", "combined"], runs=24, seed=5,
                                                        with_counterfactuals=False), scenario=seesaw)
    from detente.experiments.crisis_sensitivity import crisis_sensitivity

    crisis_sensitivity(load(FIX / "crisis" / "toy-sobol.yaml"), method="sobol", n=16, outputs=["p_war_horizon"],
                       runs_per_point=40, tornado_runs=200, seed=3, store=store)
    runs["crisis_sensitivity"] = store.list(kind="crisis_sensitivity")[0].run_id
    with serve(tmp) as base, browser_page(playwright_api) as page:
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        yield base, page, runs, errors


def svg_text(page, sel: str) -> str:
    """The text of an SVG part of a chart (inner_text reads HTML elements only)."""
    return page.locator(sel).first.text_content() or ""


def _visit(site, path: str, name: str, charts: tuple[str, ...] = ()) -> object:
    base, page, _runs, errors = site
    page.goto(base + path)
    for sel in charts:
        page.wait_for_selector(f"{sel} .main-svg", timeout=20_000)
    shot(page, f"page-{name}")
    assert not errors, errors
    return page


def test_pages_without_charts(site):
    _visit(site, "/", "library").wait_for_selector("#library")
    _visit(site, "/upload", "upload")
    p = _visit(site, "/runs", "runs")
    created = p.inner_text("#runs")
    assert "UTC" in created and not any(c == "." for c in created.split("UTC")[0][-8:])   # to the second
    _visit(site, "/scenario/examples/ec_emission", "scenario-ec-emission").wait_for_selector("#sweep-card")
    _visit(site, "/scenario/examples/seesaw-2021", "scenario-seesaw").wait_for_selector("#crisis-card")
    base, page, _runs, _errors = site
    page.goto(base + "/runs/nosuchrun")
    shot(page, "page-error")
    # /api/docs is FastAPI's Swagger page, whose script comes from a CDN this closed network
    # does not reach: not drawn here (the API itself is tested in test_web_api.py)


def test_model_run_pages(site):
    runs = site[2]
    p = _visit(site, f"/runs/{runs['bdm']}", "run-bdm", ("#chart-forecast", "#chart-trajectory-emission",
                                                        "#chart-perception-emission"))
    # the forecast chart marks the bounds, every actor and the forecast; the legend names mean and median
    legend = svg_text(p, "#chart-forecast .legend")
    assert "issue bounds" in legend and "UK" in legend and "bdm" in legend
    traj = svg_text(p, "#chart-trajectory-emission .legend")
    assert "weighted mean" in traj and "weighted median" in traj
    p.select_option("select.perception-actor", "UK")
    n_all = p.locator("#chart-perception-emission .scatterlayer .point").count()
    assert 0 < n_all < 90   # one actor's perspective: 9 of the 90 ordered pairs
    _visit(site, f"/runs/{runs['compromise']}", "run-compromise", ("#chart-forecast",))
    _visit(site, f"/runs/{runs['exchange']}", "run-exchange", ("#chart-exchange-network",))
    _visit(site, f"/runs/{runs['sweep']}", "run-sweep", ("#chart-distribution-emission", "#chart-fan-emission"))
    _visit(site, f"/runs/{runs['sobol']}", "run-sobol", ("#chart-indices-emission", "#chart-tornado-emission"))
    p = _visit(site, f"/compare?ids={runs['bdm']},{runs['compromise']}", "compare", ("#chart-compare",))
    assert "issue bounds" in svg_text(p, "#chart-compare .legend")


def test_crisis_pages(site):
    runs = site[2]
    p = _visit(site, f"/runs/{runs['crisis']}", "run-crisis", ("#chart-p-war", "#chart-hazard", "#chart-triangle"))
    tri = svg_text(p, "#chart-triangle .legend")
    assert "isolated" in tri or "courted" in tri or "friendly" in tri or "hostile" in tri
    assert "marriage_" not in tri and "romantic_" not in tri          # technical names stay in the tooltip
    assert "10 %" not in svg_text(p, "#chart-hazard .legend")        # no per-run quantile band
    p.select_option("#crisis-hypothesis", "combined")
    assert "combined" in svg_text(p, "#chart-hazard .gtitle")
    _visit(site, f"/compare?ids={runs['crisis']},{runs['crisis2']}", "compare-crisis", ("#chart-compare-crisis",))
    p = _visit(site, f"/runs/{runs['crisis_sensitivity']}", "run-crisis-sensitivity",
               ("#chart-indices-p-war-horizon", "#chart-tornado-p-war-horizon"))
    # a crisis output in words with its unit, not an issue scale
    assert svg_text(p, "#chart-tornado-p-war-horizon .xtitle") == "P(any war within the horizon) (probability)"
