"""Derived data shipped with detente (never raw datasets).

* ``calibration.json`` — crisis-engine calibration derived from conflict data by
  :func:`detente.crisis.calibration.derive`; see ``docs/calibration.md``.
"""
