"""Results of model runs: frozen records shared by every model.

This module sits below the layers, like :mod:`detente.errors`: the models build these records
and the store saves and reads them, so both import it and neither imports the other
(``tests/test_import_layering.py``).

The JSON form (:meth:`RunResult.to_json_dict`) is the ``--json`` contract of
``detente forecast``; it is documented in ``docs/json-contract.md`` and may only change
compatibly (new keys allowed, existing keys keep their meaning).
"""

from __future__ import annotations

import hashlib
import json
import math
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

__all__ = ["RoundRecord", "IssueResult", "RunResult", "detente_version", "run_key", "result_hash", "json_clean"]


def detente_version() -> str:
    from detente import __version__

    return __version__


#: numpy once it has been imported (set by :func:`_numpy`); this module never imports it.
_np: Any = None


def _numpy() -> Any:
    """numpy if it has been imported, else ``None``. A numpy value can only exist once numpy is
    imported, so the JSON rules need not import it, and the store's catalogue commands (``detente
    runs list``) never load numpy (about 0.12 s of start-up). Callers read ``_np or _numpy()``:
    one global lookup once numpy is there."""
    global _np
    _np = sys.modules.get("numpy")
    return _np

#: Exact types returned unchanged by :func:`_clean` (``bool`` is listed apart from ``int``
#: because ``type(True) is bool``).
_ATOMIC = frozenset({str, int, bool, type(None)})
_STR = frozenset({str})
_FLOAT = frozenset({float})
_ATOMIC_OR_FLOAT = _ATOMIC | {float}


def _clean(x: Any) -> Any:
    """Turn numpy scalars/arrays, tuples and non-finite floats into plain JSON values.

    The rules (pinned by ``tests/test_result_json_clean.py``): mappings become dicts with
    ``str(key)`` keys (so ``True`` -> ``"True"``, ``None`` -> ``"None"``, ``1.5`` -> ``"1.5"``);
    lists, tuples and numpy arrays become lists; numpy scalars become the Python value of
    ``.item()``; a non-finite float (nan, +-inf, numpy or not) becomes ``None``; an object with
    ``model_dump`` becomes its ``model_dump(mode="json")``; anything else is returned as is.

    The common shapes of model results (plain floats, dicts and lists of floats with str keys,
    float/int/bool numpy arrays) take fast paths that give the same values as the general rules
    without one Python call per number: a list of floats is all finite exactly when its sum is
    finite (a nan or an inf propagates through the sum; a finite sum that overflows to inf only
    sends the list to the element-wise path), and a float array is checked with ``np.isfinite``.
    """
    t = type(x)
    if t is float:
        return x if math.isfinite(x) else None
    if t in _ATOMIC:
        return x
    if t is dict:
        if not set(map(type, x)) <= _STR:
            return {str(k): _clean(v) for k, v in x.items()}
        types = set(map(type, x.values()))
        if types <= _ATOMIC or (types == _FLOAT and math.isfinite(sum(x.values()))):
            return dict(x)
        if types <= _ATOMIC_OR_FLOAT:
            isfinite = math.isfinite
            return {k: None if type(v) is float and not isfinite(v) else v for k, v in x.items()}
        return {k: _clean(v) for k, v in x.items()}
    if t is list or t is tuple:
        return _clean_seq(list(x))
    np_ = _np or _numpy()
    if np_ is not None and t is np_.ndarray:
        if x.ndim and (x.dtype.kind in "biu" or (x.dtype.kind == "f" and x.dtype.itemsize <= 8)):
            if x.dtype.kind != "f" or bool(np_.isfinite(x).all()):
                return x.tolist()
        return _clean(x.tolist())
    return _clean_general(x)


#: :func:`_clean` for the other JSON outputs of detente (e.g. the ICB scores), so every layer turns
#: numpy values and non-finite floats into JSON by the same rules.
json_clean = _clean


def _clean_seq(xs: list[Any]) -> list[Any]:
    """:func:`_clean` of each element of a fresh list ``xs`` (cleaned in place, returned)."""
    types = set(map(type, xs))
    if types == _FLOAT:
        if math.isfinite(sum(xs)):
            return xs
        return [v if math.isfinite(v) else None for v in xs]
    if types <= _ATOMIC:
        return xs
    if types <= _ATOMIC_OR_FLOAT:
        isfinite = math.isfinite
        return [None if type(v) is float and not isfinite(v) else v for v in xs]
    return [_clean(v) for v in xs]


def _clean_general(x: Any) -> Any:
    """The general rules of :func:`_clean` for the types its fast paths do not take (in this
    order: mappings, lists/tuples and their subclasses, numpy arrays and scalars, float
    subclasses, objects with ``model_dump``)."""
    if isinstance(x, Mapping):
        return {str(k): _clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_clean(v) for v in x]
    np_ = _np or _numpy()
    if np_ is not None:
        if isinstance(x, np_.ndarray):
            return _clean(x.tolist())
        if isinstance(x, np_.generic):
            return _clean(x.item())
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if hasattr(x, "model_dump"):
        return _clean(x.model_dump(mode="json"))
    return x


@dataclass(frozen=True)
class RoundRecord:
    """State after one round of a dynamic model.

    Attributes
    ----------
    positions
        Actor → position on the issue's own scale.
    median, mean
        The model's median rule and the capability × salience weighted mean of the positions.
    extra
        Model-specific round data (risk exponents, events, exchanges, …), JSON-serialisable.
    """

    positions: Mapping[str, float]
    median: float | None = None
    mean: float | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    def to_json_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "positions": _clean(dict(self.positions)),
            "median": _clean(self.median),
            "mean": _clean(self.mean),
        }
        for k, v in self.extra.items():
            d.setdefault(k, _clean(v))
        return d

    @classmethod
    def from_json_dict(cls, d: Mapping[str, Any]) -> RoundRecord:
        """Inverse of :meth:`to_json_dict` (keys other than the three named ones go to ``extra``)."""
        rest = {k: v for k, v in d.items() if k not in ("positions", "median", "mean")}
        return cls(positions=dict(d.get("positions") or {}), median=d.get("median"), mean=d.get("mean"), extra=rest)


@dataclass(frozen=True)
class IssueResult:
    """A model's forecast on one issue (on the issue's own scale), with optional rounds."""

    forecast: float | None
    rounds: tuple[RoundRecord, ...] = ()
    extra: Mapping[str, Any] = field(default_factory=dict)

    def to_json_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"forecast": _clean(self.forecast)}
        if self.rounds:
            d["rounds"] = [r.to_json_dict() for r in self.rounds]
        for k, v in self.extra.items():
            d.setdefault(k, _clean(v))
        return d

    @classmethod
    def from_json_dict(cls, d: Mapping[str, Any]) -> IssueResult:
        """Inverse of :meth:`to_json_dict` (keys other than ``forecast``/``rounds`` go to ``extra``)."""
        rest = {k: v for k, v in d.items() if k not in ("forecast", "rounds")}
        rounds = tuple(RoundRecord.from_json_dict(r) for r in d.get("rounds") or ())
        return cls(forecast=d.get("forecast"), rounds=rounds, extra=rest)


def run_key(input_hash: str, model: str, variant: str | None, params: Mapping[str, Any], seed: int | None) -> str:
    """Content hash identifying a run: scenario hash + model + variant + params + seed."""
    blob = json.dumps(
        {"input": input_hash, "model": model, "variant": variant, "params": _clean(dict(params)), "seed": seed},
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(blob.encode()).hexdigest()


#: Keys of the JSON form that :func:`result_hash` leaves out: the producing version (the same
#: numbers from another release are the same result) and what is derived or added on output.
RESULT_HASH_EXCLUDES = ("version", "run_key", "run_id", "same_inputs_as")


def result_hash(d: Mapping[str, Any]) -> str:
    """SHA-256 of a result's JSON form (:meth:`RunResult.to_json_dict`, or the same object read
    back from JSON) without :data:`RESULT_HASH_EXCLUDES`: equal exactly when the two results
    say the same thing (inputs, seed, forecasts, rounds, notes, extras)."""
    body = {k: v for k, v in d.items() if k not in RESULT_HASH_EXCLUDES}
    if not body.get("extra"):
        body.pop("extra", None)  # `forecast --json` always prints `extra`, to_json_dict only when set
    blob = json.dumps(body, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(blob.encode()).hexdigest()


@dataclass(frozen=True)
class RunResult:
    """The record of one model run.

    Attributes
    ----------
    model, variant
        Registered model name and variant (``None`` when the model has no variants).
    params
        Every parameter the run used, defaults included (JSON-serialisable).
    seed
        Root seed of the random stream, ``None`` for deterministic runs without a seed.
    version
        detente version that produced the result.
    input_hash
        SHA-256 of the scenario's canonical JSON.
    issues
        Issue id → :class:`IssueResult`.
    notes
        Statements about the run a reader must know (e.g. "positions normalised to 0-1
        internally", "salience rescaled").
    extra
        Model-specific, JSON-serialisable results (perception tables, ensembles, …).
    """

    model: str
    variant: str | None
    params: Mapping[str, Any]
    seed: int | None
    version: str
    input_hash: str
    issues: Mapping[str, IssueResult]
    notes: tuple[str, ...] = ()
    extra: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def build(
        cls,
        *,
        model: str,
        scenario: Any,
        params: Any,
        issues: Mapping[str, IssueResult],
        variant: str | None = None,
        seed: int | None = None,
        notes: tuple[str, ...] | list[str] = (),
        extra: Mapping[str, Any] | None = None,
    ) -> RunResult:
        """Make a result, filling version and input hash from the scenario."""
        p = params.model_dump(mode="json") if hasattr(params, "model_dump") else dict(params or {})
        return cls(
            model=model,
            variant=variant,
            params=p,
            seed=seed,
            version=detente_version(),
            input_hash=scenario.content_hash(),
            issues=dict(issues),
            notes=tuple(notes),
            extra=dict(extra or {}),
        )

    def with_seed(self, seed: int | None) -> RunResult:
        return replace(self, seed=seed)

    @property
    def key(self) -> str:
        """Content hash of scenario + model + variant + params + seed (the store key)."""
        return run_key(self.input_hash, self.model, self.variant, self.params, self.seed)

    @property
    def result_hash(self) -> str:
        """Content hash of the result itself (see :func:`result_hash`); the run store compares
        it to tell a repeated run from a different result under the same :attr:`key`."""
        return result_hash(json.loads(self.to_json()))

    def forecast(self, issue: str | None = None) -> float | None:
        """The forecast on ``issue`` (or on the only issue)."""
        if issue is None:
            if len(self.issues) != 1:
                raise ValueError("several issues: name one")
            issue = next(iter(self.issues))
        return self.issues[issue].forecast

    def to_json_dict(self) -> dict[str, Any]:
        """The ``--json`` contract (see ``docs/json-contract.md``)."""
        d: dict[str, Any] = {
            "model": self.model,
            "variant": self.variant,
            "params": _clean(dict(self.params)),
            "seed": self.seed,
            "issues": {k: v.to_json_dict() for k, v in self.issues.items()},
            "version": self.version,
            "input_hash": self.input_hash,
            "run_key": self.key,
            "notes": list(self.notes),
        }
        if self.extra:
            d["extra"] = _clean(dict(self.extra))
        return d

    def to_json(self, **kw: Any) -> str:
        return json.dumps(self.to_json_dict(), allow_nan=False, **kw)

    def to_df(self):
        """The result as a long pandas DataFrame ``issue, round, actor, kind, value``: one
        ``forecast`` row per issue (round and actor empty), then one ``position`` row per
        round and actor (``round`` = index in the issue's ``rounds``, as in the JSON form)."""
        import pandas as pd

        recs: list[tuple[Any, ...]] = []
        for iid, ir in self.issues.items():
            recs.append((iid, None, None, "forecast", ir.forecast))
            for k, r in enumerate(ir.rounds):
                recs.extend((iid, k, a, "position", x) for a, x in r.positions.items())
        df = pd.DataFrame.from_records(recs, columns=["issue", "round", "actor", "kind", "value"])
        df["round"] = df["round"].astype("Int64")
        df["value"] = df["value"].astype(float)
        return df

    def plot(self, issue: str | None = None, *, scenario: Any = None):
        """A plotly figure (it displays itself in Jupyter): the positions of every actor by round
        on ``issue`` (default: the first issue) with the weighted mean and median for models with
        rounds; otherwise the forecast on each issue's scale with the actors' positions (pass the
        ``scenario`` for the issue's bounds and the stated positions). Actors have the colours
        they have on the web and in the HTML report (:mod:`detente.plotting.palette`)."""
        from detente.plotting import figures as F
        from detente.plotting.data import forecast_rows, result_charts, scenario_meta
        from detente.plotting.palette import colors

        d = self.to_json_dict()
        meta = scenario_meta(scenario)
        names = ([a.id for a in scenario.actors] if scenario is not None else
                 [a for ir in self.issues.values() for r in ir.rounds for a in r.positions])
        cols = colors(names)
        iid = issue or next(iter(self.issues))
        if iid not in self.issues:
            raise KeyError(f"no issue {iid!r} in this result (issues: {', '.join(self.issues)})")
        tr = (result_charts(d).get("trajectories") or {}).get(iid)
        if tr is not None:
            m = meta.get(iid) or {}
            b = (m.get("lower"), m.get("upper")) if m else None
            return F.trajectory_figure(iid, tr, b, colors=cols, label=m.get("label"))
        model = self.model + (f" ({self.variant})" if self.variant else "")
        return F.forecast_figure(forecast_rows(d, meta), f"Forecast per issue — {model}", colors=cols, model=model)

    def _repr_html_(self) -> str:
        from html import escape

        head = f"<p><b>{escape(self.model)}</b>" + (f" ({escape(self.variant)})" if self.variant else "")
        head += f", seed {self.seed}, detente {escape(self.version)}</p>"
        rows = "".join(
            f"<tr><td>{escape(i)}</td><td>{'' if r.forecast is None else f'{r.forecast:.6g}'}</td><td>{len(r.rounds)}</td></tr>"
            for i, r in self.issues.items()
        )
        return head + f"<table><tr><th>issue</th><th>forecast</th><th>rounds</th></tr>{rows}</table>"

    @classmethod
    def from_json_dict(cls, d: Mapping[str, Any]) -> RunResult:
        """Rebuild a result from its :meth:`to_json_dict` form (used by the run store).

        ``RunResult.from_json_dict(r.to_json_dict()).to_json_dict() == r.to_json_dict()``;
        keys the contract does not know (``run_id``, ...) are ignored.

        Raises
        ------
        ValueError
            If a required key is missing or ``run_key`` does not match the content.
        """
        try:
            res = cls(
                model=d["model"],
                variant=d.get("variant"),
                params=dict(d.get("params") or {}),
                seed=d.get("seed"),
                version=d["version"],
                input_hash=d["input_hash"],
                issues={k: IssueResult.from_json_dict(v) for k, v in (d.get("issues") or {}).items()},
                notes=tuple(d.get("notes") or ()),
                extra=dict(d.get("extra") or {}),
            )
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"not a run result: {exc!r}") from None
        if d.get("run_key") is not None and d["run_key"] != res.key:
            raise ValueError("run_key does not match the result's content")
        return res
