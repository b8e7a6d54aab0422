"""Vocabulary of KTAB's Spatial Model of Politics parameters, shared by the KTAB readers
(which store a scenario's parameters in ``metadata["smp"]``) and the ``smp`` model.

KTAB numbers each parameter's options; the index of an option in its tuple is KTAB's code
(Wise, Lester et al., KAPSARC KTAB documentation).
"""

from __future__ import annotations

__all__ = ["KTAB_PARAM_OPTIONS"]

#: KTAB ModelParameters: name -> options in code order.
KTAB_PARAM_OPTIONS: dict[str, tuple[str, ...]] = {
    "VictoryProbModel": ("Linear", "Square", "Quartic", "Octic", "Binary"),
    "PCEModel": ("Conditional", "MarkovIncentive", "MarkovUniform"),
    "StateTransitions": ("Deterministic", "Stochastic"),
    "VotingRule": ("Binary", "PropBin", "Prop", "PropCbc", "Cubic", "ASymProsp"),
    "BigRAdjust": ("None", "OneThird", "Half", "TwoThirds", "Full"),
    "BigRRange": ("Min", "Mid", "Max"),
    "ThirdPartyCommit": ("NoCommit", "SemiCommit", "FullCommit"),
    "InterVecBrgn": ("S1P1", "S2P2", "S2PMax"),
    "BargnModel": ("InitOnlyInterp", "InitRcvrInterp", "PWCompInterp"),
}
