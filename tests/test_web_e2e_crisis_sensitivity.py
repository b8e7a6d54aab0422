"""A crisis sensitivity study run from a real browser (Playwright driving Debian's chromium): on
the `seesaw-2021` crisis page, tick two assumptions to vary, choose a hypothesis and a small Sobol
sample, run, see the indices with their intervals and the tornado as charts, open the stored run's
page (indices table with intervals, tornado table) and the same study refused when it is too
large. Screenshots go to ``test-artifacts/web/``."""

from __future__ import annotations

import pytest

from browser_helpers import browser_page, require_browser, serve, shot

pytestmark = [pytest.mark.browser, pytest.mark.slow]   # one small study of the flagship (about 20 s)

playwright_api = require_browser()

DRIFT = "dyads[RU-UA].beliefs.0.drift_m"
EXPONENT = "dyads[RU-UA].exponent"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("websens")
    with serve(tmp) as base:
        yield base, tmp


def test_crisis_sensitivity_from_the_browser(server):
    base, tmp = server
    errors: list[str] = []
    with browser_page(playwright_api) as page:
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(f"{base}/scenario/examples/seesaw-2021")
        page.wait_for_selector("#crisis-sens-card")
        assert "every assumption with a range varies" in page.inner_text("#sens-count")

        # a study over every assumption at a large sample is refused before it starts, with its cost
        page.fill("#sens-n", "4096")
        page.click("#sens-button")
        page.wait_for_selector("#sens-problems li")
        assert "engine runs" in page.inner_text("#sens-problems") and "at most" in page.inner_text("#sens-problems")

        # tick two numbers to vary, one output, a hypothesis, a small sample
        page.fill("#assumption-search", "RU-UA")
        for path in (DRIFT, EXPONENT):
            page.check(f"input.sens-vary[value='{path}']")
        assert page.inner_text("#sens-count") == "2 numbers to vary"
        page.uncheck("input.sens-output[value='months_of_peace_focal']")
        page.select_option("#sens-hypothesis", "combined")
        page.fill("#sens-n", "16")
        page.fill("#sens-runs", "16")
        page.fill("#sens-tornado-runs", "200")
        page.fill("#sens-seed", "7")
        shot(page, "crisis-sens-01-form")
        page.click("#sens-button")
        page.wait_for_selector("#sens-result-link", timeout=180_000)
        assert page.inner_text("#sens-status") == "done"
        page.wait_for_selector("#chart-indices-p-war-by-end .main-svg", timeout=30_000)
        page.wait_for_selector("#chart-tornado-p-war-by-end .main-svg", timeout=30_000)
        assert "too small" in page.inner_text("#sensitivity-warnings")   # N = 16: the warning beside the charts
        page.locator("#sens-charts").scroll_into_view_if_needed()
        shot(page, "crisis-sens-02-charts")

        # the stored run's page: indices with their intervals, the tornado table, the warnings
        page.click("#sens-result-link")
        page.wait_for_selector("#sens-indices-0")
        txt = page.inner_text("#sens-indices-0")
        assert DRIFT in txt and EXPONENT in txt and "ST interval" in txt
        assert "combined" in page.inner_text("#sens-settings") and "N = 16" in page.inner_text("#sens-settings")
        page.wait_for_selector("#chart-extra .main-svg", timeout=30_000)
        shown = [li.inner_text() for li in page.locator("#sens-warnings li").all()]
        assert page.locator("#sensitivity-warnings").count() == 0
        shot(page, "crisis-sens-03-run-page")
    assert not errors, errors
    from detente.experiments.crisis_sensitivity import load_crisis_sensitivity
    from detente.store import Store

    (info,) = Store(tmp / "store").list(kind="crisis_sensitivity")
    # the run page lists exactly the study's warnings (how many depends on the indices drawn at N = 16)
    warnings = load_crisis_sensitivity(Store(tmp / "store"), info.run_id)["warnings"]
    assert warnings and [" ".join(x.split()) for x in shown] == [" ".join(f"warning: {w}".split()) for w in warnings]
    assert info.status == "done" and info.meta["request"]["hypothesis"] == "combined"
