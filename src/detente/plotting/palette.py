"""One colour per name, the same on every chart: an actor, a hypothesis, a flashpoint or a model
gets its colour from its *name*, not from its position in a legend, so Poland is drawn in the same
colour on the trajectory chart, the fan chart, the forecast chart and in ``.plot()``.

A name's home slot in :data:`PALETTE` is a stable hash of the name (CRC-32, the same in every
process, unlike Python's salted ``hash``). Two names of one set that share a home slot would share
a colour; :func:`colors` resolves that within the set it is given (the names in sorted order, each
taking the next free slot), so pass the *whole* set of names of a run (every actor of the
scenario) to get colours that agree across all its charts. Only when a set has more names than
the palette has colours do colours repeat.

Examples
--------
>>> c = colors(["Poland", "Germany", "France"])
>>> c["Poland"] == colors(["France", "Poland", "Germany"])["Poland"]
True
>>> len(set(c.values()))
3
>>> color("Poland") == colors(["Poland"])["Poland"]
True
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable

__all__ = ["PALETTE", "NEUTRAL", "MEAN_COLOR", "MEDIAN_COLOR", "FORECAST_COLOR", "QUADRANT_COLORS", "color", "colors"]

#: Qualitative colours that stay apart from one another on white, on a small marker and for the
#: common forms of colour blindness as far as twelve colours can (the widely used "category 10"
#: hues, plus a navy, a violet and a dark green); black and greys are kept for axes, bounds and
#: the mean/median lines. Colours repeat only in runs with more actors than this.
PALETTE: tuple[str, ...] = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b",
    "#e377c2", "#bcbd22", "#17becf", "#393b79", "#7b4173", "#637939",
)
#: Colour of things that are no one's (bounds, reference lines).
NEUTRAL = "#7f7f7f"
#: The weighted mean line (dashed) and the weighted median line (dotted) of a chart.
MEAN_COLOR = "#000000"
MEDIAN_COLOR = "#555555"
#: The forecast marker of forecast charts.
FORECAST_COLOR = "#000000"
#: Quadrants of the BDM perception chart (conflict hot, compromise cool, stalemate grey).
QUADRANT_COLORS = {
    "conflict": "#cc3311", "compromise": "#0077bb", "capitulation": "#009988",
    "compromise (other yields)": "#33bbee", "capitulation (other yields)": "#66ccaa",
    "stalemate": "#bbbbbb", "boundary": "#ee7733", "origin": "#000000",
}


def _home(name: str) -> int:
    return zlib.crc32(name.encode("utf-8")) % len(PALETTE)


def colors(names: Iterable[object]) -> dict[str, str]:
    """A colour for each of ``names`` (keys are ``str(name)``): the name's home slot, or the next
    free slot when an earlier name of the set (in sorted order) took it."""
    out: dict[str, str] = {}
    taken: set[int] = set()
    for name in sorted({str(n) for n in names}):
        if len(taken) == len(PALETTE):   # more names than colours: start a new round
            taken.clear()
        k = _home(name)
        while k in taken:
            k = (k + 1) % len(PALETTE)
        taken.add(k)
        out[name] = PALETTE[k]
    return out


def color(name: object, among: Iterable[object] | None = None) -> str:
    """The colour of ``name`` within the set ``among`` (default: the name alone, its home colour)."""
    pool = {str(name)} | ({str(n) for n in among} if among is not None else set())
    return colors(pool)[str(name)]
