"""The analyst's workbench in a real browser (Playwright driving Debian's chromium): pick a
hypothesis, change an assumption, switch on a mechanism's map, run with few runs, see the Monte
Carlo bands and the back-test, claims and mechanism tables, open the what-if form, run again and
compare the two crisis runs; run a Monte Carlo sweep and a Sobol study of a negotiation. Screenshots
go to ``test-artifacts/web/``.

Uses the bundled ``seesaw-2021`` (it has a record, so a back-test) with 24 runs of one hypothesis.
"""

from __future__ import annotations

import pytest

from browser_helpers import browser_page, require_browser, serve, shot

pytestmark = [pytest.mark.browser, pytest.mark.slow]   # about 30 s: four crisis jobs and five pages

playwright_api = require_browser()

PATH = "flashpoints[UA].base_hazard_m"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("webcrisis")
    with serve(tmp) as base:
        yield base, tmp


@pytest.fixture(scope="module")
def page(server):
    with browser_page(playwright_api) as pg:
        yield pg


def _only_hypothesis(page, name: str) -> None:
    for box in page.locator("input.crisis-hyp").all():
        if box.get_attribute("value") == name:
            box.check()
        else:
            box.uncheck()


def _run(page) -> str:
    page.click("#crisis-button")
    page.wait_for_selector("#crisis-result-link", timeout=120_000)
    assert page.locator("#crisis-status").inner_text() == "done"
    return page.get_attribute("#crisis-result-link", "href").rsplit("/", 1)[1]


def test_crisis_workbench_journey(server, page):
    base, _tmp = server
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{base}/scenario/examples/seesaw-2021")
    page.wait_for_selector("#crisis-card")

    # pick a hypothesis, switch on a mechanism's map, search for an assumption and change it
    _only_hypothesis(page, "article")
    page.check("input.crisis-mech[value='seesaw']")
    page.fill("#assumption-search", "UA].base_hazard")
    assert page.locator("#assumptions tr.assumption:visible").count() == 1
    row = page.locator(f"#assumptions tr[data-path='{PATH}']")
    assert "0.000937" in row.inner_text() and "0.003556" in row.inner_text()   # its range
    inp = row.locator("input.set-value")
    assert inp.input_value() == "0.00206743"   # pre-filled with its value
    page.fill("#crisis-runs", "24")
    page.fill("#crisis-seed", "5")

    # a value the CLI refuses (a negative hazard) is refused with the CLI's message, under the form
    inp.fill("-1")
    page.click("#crisis-button")
    page.wait_for_selector("#crisis-problems li")
    assert page.locator("#crisis-problems li").first.inner_text().startswith("(--set)")
    shot(page, "crisis-01-set-refused")

    inp.fill("0.003")
    assert "changed" in (row.get_attribute("class") or "")
    first = _run(page)
    page.wait_for_selector("#chart-p-war .main-svg", timeout=15_000)
    assert "±2 SE" in page.inner_text("#crisis-bands-note")
    # the band of P(war by date): two filled traces under the line of the one hypothesis
    assert page.locator("#chart-p-war .scatterlayer .trace").count() == 3
    shot(page, "crisis-02-run-with-bands")

    # the run page: the --set item, back-test, claims and mechanism tables, charts with bands
    page.goto(f"{base}/runs/{first}")
    assert f"{PATH}=0.003" in page.inner_text("#crisis-sets")
    lt = page.inner_text("#likelihood-table")
    assert "article" in lt and "verdict" in lt
    assert "seesaw" in page.inner_text("#mechanism-table")
    assert page.locator("#claims .claim").count() >= 1
    page.wait_for_selector("#chart-hazard .main-svg", timeout=15_000)
    assert page.locator("#chart-triangle .main-svg").count() >= 1
    shot(page, "crisis-03-result-page")

    # what-if: the form opens pre-filled with that run's settings; change the value and run again
    page.click("#whatif-link")
    page.wait_for_selector("#crisis-prefill")
    assert page.locator(f"#assumptions tr[data-path='{PATH}'] input.set-value").input_value() == "0.003"
    assert page.input_value("#crisis-runs") == "24" and page.input_value("#crisis-seed") == "5"
    assert page.is_checked("input.crisis-hyp[value='article']")
    assert not page.is_checked("input.crisis-hyp[value='combined']")
    assert page.is_checked("input.crisis-mech[value='seesaw']")
    page.uncheck("input.crisis-mech[value='seesaw']")
    page.fill(f"#assumptions tr[data-path='{PATH}'] input.set-value", "0.001")
    shot(page, "crisis-04-whatif-form")
    second = _run(page)
    assert second != first

    # compare the two crisis runs from the runs page
    page.goto(f"{base}/runs")
    page.check(f"input.cmp[value='{first}']")
    page.check(f"input.cmp[value='{second}']")
    page.click("#compare-form button[type=submit]")
    page.wait_for_selector("#compare-crisis")
    text = page.inner_text("#compare-crisis")
    assert "months_of_peace_focal" in text and "B − A" in text
    page.wait_for_selector("#chart-compare-crisis .main-svg", timeout=15_000)
    shot(page, "crisis-05-compare")
    assert not errors, errors


def test_sweep_and_sensitivity_from_the_browser(server, page):
    """Negotiation workbench: a Monte Carlo sweep and a Sobol study of `compromise` on
    ec_emission from the scenario page, with their charts; a bad --vary item is refused."""
    base, _tmp = server
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{base}/scenario/examples/ec_emission")
    page.wait_for_selector("#sweep-card")
    page.select_option("#sweep-model", "compromise")

    page.fill("#sweep-vary", "salience=+-")
    page.click("#sweep-button")
    page.wait_for_selector("#sweep-problems li")
    assert "--vary 'salience=+-'" in page.inner_text("#sweep-problems")

    page.fill("#sweep-vary", "salience=+-10\nposition[Germany]=+-5")
    page.fill("#sweep-runs", "40")
    page.click("#sweep-button")
    page.wait_for_selector("#sweep-result-link", timeout=60_000)
    page.wait_for_selector("#chart-distribution-emission .main-svg", timeout=15_000)
    assert page.locator("#sweep-status").inner_text() == "done"
    shot(page, "sweep-01-montecarlo")

    page.select_option("#sweep-design", "sobol")
    assert page.inner_text("#sweep-button") == "Run sensitivity"
    page.fill("#sweep-n", "8")
    page.click("#sweep-button")
    page.wait_for_function("document.getElementById('sweep-status').textContent === 'done'", timeout=60_000)
    page.wait_for_selector("#chart-indices-emission .main-svg", timeout=15_000)
    assert page.locator("#chart-tornado-emission .main-svg").count() >= 1
    assert "too small" in page.inner_text("#sensitivity-warnings")   # n = 8: far too few samples
    shot(page, "sweep-02-sobol")
    assert not errors, errors
