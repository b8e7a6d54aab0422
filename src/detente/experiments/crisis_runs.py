"""Crisis runs at scale: on any executor, with every finished chunk kept in the run store.

:func:`detente.crisis.engine.run_plans` simulates the chunks of crisis runs on an executor
(:mod:`detente.executors`: serial, process pool, Dask) and hands each finished chunk to a chunk
store. :class:`StoredChunks` is that store on top of the run store: every engine run (one
hypothesis, one counterfactual pass, one back-test forecast, one ICB probe) is a run of kind
``crisis_chunks`` keyed by :attr:`~detente.crisis.engine.CrisisPlan.key`, and each of its chunks
one Parquet part, written as soon as it finishes. Run the same command again after a kill and
only the missing chunks are simulated; the result has the same bytes as an uninterrupted run.

:func:`crisis_execution` sets both up for a block of code (``detente run``, the case-library
fit, crisis sensitivity), and removes the chunk runs once the block has finished (the
assembled result is what is kept, e.g. as a ``crisis`` run).

Part schema of a ``crisis_chunks`` run (one row per array of the chunk's part):

==========  =======  ==============================================================
column      type     meaning
==========  =======  ==============================================================
name        string   the array's name (``diag.NAME`` for the per-step sums)
dtype       string   numpy dtype (``none`` for an array not recorded, ``json`` for a list)
shape       string   JSON list of the array's dimensions
data        binary   the array's bytes (C order), or UTF-8 JSON for ``json``
==========  =======  ==============================================================
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

__all__ = ["StoredChunks", "pack_part", "unpack_part", "crisis_execution", "CHUNK_KIND"]

#: Run-store kind of the chunks of one engine run.
CHUNK_KIND = "crisis_chunks"


def pack_part(part: dict[str, Any]) -> Any:
    """A chunk's part (dict of arrays, a dict of per-step sums, a list of labels) as an Arrow
    table that :func:`unpack_part` turns back into equal arrays (same dtype, shape and bytes)."""
    import pyarrow as pa

    names, dtypes, shapes, data = [], [], [], []

    def add(name: str, v: Any) -> None:
        names.append(name)
        if v is None:
            dtypes.append("none"); shapes.append("[]"); data.append(b"")  # noqa: E702
        elif isinstance(v, np.ndarray):
            a = np.ascontiguousarray(v)
            dtypes.append(a.dtype.str); shapes.append(json.dumps(list(a.shape))); data.append(a.tobytes())  # noqa: E702
        elif isinstance(v, (list, tuple)):
            dtypes.append("json"); shapes.append("[]"); data.append(json.dumps(list(v)).encode())  # noqa: E702
        else:
            raise TypeError(f"cannot store part entry {name!r} of type {type(v).__name__}")

    for k, v in part.items():
        if isinstance(v, dict):
            for kk, vv in v.items():
                add(f"{k}.{kk}", vv)
        else:
            add(k, v)
    return pa.table({"name": pa.array(names, pa.string()), "dtype": pa.array(dtypes, pa.string()),
                     "shape": pa.array(shapes, pa.string()), "data": pa.array(data, pa.binary())})


def unpack_part(table: Any) -> dict[str, Any]:
    """The part :func:`pack_part` stored (from an Arrow table or a pandas DataFrame)."""
    cols = table.to_pydict() if hasattr(table, "to_pydict") else {c: list(table[c]) for c in table.columns}
    out: dict[str, Any] = {}
    for name, dtype, shape, data in zip(cols["name"], cols["dtype"], cols["shape"], cols["data"]):
        if dtype == "none":
            v: Any = None
        elif dtype == "json":
            v = json.loads(bytes(data).decode())
        else:
            v = np.frombuffer(bytes(data), dtype=np.dtype(dtype)).reshape(json.loads(shape)).copy()
        head, dot, tail = name.partition(".")
        if dot and head == "diag":
            out.setdefault("diag", {})[tail] = v
        else:
            out[name] = v
    return out


class StoredChunks:
    """A chunk store for :func:`detente.crisis.engine.run_plans` in a run :class:`~detente.store.Store`.

    Each engine run is a run of kind :data:`CHUNK_KIND` keyed by its plan key; ``stored`` reads
    back the chunks finished earlier (verified against their checksums: a damaged part is
    simulated again), ``save`` writes a chunk as it finishes, ``finish`` marks the run done.
    :meth:`discard` deletes the chunk runs this object has used.
    """

    def __init__(self, store: Any, *, label: str | None = None):
        self.store = store
        self.label = label
        self.run_ids: dict[str, str] = {}

    def _run_id(self, plan: Any) -> str:
        rid = self.run_ids.get(plan.key)
        if rid is None:
            p = plan.params
            rid = self.store.open_run(
                plan.key, model="crisis", kind=CHUNK_KIND, seed=plan.root, input_hash=plan.input_hash,
                params={"runs": plan.runs, "chunk_size": p.chunk_size, "hypothesis": p.hypothesis},
                label=self.label or f"chunks of {plan.scenario_name}",
                meta={"scenario": plan.scenario_name, "runs": plan.runs, "chunk_size": p.chunk_size,
                      "n_chunks": len(plan.chunks), "record_paths": p.record_paths, "hypothesis": p.hypothesis})
            self.run_ids[plan.key] = rid
        return rid

    def stored(self, plan: Any) -> dict[int, dict[str, Any]]:
        import pyarrow.parquet as pq

        rid = self._run_id(plan)
        n = len(plan.chunks)
        missing = set(self.store.missing_chunks(rid, n))
        return {c: unpack_part(pq.read_table(self.store.part_path(rid, c))) for c in range(n) if c not in missing}

    def save(self, plan: Any, chunk: int, part: dict[str, Any]) -> None:
        self.store.write_part(self._run_id(plan), chunk, pack_part(part))

    def finish(self, plan: Any) -> None:
        self.store.finish_run(self._run_id(plan), "done")

    def discard(self) -> None:
        """Delete the chunk runs used (once their results are assembled and kept elsewhere)."""
        for rid in list(self.run_ids.values()):
            self.store.delete(rid)
        self.run_ids.clear()


@contextmanager
def crisis_execution(*, executor: str | Any | None = None, workers: int | None = 2, address: str | None = None,
                     store: Any = None, keep_chunks: bool = False) -> Iterator[StoredChunks | None]:
    """Run every crisis engine call in the block on one executor, with its chunks in ``store``.

    ``executor`` is an executor object or a name (``serial``, ``process``, ``dask``; with
    ``workers`` and the Dask scheduler ``address``), made here and closed at the end. With a
    ``store`` finished chunks are kept there as they finish (:class:`StoredChunks`): if the
    block is killed, running it again simulates only the missing chunks. When the block ends
    without an error the chunk runs are deleted unless ``keep_chunks``. Yields the chunk store
    (or ``None``).
    """
    from detente.crisis.engine import execution
    from detente.executors import make_executor

    own = isinstance(executor, str)
    ex: Any = make_executor(executor, workers=workers, address=address) if isinstance(executor, str) else executor
    chunks = StoredChunks(store) if store is not None else None
    try:
        with execution(ex, chunks):
            yield chunks
        if chunks is not None and not keep_chunks:
            chunks.discard()
    finally:
        if own and ex is not None:
            ex.close()
