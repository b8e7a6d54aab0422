"""Reader of DEU rows (*Decision-making in the European Union*): one row = one issue.

The DEU data sets code, for each controversial issue of a legislative proposal, the
positions and saliences (0–100) of the Commission, the European Parliament and the member
states, the reference point (status quo, ``rp``) and the outcome (``out``). This reader
turns each row into one :class:`~detente.scenario.Scenario` (:func:`load_deu`), or groups
the issues of each proposal into one multi-issue scenario (:func:`load_deu_proposals`, for
the exchange model), or the whole file into one scenario (:func:`read_deu`, the reader
behind ``detente.formats.load(path, format="deu")``).

Mapping
-------
* actors: ``COM`` (Commission), ``EP`` (Parliament) and the member states, ids = the DEU
  column codes upper-cased (``AT``, ``BE``, ``BU`` = Bulgaria, ``CR`` = Croatia, ``EL`` =
  Greece, …). Only actors holding a position on the issue get a stance.
* a position without a salience (27 cells of the development file) is kept with salience
  ``0`` and listed in ``metadata["salience_missing"]``: it then counts in unweighted means and
  medians but not in salience-weighted averages — the rule of the published baselines.
* issue: bounds 0–100, ``status_quo`` = ``rp``, ``outcome`` = ``out``; a value outside 0–100
  (e.g. a ``999`` "no outcome" sentinel) is treated as missing and recorded in
  ``metadata["out_raw"]``/``["rp_raw"]``. ``decision_rule`` = ``unanimity`` when ``counvte``
  is ``Unan``, ``qmv`` otherwise (any value mentioning QMV or Unan is accepted); ``proc``
  (COD/CNS; any text accepted) is in the metadata.
* saliences are on the ``percent`` scale.
* capabilities: ``weights="council"`` (default) — the Council votes of the issue's wave read
  from ``council_weights.csv`` beside the data file (or the copy built into this module);
  ``"equal"``; ``"shapley"`` — the Shapley–Shubik index of the Council voting game of the
  wave under the issue's voting rule (see :mod:`detente.scenario.eu_council`); or a mapping
  ``{wave: {code: weight}}`` / a path to a ``wave,actor,weight`` CSV. Commission and EP get
  the largest member-state weight of the wave. ``metadata["capability_weights"]`` records
  the choice.

References
----------
.. [1] Arregui, J. & Perarnaud, C. (2021). "A new dataset on legislative decision-making in
   the European Union: the DEU III dataset." *Journal of European Public Policy*. Data
   doi:10.34810/data53, CC BY 4.0.
.. [2] Thomson, R., Stokman, F. N., Achen, C. H. & König, T. (eds.) (2006). *The European
   Union Decides*. Cambridge University Press.
"""

from __future__ import annotations

import csv
import io
import math
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from detente.errors import InputError, Problem
from detente.formats.common import build_scenario, read_text
from detente.scenario import Scenario
from detente.scenario.eu_council import COUNCIL_WEIGHTS as _BUILTIN_WEIGHTS
from detente.scenario.eu_council import DEU_ACTORS, STATES, WAVES, council_power, wave_members

__all__ = [
    "DEU_ACTORS",
    "ACTOR_NAMES",
    "DeuRow",
    "read_deu_rows",
    "load_deu",
    "load_deu_proposals",
    "group_by_proposal",
    "read_deu",
    "council_weights",
    "wave_members",
    "scoreable",
]


ACTOR_NAMES: dict[str, str] = {
    "com": "European Commission", "ep": "European Parliament", "at": "Austria", "be": "Belgium",
    "bu": "Bulgaria", "cr": "Croatia", "cy": "Cyprus", "cz": "Czech Republic", "dk": "Denmark",
    "ee": "Estonia", "fi": "Finland", "fr": "France", "de": "Germany", "el": "Greece",
    "hu": "Hungary", "ie": "Ireland", "it": "Italy", "lv": "Latvia", "lt": "Lithuania",
    "lu": "Luxembourg", "mt": "Malta", "nl": "Netherlands", "pl": "Poland", "pt": "Portugal",
    "ro": "Romania", "si": "Slovenia", "sk": "Slovakia", "es": "Spain", "se": "Sweden",
    "uk": "United Kingdom",
}

REQUIRED: tuple[str, ...] = ("prnr", "isnr", "proc", "counvte", "rp", "out") + tuple(
    f"p{a}" for a in DEU_ACTORS
) + tuple(f"s{a}" for a in DEU_ACTORS)



def council_weights(source: str | Path | Mapping[str, Mapping[str, float]] | None = None) -> dict[str, dict[str, float]]:
    """Council weights ``{wave: {code: weight}}`` from a CSV (``wave,actor,weight``), a mapping,
    or the built-in copy (``None``)."""
    if source is None:
        return {k: dict(v) for k, v in _BUILTIN_WEIGHTS.items()}
    if isinstance(source, Mapping):
        return {str(k): {str(a).lower(): float(x) for a, x in v.items()} for k, v in source.items()}
    path = Path(source)
    text, _ = read_text(path)
    try:
        rows = list(csv.DictReader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise InputError(Problem(f"malformed CSV: {exc}", file=str(path), expected="comma-separated rows")) from None
    out: dict[str, dict[str, float]] = {}
    problems: list[Problem] = []
    for i, r in enumerate(rows, start=2):
        try:
            out.setdefault(r["wave"].strip(), {})[r["actor"].strip().lower()] = float(r["weight"])
        except (KeyError, TypeError, ValueError, AttributeError):
            problems.append(Problem("bad council weight row", file=str(path), line=i, value=str(r),
                                    expected="columns wave, actor, weight with a numeric weight"))
    if problems:
        raise InputError(problems)
    return out


class DeuRow:
    """One parsed DEU row: ids, positions, saliences and the issue's attributes."""

    __slots__ = ("fields", "line", "out", "out_raw", "position", "rp", "rp_raw", "salience", "wave")

    def __init__(self, line: int, fields: dict[str, str]):
        self.line = line
        self.fields = fields
        self.position: dict[str, float] = {}
        self.salience: dict[str, float | None] = {}
        self.rp: float | None = None
        self.out: float | None = None
        self.rp_raw: float | None = None
        self.out_raw: float | None = None
        self.wave: str = ""

    @property
    def isnr(self) -> str:
        return self.fields["isnr"]

    @property
    def prnr(self) -> str:
        return self.fields["prnr"]

    def get(self, key: str, default: str | None = None) -> str | None:
        v = self.fields.get(key)
        return v if v not in (None, "") else default


def _num(text: str | None) -> float | None:
    if text is None:
        return None
    t = text.strip()
    if t == "" or t.upper() in ("NA", "NAN", "."):
        return None
    return float(t.replace(",", ".")) if t.count(",") == 1 and "." not in t else float(t)


def _wave_from_date(d: str | None) -> str | None:
    if not d or len(d) < 4 or not d[:4].isdigit():
        return None
    y = int(d[:4])
    return "DEU I" if y < 2003 else ("DEU II" if y < 2010 else "DEU III")


def read_deu_rows(path: str | Path) -> list[DeuRow]:
    """Parse a DEU CSV into :class:`DeuRow` records, collecting every problem.

    Raises
    ------
    InputError
        Missing columns, non-numeric or out-of-range positions/saliences, duplicate issue
        ids, unknown voting rules — all at once, with line, column and value.
    """
    file = str(path)
    text, _enc = read_text(path)
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [h.strip() for h in next(reader)]
        body = list(reader)
    except StopIteration:
        raise InputError(Problem("file is empty", file=file, expected="a DEU CSV with a header row")) from None
    except csv.Error as exc:  # e.g. a NUL or a stray line break inside a quoted field
        raise InputError(Problem(f"malformed CSV: {exc}", file=file, line=reader.line_num,
                                 expected="comma-separated rows")) from None
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise InputError(Problem("missing DEU column(s): " + ", ".join(missing), file=file, line=1,
                                 expected="the DEU columns prnr, isnr, proc, counvte, pcom…puk, scom…suk, rp, out"))
    problems: list[Problem] = []
    rows: list[DeuRow] = []
    seen: dict[str, int] = {}
    for lineno, raw in enumerate(body, start=2):
        if not raw or all(not c.strip() for c in raw):
            continue
        if len(raw) != len(header):
            problems.append(Problem(f"row has {len(raw)} fields, the header has {len(header)}", file=file,
                                    line=lineno, expected=f"{len(header)} comma-separated fields"))
            continue
        f = {h: c.strip() for h, c in zip(header, raw)}
        row = DeuRow(lineno, f)
        for key in ("prnr", "isnr"):
            if not f[key]:
                problems.append(Problem("empty id", file=file, line=lineno, column=key, expected="a text id"))
        if f["isnr"] in seen:
            problems.append(Problem(f"duplicate issue id (first on line {seen[f['isnr']]})", file=file, line=lineno,
                                    column="isnr", value=f["isnr"], expected="a unique issue id"))
        seen.setdefault(f["isnr"], lineno)
        vote = f["counvte"].strip().lower()
        if not ("qmv" in vote or "unan" in vote):
            problems.append(Problem("unknown Council voting rule", file=file, line=lineno, column="counvte",
                                    value=f["counvte"], expected="QMV, QMV(..) or Unan"))
        for a in DEU_ACTORS:
            for kind in ("p", "s"):
                col = f"{kind}{a}"
                try:
                    v = _num(f[col])
                except ValueError:
                    problems.append(Problem("not a number", file=file, line=lineno, column=col, value=f[col],
                                            expected="a number in [0, 100] or blank"))
                    continue
                if v is not None and not (math.isfinite(v) and 0 <= v <= 100):
                    problems.append(Problem("outside the DEU scale", file=file, line=lineno, column=col, value=f[col],
                                            expected="a number in [0, 100] or blank"))
                    continue
                if kind == "p" and v is not None:
                    row.position[a] = v
                elif kind == "s":
                    row.salience[a] = v
        for col in ("rp", "out"):
            try:
                v = _num(f[col])
            except ValueError:
                problems.append(Problem("not a number", file=file, line=lineno, column=col, value=f[col],
                                        expected="a number in [0, 100] or blank"))
                continue
            setattr(row, col + "_raw", v)
            if v is not None and math.isfinite(v) and 0 <= v <= 100:
                setattr(row, col, v)
        wave = f.get("wave") or _wave_from_date(f.get("intro_date")) or ""
        if wave not in WAVES:
            problems.append(Problem("unknown or missing wave", file=file, line=lineno, column="wave",
                                    value=f.get("wave"), expected="DEU I, DEU II or DEU III (or an intro_date)"))
        row.wave = wave
        if f.get("n_actors"):
            try:
                if int(float(f["n_actors"])) != len(row.position):
                    problems.append(Problem(f"n_actors disagrees with the {len(row.position)} positions in the row",
                                            file=file, line=lineno, column="n_actors", value=f["n_actors"],
                                            expected=str(len(row.position))))
            except ValueError:
                problems.append(Problem("not a number", file=file, line=lineno, column="n_actors",
                                        value=f["n_actors"], expected="an integer"))
        rows.append(row)
    if problems:
        raise InputError(problems)
    if not rows:
        raise InputError(Problem("no data rows", file=file, expected="at least one DEU issue row"))
    return rows


# ------------------------------------------------------------------ capabilities


def _resolve_weights(path: str | Path, weights: Any) -> tuple[str, dict[str, dict[str, float]] | None]:
    """(label, table) for a weights argument; table None means equal or Shapley."""
    if isinstance(weights, str) and weights in ("equal", "shapley"):
        return weights, None
    if weights is None or weights == "council":
        beside = Path(path).with_name("council_weights.csv")
        if beside.is_file():
            return f"council votes of the wave ({beside.name})", council_weights(beside)
        return "council votes of the wave (built-in copy of council_weights.csv)", council_weights(None)
    if isinstance(weights, Mapping):
        return "weights given by the caller", council_weights(weights)
    p = Path(weights)
    if p.is_file():
        return f"weights from {p.name}", council_weights(p)
    raise InputError(Problem("unknown capability weighting", column="weights", value=str(weights),
                             expected="'council', 'equal', 'shapley', a mapping or a wave,actor,weight CSV"))


def _capabilities(row: DeuRow, label: str, table: dict[str, dict[str, float]] | None, mode: Any) -> dict[str, float]:
    if mode == "equal":
        return {a: 1.0 for a in DEU_ACTORS}
    if mode == "shapley":

        ss = council_power(row.wave, "unanimity" if row.fields["counvte"].lower().startswith("unan") else "qmv")
        top = max(ss.values())
        caps = {a: ss.get(a, 0.0) for a in STATES}
        caps["com"] = caps["ep"] = top
        return caps
    assert table is not None
    w = table.get(row.wave)
    if w is None:
        raise InputError(Problem("no capability weights for this wave", line=row.line, column="wave", value=row.wave,
                                 expected="one of " + ", ".join(table)))
    top = max(w.values()) if w else 1.0
    caps = {a: float(w.get(a, 0.0)) for a in STATES}
    caps["com"] = caps["ep"] = float(top)
    return caps


# ------------------------------------------------------------------ scenarios


def _issue_meta(row: DeuRow) -> dict[str, Any]:
    f = row.fields
    m: dict[str, Any] = {
        "prnr": f["prnr"], "isnr": f["isnr"], "prname": f.get("prname"), "wave": row.wave,
        "proc": f["proc"].upper(), "counvte": f["counvte"], "type": f.get("type"), "council": f.get("council"),
        "proccde": f.get("proccde"), "intro_date": f.get("intro_date") or None,
        "finact_date": f.get("finact_date") or None, "n_actors": len(row.position), "line": row.line,
    }
    miss = [a.upper() for a in row.position if row.salience.get(a) is None]
    if miss:
        m["salience_missing"] = miss
    if row.out_raw is not None and row.out is None:
        m["out_raw"] = row.out_raw
    if row.rp_raw is not None and row.rp is None:
        m["rp_raw"] = row.rp_raw
    return m


def _issue(row: DeuRow) -> dict[str, Any]:
    rule = "unanimity" if row.fields["counvte"].lower().startswith("unan") else "qmv"  # e.g. "QMV(10)" -> qmv
    return {
        "id": row.isnr, "name": f"{row.fields.get('prname') or row.prnr}: {row.isnr}", "lower": 0.0, "upper": 100.0,
        "status_quo": row.rp, "outcome": row.out, "decision_rule": rule,
    }


def _stances(row: DeuRow, caps: dict[str, float] | None = None) -> list[dict[str, Any]]:
    out = []
    for a in DEU_ACTORS:
        if a not in row.position:
            continue
        s = row.salience.get(a)
        d: dict[str, Any] = {"actor": a.upper(), "issue": row.isnr, "position": row.position[a],
                             "salience": 0.0 if s is None else s}
        if caps is not None:
            d["capability"] = caps[a]
        out.append(d)
    return out


_SOURCE = ("DEU data: Arregui & Perarnaud (2021), JEPP, doi:10.34810/data53 (CC BY 4.0); "
           "Thomson, Stokman, Achen & König (eds.) (2006), The European Union Decides, CUP")


def _build(rows: list[DeuRow], name: str, path: str | Path, weights: Any, per_issue_caps: bool) -> Scenario:
    label, table = _resolve_weights(path, weights)
    mode = weights if isinstance(weights, str) and weights in ("equal", "shapley") else "table"
    caps_by_row = [_capabilities(r, label, table, mode) for r in rows]
    present = [a for a in DEU_ACTORS if any(a in r.position for r in rows)]
    first = caps_by_row[0]
    actors = [{"id": a.upper(), "name": ACTOR_NAMES[a], "capability": first[a],
               "group": "EU institution" if a in ("com", "ep") else "member state"} for a in present]
    stances: list[dict[str, Any]] = []
    locs: list[tuple[int, str]] = []
    for r, caps in zip(rows, caps_by_row):
        st = _stances(r, caps if per_issue_caps else None)
        stances += st
        locs += [(r.line, "p" + s["actor"].lower()) for s in st]
    meta: dict[str, Any] = {
        "source": _SOURCE, "format": "deu", "file": Path(path).name,
        "capability_weights": label if mode == "table" else (
            "equal" if mode == "equal" else "Shapley-Shubik index of the wave's Council voting game under the issue's rule"),
        "capability_note": "Commission and EP at the largest member-state weight of the wave",
    }
    if len(rows) == 1:
        meta.update(_issue_meta(rows[0]))
    else:
        meta["issues"] = {r.isnr: _issue_meta(r) for r in rows}
        if len({r.prnr for r in rows}) == 1:
            meta["prnr"] = rows[0].prnr
    data = {"name": name, "salience_scale": "percent", "actors": actors, "issues": [_issue(r) for r in rows],
            "stances": stances, "metadata": meta}
    row_of_issue = [r.line for r in rows]

    def locate(p: tuple) -> tuple[int | None, str | None]:
        if len(p) >= 2 and p[0] == "stances" and isinstance(p[1], int) and p[1] < len(locs):
            return locs[p[1]]
        if len(p) >= 2 and p[0] == "issues" and isinstance(p[1], int) and p[1] < len(row_of_issue):
            col = {"status_quo": "rp", "outcome": "out"}.get(str(p[2]) if len(p) > 2 else "", "isnr")
            return row_of_issue[p[1]], col
        return None, ".".join(map(str, p))

    return build_scenario(data, file=path, locate=locate)


def load_deu(path: str | Path, *, weights: Any = "council") -> list[Scenario]:
    """One :class:`Scenario` per DEU issue (row), in file order.

    Parameters
    ----------
    path
        A DEU CSV with the columns of ``deu3_dev.csv``.
    weights
        Capability weighting: ``"council"`` (default: ``council_weights.csv`` beside the
        file, else the built-in copy), ``"equal"``, ``"shapley"``, a mapping
        ``{wave: {code: weight}}`` or a path to a ``wave,actor,weight`` CSV.

    Returns
    -------
    list of Scenario
        Named by the issue id (``isnr``); ``metadata`` holds prnr, isnr, wave, proc, counvte,
        dates, n_actors and the capability weighting used.
    """
    rows = read_deu_rows(path)
    return [_build([r], r.isnr, path, weights, per_issue_caps=False) for r in rows]


def group_by_proposal(rows: Iterable[DeuRow]) -> OrderedDict[str, list[DeuRow]]:
    """Rows grouped by proposal id (``prnr``), in file order."""
    g: OrderedDict[str, list[DeuRow]] = OrderedDict()
    for r in rows:
        g.setdefault(r.prnr, []).append(r)
    return g


def load_deu_proposals(path: str | Path, *, weights: Any = "council") -> list[Scenario]:
    """One multi-issue :class:`Scenario` per proposal (``prnr``): the input of the exchange
    model. Each stance carries its issue's capability; metadata["issues"] holds per-issue
    attributes."""
    rows = read_deu_rows(path)
    return [_build(rs, p, path, weights, per_issue_caps=True) for p, rs in group_by_proposal(rows).items()]


def read_deu(path: str | Path, *, weights: Any = "council", proposal: str | None = None, **_: Any) -> Scenario:
    """The whole file (or one proposal) as one multi-issue scenario — the ``deu`` entry of
    :data:`detente.formats.FORMATS`."""
    rows = read_deu_rows(path)
    if proposal is not None:
        rows = [r for r in rows if r.prnr == proposal]
        if not rows:
            raise InputError(Problem("no such proposal in the file", file=str(path), column="prnr", value=proposal))
    name = proposal or Path(path).stem
    return _build(rows, name, path, weights, per_issue_caps=True)


def scoreable(scenario: Scenario, issue_id: str | None = None, *, min_actors: int = 3) -> bool:
    """The DEU scoring rule: outcome present in 0–100 and at least ``min_actors`` positions."""
    iss = scenario.issues[0] if issue_id is None else scenario.issue(issue_id)
    if iss.outcome is None or not (0 <= iss.outcome <= 100):
        return False
    return sum(1 for s in scenario.stances if s.issue == iss.id) >= min_actors
