"""``Scenario._repr_html_``: what Jupyter shows for a scenario."""

from __future__ import annotations

from html.parser import HTMLParser

from detente import Actor, Issue, Scenario, Stance


class Cells(HTMLParser):
    """Rows of table cells (th and td) as text."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "br" and self._cell is not None:
            self._cell.append(" ")

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def scenario() -> Scenario:
    return Scenario(
        name="A <b>test</b>", description="two & two",
        actors=[Actor(id="US", name="United States", capability=3), Actor(id="RU", capability=2.5)],
        issues=[Issue(id="x", name="tariff", lower=0, upper=10, status_quo=4), Issue(id="y")],
        stances=[Stance(actor="US", issue="x", position=2, salience=80),
                 Stance(actor="RU", issue="x", position=9.5, salience=40, capability=7),
                 Stance(actor="US", issue="y", position=60, salience=10)])


def test_repr_html_shows_counts_scales_and_every_stance():
    html = scenario()._repr_html_()
    assert "<b>A &lt;b&gt;test&lt;/b&gt;</b>: 2 actors, 2 issues, 3 stances" in html   # escaped name
    assert "<p>two &amp; two</p>" in html
    p = Cells()
    p.feed(html)
    assert p.rows == [
        ["actor", "capability", "tariff 0–10, status quo 4", "y 0–100"],
        ["United States", "3", "2 (salience 80)", "60 (salience 10)"],
        ["RU", "2.5", "9.5 (salience 40, capability 7)", ""],            # RU has no stance on y
    ]
    assert "salience on the 0–100 scale" in html and "not shown" not in html


def test_repr_html_caps_large_scenarios_and_says_so(monkeypatch):
    monkeypatch.setattr(Scenario, "HTML_MAX_ACTORS", 1)
    monkeypatch.setattr(Scenario, "HTML_MAX_ISSUES", 1)
    html = scenario()._repr_html_()
    p = Cells()
    p.feed(html)
    assert [r[0] for r in p.rows] == ["actor", "United States"] and len(p.rows[0]) == 3
    assert "1 more actors, 1 more issues not shown" in html


def test_repr_html_of_a_crisis_scenario_says_so():
    from detente import examples

    html = examples.load("seesaw-2021")._repr_html_()
    assert "crisis dynamics" in html and html.startswith("<div") and html.endswith("</div>")
