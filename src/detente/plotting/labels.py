"""Plain-language labels for model jargon shown on charts; the technical name stays in the
hover text (a chart's tooltip) so an analyst can still find it in the JSON.

Examples
--------
>>> triangle_label("marriage_US_outcast", ["US", "RU", "CN"])
'RU and CN aligned, US isolated'
>>> triangle_label("romantic_US_pivot", ["US", "RU", "CN"])
'US courted by both (RU and CN at odds)'
>>> triangle_label("menage", None)
'all three friendly'
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = ["triangle_label", "with_code"]


def triangle_label(name: str, actors: Sequence[str] | None) -> str:
    """Short words for a strategic-triangle configuration (Dittmer 1981): ``menage``,
    ``romantic_X_pivot``, ``marriage_X_outcast``, ``unit_veto``; other names are returned as is."""
    if name == "menage":
        return "all three friendly"
    if name == "unit_veto":
        return "all three hostile"
    for kind in ("romantic", "marriage"):
        suffix = "_pivot" if kind == "romantic" else "_outcast"
        if name.startswith(kind + "_") and name.endswith(suffix):
            x = name[len(kind) + 1: -len(suffix)]
            others = [a for a in (actors or []) if a != x]
            o = " and ".join(others[:2]) if len(others) >= 2 else "the other two"
            return f"{x} courted by both ({o} at odds)" if kind == "romantic" else f"{o} aligned, {x} isolated"
    return name


def with_code(label: Any, code: Any) -> str:
    """``label`` followed by the technical name in brackets when they differ (hover text)."""
    label, code = str(label), str(code)
    return label if label == code else f"{label} [{code}]"
