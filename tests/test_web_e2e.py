"""End-to-end test of the web UI in a real browser (Playwright driving Debian's chromium).

Steps: open the library, load the flagship scenario, upload a KTAB CSV with an error and
see it at the right cell, fix it, run a model, see the chart, download the results.
Screenshots of each step go to ``test-artifacts/web/``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from browser_helpers import browser_page, require_browser, serve, shot

pytestmark = pytest.mark.browser
playwright_api = require_browser()

from detente import examples  # noqa: E402

FIX = Path(__file__).parent / "fixtures" / "web"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("web")
    with serve(tmp) as base:
        yield base, tmp


@pytest.fixture(scope="module")
def page(server):
    with browser_page(playwright_api) as pg:
        yield pg


def flagship() -> str:
    names = examples.names()
    return "seesaw-2021" if "seesaw-2021" in names else "ec_emission"


def test_full_journey(server, page, tmp_path):
    base, _tmp = server
    page.goto(base + "/")
    page.wait_for_selector("#library")
    shot(page, "01-library")

    page.click(f"text={flagship()}")
    page.wait_for_selector("#stance-table")
    assert page.locator("#stance-table tr").count() > 2
    shot(page, "02-flagship")

    # upload a KTAB CSV with a negative power on line 4
    page.goto(base + "/upload")
    page.set_input_files("#upload-file", str(FIX / "ktab_bad.csv"))
    page.click("#upload-submit")
    page.wait_for_selector("#problems")
    bad = page.locator("td.bad")
    assert bad.count() >= 1
    assert bad.first.get_attribute("data-row") == "4" and bad.first.get_attribute("data-col") == "3"
    assert bad.first.locator("input").input_value().strip() == "-50"
    shot(page, "03-upload-error")

    # fix the cell and resubmit: the scenario page opens
    bad.first.locator("input").fill("50")
    page.click("#fix-submit")
    page.wait_for_selector("#stance-table")
    assert "/scenario/library/ktab_bad.csv" in page.url
    shot(page, "04-fixed")

    # run a model in the background and see the chart
    page.select_option("#model", "compromise")
    page.click("#run-button")
    page.wait_for_selector("#result-link", timeout=30_000)
    page.wait_for_selector("#chart-forecast .main-svg", timeout=10_000)
    assert page.locator("#run-status").inner_text().startswith("done")
    shot(page, "05-run-chart")

    # download the results
    with page.expect_download() as dl:
        page.click("#download-csv")
    path = dl.value.path()
    text = Path(path).read_text()
    assert text.startswith("issue,round,actor,kind,value")
    assert "forecast" in text
    shot(page, "06-downloaded")


def test_chart_pages(server, page):
    """Run pages of a BDM run, an exchange run, a sweep and a crisis run draw their charts
    without JavaScript errors; the static HTML report downloads."""
    from detente.crisis.analysis import run_hypotheses
    from detente.experiments.runner import run_sweep
    from detente.experiments.sweep import SweepSpec
    from detente.formats import load
    from detente.models.registry import run_model
    from detente.report.stored import save_crisis
    from detente.store import Store

    base, tmp = server
    store = Store(tmp / "store")
    scn = examples.load("ec_emission")
    bdm = store.save(run_model(scn, "bdm", seed=0), scenario=scn)
    xs = load(Path(__file__).parent / "fixtures" / "exchange" / "exchange_4x2.csv")
    exch = store.save(run_model(xs, "exchange", seed=0), scenario=xs)
    sw = run_sweep(SweepSpec.model_validate(dict(
        name="e2e", scenario="example:ec_emission", model="bdm", seed=1, chunk_size=10, trace="positions", params={"rounds": 3},
        factors=[{"field": "salience", "actors": ["UK"], "dist": {"kind": "uniform", "low": -20, "high": 20}, "clip": [0, 100]}],
        design={"kind": "montecarlo", "runs": 10})), store=store).run_id
    crisis = save_crisis(store, run_hypotheses(examples.load("seesaw-2021"), hypotheses=["article"], runs=16,
                                               with_counterfactuals=False))
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))

    page.goto(f"{base}/runs/{bdm}")
    page.wait_for_selector("#chart-perception-emission .main-svg", timeout=15_000)
    page.select_option("select.perception-actor", "UK")
    shot(page, "07-bdm-perception")
    with page.expect_download() as dl:
        page.click("#dl-report")
    assert Path(dl.value.path()).read_text().startswith("<!doctype html>")

    page.goto(f"{base}/runs/{exch}")
    page.wait_for_selector("#chart-exchange-network .main-svg", timeout=15_000)
    shot(page, "08-exchange-network")

    page.goto(f"{base}/runs/{sw}")
    page.wait_for_selector("#chart-fan-emission .main-svg", timeout=15_000)
    assert page.locator("#chart-distribution-emission .main-svg").count() >= 1
    assert page.locator("#chart-tornado-emission .main-svg").count() >= 1
    shot(page, "09-sweep")

    page.goto(f"{base}/runs/{crisis}")
    page.wait_for_selector("#chart-triangle .main-svg", timeout=15_000)
    assert page.locator("#chart-p-war .main-svg").count() >= 1 and page.locator("#chart-hazard .main-svg").count() >= 1
    shot(page, "10-crisis")
    assert not errors, errors


def test_cancel_a_running_crisis_job_from_the_scenario_page(server, page):
    """The Cancel button shown while a job runs stops it; the runs page lists it as cancelled."""
    base, _tmp = server
    page.goto(f"{base}/scenario/examples/seesaw-2021")
    page.fill("#crisis-runs", "20000")
    page.click("#crisis-button")
    page.wait_for_function("document.getElementById('crisis-status').textContent.startsWith('running')", timeout=30_000)
    page.click("button.cancel-job")
    page.wait_for_function("document.getElementById('crisis-status').textContent === 'cancelled'", timeout=15_000)
    assert page.locator("button.cancel-job").count() == 0
    shot(page, "cancelled-crisis")
    page.goto(f"{base}/runs")
    assert "crisis on seesaw-2021 — cancelled" in page.inner_text("#jobs")
