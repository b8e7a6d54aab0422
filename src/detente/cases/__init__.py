"""Historical case libraries built from data into crisis scenarios (DESIGN.md layer ``cases/``).

* :mod:`detente.cases.icb` — one crisis scenario per International Crisis Behavior (ICB v14)
  crisis, built only from what was known at the crisis trigger (an explicit allow-list of
  columns), for fitting the crisis engine on 1918–1989 and scoring it on 1990–2017
  (``preregistration/icb_crisis_engine.md``; ``docs/cases.md``).

This layer may import ``scenario``, ``formats`` and ``crisis``; nothing below imports it.
"""

from detente.cases.icb import (
    ICB1_ALLOWED,
    ICB2_ALLOWED,
    CaseParams,
    IcbCase,
    build_cases,
    case_scenario,
    library_json,
)

__all__ = ["ICB1_ALLOWED", "ICB2_ALLOWED", "CaseParams", "IcbCase", "build_cases", "case_scenario",
           "library_json"]
