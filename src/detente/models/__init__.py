"""Models layer: one module per model, all with ``run(scenario, params, *, rng) -> RunResult``,
registered by short name in :mod:`detente.models.registry`."""

from detente.models.registry import ModelSpec, available, get, names, run_model
from detente.result import IssueResult, RoundRecord, RunResult

__all__ = ["ModelSpec", "available", "get", "names", "run_model", "IssueResult", "RoundRecord", "RunResult"]
