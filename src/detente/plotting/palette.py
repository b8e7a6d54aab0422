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

#: Qualitative colours of high mutual contrast (after Kelly 1965, "Twenty-two colors of maximum
#: contrast", without its white, black and grey, kept for axes and summary lines, and without three
#: yellows and pinks too close to others of the list to tell apart on a small marker).
PALETTE: tuple[str, ...] = (
    "#0067A5", "#BE0032", "#008856", "#F38400", "#875692", "#F3C300", "#A1CAF1", "#C2B280",
    "#E68FAC", "#604E97", "#B3446C", "#882D17", "#8DB600", "#654522", "#E25822", "#2B3D26",
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
