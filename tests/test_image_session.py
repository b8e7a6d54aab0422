"""Static images of a report go through one browser (detente.plotting.export.ImageSession).

Fast tests replace kaleido's browser with a recorder (what is opened, which batches are sent);
the slow ones use the real Chromium and check that the bytes are those of plotly's own export."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import ClassVar

import pytest

import detente.plotting.export as X
from detente.plotting import figures as F

TOY = Path(__file__).parent / "fixtures" / "crisis" / "toy-crisis.yaml"

SENS = {"method": "sobol", "factors": ["a", "b"], "points": 8, "sample_size": 4,
        "indices": {"p": [{"factor": "a", "S1": 0.5, "S1_conf": 0.1, "ST": 0.6, "ST_conf": 0.1}],
                    "q": [{"factor": "b", "S1": 0.2, "S1_conf": 0.1, "ST": 0.3, "ST_conf": 0.1}]},
        "tornado": {"p": [{"factor": "a", "output_low": 0.1, "output_high": 0.3}],
                    "q": [{"factor": "b", "output_low": 1.0, "output_high": 2.0}]},
        "baseline": {"p": 0.2, "q": 1.5}, "hypothesis": "live"}


class FakeKaleido:
    """Stands for kaleido.Kaleido: records every browser opened and every batch, writes each
    figure's title to its path."""

    opened: ClassVar[list[FakeKaleido]] = []
    fail_open: ClassVar[Exception | None] = None

    def __init__(self, **kopts):
        self.kopts, self.batches, self.closed = kopts, [], False

    async def open(self):
        if FakeKaleido.fail_open:
            raise FakeKaleido.fail_open
        FakeKaleido.opened.append(self)

    async def write_fig_from_object(self, specs, cancel_on_error=False):
        assert cancel_on_error   # a figure that fails must raise, not be dropped silently
        self.batches.append([Path(s["path"]).name for s in specs])
        for s in specs:
            await asyncio.sleep(0)
            Path(s["path"]).write_text(str(s["fig"]["layout"].get("title", {}).get("text")))

    async def close(self):
        self.closed = True


@pytest.fixture
def fake(monkeypatch):
    import kaleido

    FakeKaleido.opened, FakeKaleido.fail_open = [], None
    monkeypatch.setattr(kaleido, "Kaleido", FakeKaleido)
    monkeypatch.setattr(X, "static_export_problem", lambda: None)
    return FakeKaleido


def _figs(n: int) -> list:
    return [F.crisis_agreement_figure(f"h{i}", {"SSD": {"2022-01-31": 0.1 * (i + 1), "2022-02-28": 0.2}})
            for i in range(n)]


def test_a_session_opens_one_browser_for_every_batch(tmp_path, fake):
    figs = _figs(3)
    with X.ImageSession() as s:
        assert X.write_images({tmp_path / f"a{i}.png": f for i, f in enumerate(figs)}, session=s) is None
        assert X.write_images({tmp_path / "b.svg": figs[0]}, session=s) is None
        assert X.write_images({}, session=s) is None          # nothing to write: no batch
    assert len(fake.opened) == 1 and fake.opened[0].closed
    assert fake.opened[0].batches == [["a0.png", "a1.png", "a2.png"], ["b.svg"]] and s.batches == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a0.png", "a1.png", "a2.png", "b.svg"]


def test_write_images_without_a_session_uses_one_browser_per_call(tmp_path, fake):
    assert X.write_images({tmp_path / f"a{i}.png": f for i, f in enumerate(_figs(4))}) is None
    assert len(fake.opened) == 1 and fake.opened[0].closed and len(fake.opened[0].batches[0]) == 4


def test_a_browser_that_fails_to_start_is_reported_and_leaves_no_file(tmp_path, fake):
    fake.fail_open = RuntimeError("chromium crashed\nstack ...")
    with X.ImageSession() as s:
        why = X.write_images({tmp_path / "a.png": _figs(1)[0]}, session=s)
    assert why == "static image export failed: RuntimeError: chromium crashed"
    assert not list(tmp_path.iterdir())


def test_no_browser_no_thread(tmp_path, monkeypatch):
    monkeypatch.setattr(X, "static_export_problem", lambda: "no Chrome/Chromium found for kaleido")
    with X.ImageSession() as s:
        assert s.write({tmp_path / "a.png": _figs(1)[0]}) == "no Chrome/Chromium found for kaleido"
        assert s._thread is None
    assert not list(tmp_path.iterdir())


def _toy_obj():
    from detente.crisis.analysis import run_hypotheses
    from detente.formats import load

    return run_hypotheses(load(TOY), hypotheses=["live"], runs=50, seed=5, mechanisms="none")


def test_the_crisis_report_writes_figures_and_tornados_through_one_browser(tmp_path, fake):
    from detente.report.crisis import write_report

    obj = _toy_obj()
    obj["sensitivity"] = SENS
    md = write_report(obj, tmp_path).read_text(encoding="utf-8")
    assert len(fake.opened) == 1 and fake.opened[0].closed
    crisis_batch, tornado_batch = fake.opened[0].batches
    assert tornado_batch == ["toy-crisis-sensitivity-p.png", "toy-crisis-sensitivity-q.png"]
    assert crisis_batch and all(n.startswith("toy-crisis-") for n in crisis_batch)
    for n in crisis_batch + tornado_batch:   # every image written is linked from the report
        assert (tmp_path / n).is_file() and f"]({n})" in md


def test_crisis_run_starts_the_browser_before_the_analysis(tmp_path, fake, monkeypatch):
    """`detente run` starts the report's browser before the engine runs (so it starts while the
    engine works) and writes every figure through it."""
    from detente.cli.crisis_run import crisis_run
    from detente.crisis import analysis

    events: list[str] = []
    start, run = X.ImageSession.start, analysis.run_hypotheses

    def started(self):
        events.append("browser")
        return start(self)

    def analysed(*a, **k):
        events.append("analysis")
        return run(*a, **k)

    monkeypatch.setattr(X.ImageSession, "start", started)
    monkeypatch.setattr(analysis, "run_hypotheses", analysed)
    _, rep = crisis_run(str(TOY), hypotheses=["live"], runs=20, seed=3, out_dir=tmp_path, mechanisms="none")
    assert events[:2] == ["browser", "analysis"]
    assert len(fake.opened) == 1 and fake.opened[0].closed and len(fake.opened[0].batches) == 1
    assert all(f"]({n})" in rep.read_text(encoding="utf-8") for n in fake.opened[0].batches[0])


@pytest.mark.slow
def test_one_batch_gives_the_bytes_of_plotly_export_and_of_one_by_one(tmp_path):
    """Real browser: the session's batch writes the same bytes as plotly.io.write_images (the
    export used before) and as writing the figures one at a time."""
    why = X.static_export_problem()
    if why:
        pytest.skip(why)
    import plotly.io as pio

    figs = _figs(3)
    names = [f"f{i}.png" for i in range(3)]
    for d in ("batch", "single", "plotly"):
        (tmp_path / d).mkdir()
    with X.ImageSession() as s:
        assert X.write_images({tmp_path / "batch" / n: f for n, f in zip(names, figs)}, session=s) is None
        for n, f in zip(names, figs):
            assert X.write_images({tmp_path / "single" / n: f}, session=s) is None
        assert s.batches == 4
    pages = [X._for_page(f, 1000) for f in figs]
    pio.write_images(pages, [tmp_path / "plotly" / n for n in names], scale=1.5, width=1000,
                     height=[p.layout.height or pio.defaults.default_height for p in pages])
    for n, p in zip(names, pages):
        ref = (tmp_path / "plotly" / n).read_bytes()
        assert ref[:8] == b"\x89PNG\r\n\x1a\n"
        assert (tmp_path / "batch" / n).read_bytes() == ref and (tmp_path / "single" / n).read_bytes() == ref
        # the image is as tall as the page copy's layout (legend rows included), at scale 1.5
        w, h = int.from_bytes(ref[16:20], "big"), int.from_bytes(ref[20:24], "big")
        assert (w, h) == (1500, round(1.5 * (p.layout.height or pio.defaults.default_height)))


def test_each_image_keeps_its_own_height():
    """kaleido's height overrides the layout's: a figure with a legend under it gets the taller
    height of its page copy, one without a legend or height plotly's default (500 px)."""
    import plotly.graph_objects as go
    import plotly.io as pio

    legend = go.Figure([go.Scatter(x=[0, 1], y=[0, 1], name=f"actor {i}") for i in range(12)])
    bare = go.Figure([go.Scatter(x=[0, 1], y=[0, 1], showlegend=False)], layout=dict(showlegend=False))
    tall = go.Figure([go.Scatter(x=[0, 1], y=[0, 1], showlegend=False)], layout=dict(height=640, showlegend=False))
    specs = X._specs({"a.png": legend, "b.png": bare, "c.png": tall}, 1.5, 1000)
    # 12 names of up to 8 characters: 1000 // max(120, 7.5·8 + 40) = 8 per row, 2 rows; 450 + 22·2 + 10
    assert [s["opts"]["height"] for s in specs] == [504, pio.defaults.default_height, 640]


@pytest.mark.slow  # ~6 s: interpreter and browser start-up, then a kill
def test_a_killed_run_leaves_no_browser(tmp_path):
    """`detente run` keeps its browser open while the engine runs: killing the command then
    (SIGKILL, no clean-up) must not leave Chromium behind (it exits when its pipe closes)."""
    why = X.static_export_problem()
    if why:
        pytest.skip(why)
    from test_executor_orphans import _kill_when_busy

    script = ("from detente.cli.crisis_run import crisis_run\n"
              "crisis_run('seesaw-2021', hypotheses=['combined'], runs=2_000_000, out_dir='rep', executor='serial')\n")
    _kill_when_busy(tmp_path, script, 4)   # serial: the only processes under the run are the browser's


class QueueTab:
    """A kaleido tab: a page that is fresh after loading and dirty after a figure."""

    def __init__(self, reload_s):
        self.fresh, self.reloads, self.reload_s = True, 0, reload_s   # fresh: opened with the page loaded

    async def reload(self):
        delay = self.reload_s.pop(0) if self.reload_s else 0.0
        if isinstance(delay, Exception):
            raise delay
        await asyncio.sleep(delay)
        self.fresh = True
        self.reloads += 1


class QueueKaleido:
    """Stands for kaleido.Kaleido with its tab queue: each figure takes a tab from the queue, must
    find its page fresh (kaleido's rule: one figure per loaded page) and gives the tab back
    through ``_return_kaleido_tab``, which reloads it first."""

    made: ClassVar[list[QueueKaleido]] = []
    reload_s: ClassVar[list] = []

    def __init__(self, **kopts):
        self.tabs_ready, self.rendered, self.closed = asyncio.Queue(), [], False
        self.tab = QueueTab(list(QueueKaleido.reload_s))
        QueueKaleido.made.append(self)

    async def open(self):
        await self.tabs_ready.put(self.tab)

    async def _get_kaleido_tab(self):
        return await self.tabs_ready.get()

    async def _return_kaleido_tab(self, tab):
        await tab.reload()
        await self.tabs_ready.put(tab)

    async def write_fig_from_object(self, specs, cancel_on_error=False):
        async def one(spec):
            Path(spec["path"]).touch()
            tab = await self._get_kaleido_tab()
            try:
                if not tab.fresh:
                    raise AssertionError("a figure rendered on a page that already drew one")
                tab.fresh = False
                self.rendered.append(Path(spec["path"]).name)
                Path(spec["path"]).write_text("png")
            finally:
                await self._return_kaleido_tab(tab)

        await asyncio.gather(*(one(s) for s in specs))

    async def close(self):
        self.closed = True


@pytest.fixture
def queued(monkeypatch):
    import kaleido

    QueueKaleido.made, QueueKaleido.reload_s = [], []
    monkeypatch.setattr(kaleido, "Kaleido", QueueKaleido)
    monkeypatch.setattr(X, "static_export_problem", lambda: None)
    return QueueKaleido


def test_the_session_warms_each_tab_and_does_not_wait_for_the_last_reload(tmp_path, queued):
    """The tab is reloaded once as the browser opens (the slow second load of the page, while the
    engine runs); every figure still gets a freshly loaded page; the batch returns before the
    reload that follows its last figure, and closing stops that reload."""
    queued.reload_s = [0.0, 0.0, 0.0, 60.0]   # warm-up, after figures 1 and 2, after figure 3 (never waited for)
    figs = _figs(3)
    s = X.ImageSession().start()
    k = s._opened.result()
    assert k.tab.reloads == 1 and k.tab.fresh            # warmed: reloaded once, before any figure
    assert s.write({tmp_path / f"a{i}.png": f for i, f in enumerate(figs)}) is None
    assert k.rendered == ["a0.png", "a1.png", "a2.png"] and k.tab.reloads == 3
    assert len(k._reloads) == 1                          # the reload after the last figure still runs
    s.close()                                            # and closing does not wait a minute for it
    assert k.closed and not k._reloads
    assert sorted(p.read_text() for p in tmp_path.iterdir()) == ["png"] * 3


def test_a_reload_that_fails_fails_the_next_figure_and_leaves_no_file(tmp_path, queued):
    queued.reload_s = [0.0, RuntimeError("renderer crashed")]
    with X.ImageSession() as s:
        assert s.write({tmp_path / "a.png": _figs(1)[0]}) is None
        why = s.write({tmp_path / "b.png": _figs(1)[0]})
    assert why == "static image export failed: RuntimeError: renderer crashed"
    assert [p.name for p in tmp_path.iterdir()] == ["a.png"]


def test_the_session_uses_a_kaleido_without_a_tab_queue_as_it_is(tmp_path, fake):
    with X.ImageSession() as s:
        k = s._opened.result()
        assert isinstance(k, FakeKaleido) and not k._queued()
        assert s.write({tmp_path / "a.png": _figs(1)[0]}) is None
    assert fake.opened[0].batches == [["a.png"]] and fake.opened[0].closed


class SlowCloseKaleido(FakeKaleido):
    """FakeKaleido whose closing waits until ``proceed`` is set (or 5 s), recording when it ends."""

    events: ClassVar[list[str]] = []
    proceed: ClassVar[object] = None

    async def close(self):
        SlowCloseKaleido.events.append("close started")
        await asyncio.to_thread(SlowCloseKaleido.proceed.wait, 5)
        SlowCloseKaleido.events.append("close ended")
        self.closed = True


@pytest.fixture
def slow_close(monkeypatch):
    import threading

    import kaleido

    FakeKaleido.opened, FakeKaleido.fail_open = [], None
    SlowCloseKaleido.events, SlowCloseKaleido.proceed = [], threading.Event()
    monkeypatch.setattr(kaleido, "Kaleido", SlowCloseKaleido)
    monkeypatch.setattr(X, "static_export_problem", lambda: None)
    return SlowCloseKaleido


def test_close_without_waiting_then_close_waits(tmp_path, slow_close):
    s = X.ImageSession().start()
    assert s.write({tmp_path / "a.png": _figs(1)[0]}) is None
    s.close(wait=False)                                   # returns while the browser is still closing
    assert "close ended" not in slow_close.events and s._thread is not None
    assert s.write({tmp_path / "b.png": _figs(1)[0]}) == "static image export failed: the browser session is closing"
    slow_close.proceed.set()
    s.close()                                             # waits for it and ends the thread
    assert slow_close.events == ["close started", "close ended"] and s._thread is None
    assert FakeKaleido.opened[0].closed and [p.name for p in tmp_path.iterdir()] == ["a.png"]


def test_detente_run_writes_the_html_report_while_the_browser_closes(tmp_path, slow_close, monkeypatch, capsys):
    """`detente run` writes its HTML report (no browser needed) while the report's browser shuts
    down, and returns only once it has shut down."""
    from detente.cli.crisis import _crisis_run
    from detente.report import html

    write = html.write_report

    def writing_html(*a, **k):
        slow_close.events.append("html written")
        slow_close.proceed.set()                          # the browser may finish closing now
        return write(*a, **k)

    monkeypatch.setattr(html, "write_report", writing_html)
    _crisis_run(str(TOY), hypothesis=["live"], runs=20, seed=3, as_json=True, out_dir=tmp_path, sets=[],
                mechanisms="none")
    assert slow_close.events[-2:] == ["html written", "close ended"]   # closing overlapped the HTML report
    assert len(FakeKaleido.opened) == 1 and FakeKaleido.opened[0].closed and len(FakeKaleido.opened[0].batches) == 1
    out = capsys.readouterr().out
    assert '"html"' in out and (tmp_path / "toy-crisis.html").is_file() and (tmp_path / "toy-crisis.md").is_file()
