"""Capability scale: every model reads capabilities through :func:`unit_capabilities`.

Capabilities are on any non-negative scale (votes, GDP in dollars, shares); the models only
use their ratios. Arithmetic on the raw numbers is still not scale-free in floating point:
``1e308 * 0.9 + 1e308 * 0.8`` overflows to ``inf`` (the compromise model then returned
``nan``), and ``1e-300``-sized weights fall below the absolute guards some models add (a
``1e-9`` voting margin, KTAB's ``1e-8`` coalition floor), so a common rescaling of the
capabilities changed forecasts (issue 13).

So every model divides the capabilities it uses by a power of two, ``2**e``, chosen so that
the largest one falls in ``[0.5, 1)`` (:func:`capability_exponent`). Dividing by a power of two
is exact in binary floating point (unless a value drops into the subnormal range, i.e. is
more than ~1e-308 times the largest one), so for a model whose formulas depend only on
capability ratios the result is *bit for bit* the one computed on the raw numbers, wherever
the raw computation did not overflow or underflow; and multiplying every capability by a
constant changes a forecast only by floating-point rounding (the product ``c * 10**k`` is
itself rounded). Models whose published reference uses absolute constants on the capability
scale (KTAB's SMP) say so in their own docs and keep a reference mode on the raw scale.

Examples
--------
>>> capability_exponent([3.0, 12.0, 0.0])
4
>>> unit_capabilities(np.array([3.0, 12.0])).tolist()
[0.1875, 0.75]
>>> bool(unit_capabilities(np.array([1e308, 5e307])).max() < 1.0)
True
>>> capability_exponent([0.0, 0.0])
0
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["capability_exponent", "unit_capabilities", "CAPABILITY_NOTE"]

#: The note a model adds to its result when it normalises capabilities.
CAPABILITY_NOTE = ("capabilities divided by the power of two just above their maximum internally "
                   "(exact; forecasts depend only on capability ratios)")


def capability_exponent(capability: Any, axis: int | None = None) -> Any:
    """The exponent ``e`` with ``max(capability) / 2**e`` in ``[0.5, 1)``.

    ``0`` when there is no positive finite capability (all zero or empty), so that zero
    weights stay zero and a model's own zero-weight rule applies. Non-finite values are not
    looked at (the scenario refuses them). With ``axis`` the maximum is taken along that
    axis and an integer array comes back (one exponent per run of a sweep, say).

    Examples
    --------
    >>> capability_exponent(np.array([[1.0, 3.0], [0.0, 0.0]]), axis=1).tolist()
    [2, 0]
    """
    c = np.asarray(capability, dtype=float)
    c = np.where(np.isfinite(c), c, 0.0)
    if axis is None:
        top = float(c.max()) if c.size else 0.0
        return math.frexp(top)[1] if top > 0 else 0  # top = m * 2**e with m in [0.5, 1)
    top = c.max(axis=axis, keepdims=True, initial=0.0)
    return np.where(top > 0, np.frexp(np.where(top > 0, top, 1.0))[1], 0).squeeze(axis)


def unit_capabilities(capability: Any, exponent: Any = None) -> np.ndarray:
    """``capability / 2**exponent``, exact (``exponent`` defaults to :func:`capability_exponent`).

    Give ``exponent`` to share one scale across arrays (e.g. all issues of a scenario), or an
    array of exponents that broadcasts against ``capability``.
    """
    c = np.asarray(capability, dtype=float)
    if exponent is None:
        exponent = capability_exponent(c)
    return np.ldexp(c, -exponent)
