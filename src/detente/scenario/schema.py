"""JSON Schema export of the scenario format (``schemas/scenario.schema.json``)."""

from __future__ import annotations

from typing import Any

from detente.scenario.model import Scenario


def scenario_json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a detente scenario document.

    Returns
    -------
    dict
        The schema, with ``$schema``, ``$id`` and ``title`` set.
    """
    schema = Scenario.model_json_schema(mode="validation")
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://detente.invalid/schemas/scenario.schema.json",
        **schema,
        "title": "detente scenario",
    }
    return schema
