"""Plain words for the crisis engine's output names, shared by the markdown report
(:mod:`detente.report.crisis`), the figures (:mod:`detente.report.figures`) and the web. A module
of its own, importing nothing, so that neither of those imports the other."""

from __future__ import annotations

from typing import Any

__all__ = ["output_label"]


def output_label(name: str, focal: str = "the focal actor", end: str = "the back-test end", horizon: Any = None) -> str:
    """Plain words for an output name of the mechanism map (see ``crisis.analysis.output_samples``)."""
    hz = f"{horizon} months" if horizon else "the horizon"
    if name == "p_war_by_end":
        return f"P(any war by {end})"
    if name == "p_war_horizon":
        return f"P(any war within {hz})"
    if name == "p_no_focal_war_horizon":
        return f"P(no war involving {focal} within {hz})"
    if name == "months_of_peace_focal":
        return f"months of peace for {focal} (of {hz})"
    if name == "p_split_horizon":
        return f"P(the triangle's partners split within {hz})"
    if name.startswith("p_first_war_by."):
        return f"P(first war started by {name.split('.', 1)[1].replace('+', ' or ')})"
    if name.startswith("p_first_war_at."):
        return f"P(first war at {name.split('.', 1)[1]})"
    if name.startswith("p_war_at."):
        fp, _, by = name.split(".", 1)[1].partition(".by.")
        return f"P(a war at {fp}" + (f" started by {by.replace('+', ' or ')}" if by else "") + f" within {hz})"
    return name
