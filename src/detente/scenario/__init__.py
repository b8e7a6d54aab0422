"""Scenario layer: the data model every other layer reads (imports nothing of detente
except the shared exception hierarchy)."""

from detente.scenario.model import (
    SALIENCE_MAX,
    Actor,
    DecisionRule,
    Issue,
    IssueArrays,
    Relation,
    SalienceScale,
    Scenario,
    ScenarioProblem,
    Stance,
)
from detente.scenario.schema import scenario_json_schema

__all__ = [
    "Actor", "Issue", "Stance", "Relation", "Scenario", "IssueArrays", "ScenarioProblem",
    "DecisionRule", "SalienceScale", "SALIENCE_MAX", "scenario_json_schema",
]
