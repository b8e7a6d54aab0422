"""Crisis runs in the run store, so reports and the web UI can find them again.

A crisis run (the ``detente run --json`` object of :func:`detente.crisis.analysis.run_hypotheses`)
is stored as a run of kind ``"crisis"`` and model ``"crisis"``: its key is the SHA-256 of
the object's canonical JSON (identical objects are stored once), the catalogue row keeps
the top-level keys in ``meta`` (scenario, runs, seed, hypotheses, back-test table), and
the per-hypothesis blocks go to one Parquet part with columns ``hypothesis`` and
``summary`` (JSON text), so the catalogue stays small.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

__all__ = ["save_crisis", "load_crisis", "crisis_key"]


def crisis_key(obj: Mapping[str, Any]) -> str:
    blob = json.dumps({"kind": "crisis", "object": obj}, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def save_crisis(store: Any, obj: Mapping[str, Any], *, scenario: Any = None, label: str | None = None) -> str:
    """Store a crisis ``--json`` object; return its run id (idempotent)."""
    import pyarrow as pa

    key = crisis_key(obj)
    hyps = obj.get("hypotheses") or {}
    meta = {k: v for k, v in obj.items() if k != "hypotheses"}
    meta["hypothesis_names"] = list(hyps)
    run_id = store.open_run(key, model="crisis", kind="crisis", seed=obj.get("seed"),
                            params={"runs": obj.get("runs"), "hypotheses": list(hyps)}, scenario=scenario,
                            label=label or str(obj.get("scenario")), meta=meta)
    if store.info(run_id).status != "done":
        table = pa.table({"hypothesis": pa.array(list(hyps), pa.string()),
                          "summary": pa.array([json.dumps(b, sort_keys=True, allow_nan=False) for b in hyps.values()],
                                              pa.string())})
        store.write_part(run_id, 0, table)
        store.finish_run(run_id, "done")
    return run_id


def load_crisis(store: Any, ref: str) -> dict[str, Any]:
    """The crisis ``--json`` object of a stored crisis run."""
    from detente.errors import StoreError

    info = store.info(ref)
    if info.kind != "crisis":
        raise StoreError(f"run {info.run_id} is a {info.kind} run, not a crisis run")
    meta = dict(info.meta or {})
    names = meta.pop("hypothesis_names", [])
    df = store.read_part(info.run_id, 0)
    blocks = {str(h): json.loads(s) for h, s in zip(df["hypothesis"], df["summary"])}
    obj = dict(meta)
    obj["hypotheses"] = {h: blocks[h] for h in names if h in blocks}
    return obj
