"""Reader for KTAB's SMP XML scenarios (``smpc`` input, schema ``smpSchema.xsd``).

One issue per ``dName`` on the 0-100 scale, one actor per ``Actor`` (description kept),
saliences on the percent scale. What the model needs beyond the scenario goes to
``scenario.metadata["smp"]``:

* ``parameters``: the nine ``ModelParameters`` by KTAB name (``{"VotingRule": "PropCbc", ...}``),
  present only when the file has the block; :class:`detente.models.smp.SMPParams` takes every
  parameter the user leaves unset from here;
* ``ideal_adjustment``: the ``iaPair`` list as ``{"adjusting", "reference", "adjust"}`` records
  (actor names, not indices, so the scenario can be edited and re-ordered); the model builds the
  affinity matrix from the identity, setting ``A[adjusting, reference] = adjust``;
* ``seed``: the ``prngSeed`` text (a 64-bit unsigned integer, kept as a string).

Deliberate differences from KTAB's reader (specs/smp.md §13, §15):

* a missing ``IdealAdjustment`` means the identity matrix (KTAB refuses the file);
* positions are range-checked ([0, 100]) as saliences are; capability must be > 0; total
  salience must be > 0 and at most 100 (1e-9 allowance for decimal round-off);
* duplicate actor names are rejected (KTAB silently uses the first in ``iaPair``);
* ``adjust`` values that make an actor's row sum negative are rejected;
* the option spellings of the schema (``Proportional``, ``No``) are accepted as aliases of
  ``Prop`` and ``None``;
* every problem is reported, with its line, not just the first.

Parsing is safe: the file is read with expat directly and any DTD, entity declaration or
external entity reference is refused, so entity-expansion ("billion laughs") and external
entity attacks cannot happen.

References
----------
.. [1] KAPSARC, KTAB ``examples/smp/doc/smpSchema.xsd`` and ``SMPModel::xmlRead`` (MIT licence).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.parsers import expat

from detente.errors import InputError, Problem
from detente.formats.common import build_scenario
from detente.scenario import Scenario
from detente.scenario.ktab import KTAB_PARAM_OPTIONS

__all__ = ["read_ktab_xml", "parse_ktab_xml_bytes", "KTAB_PARAM_OPTIONS", "looks_like_ktab_xml"]

#: KTAB option names by parameter, index = KTAB's numeric code (shared with the KTAB readers).
_ALIASES = {"VotingRule": {"Proportional": "Prop"}, "BigRAdjust": {"No": "None"}}

MAX_ACTOR_NAME = 25
MAX_ACTOR_DESC = 256
MAX_SCEN_TEXT = 512
MAX_DIM_NAME = 256
SAL_ALLOWANCE = 1e-9


@dataclass
class _Node:
    tag: str
    line: int
    text: str = ""
    children: list[_Node] = field(default_factory=list)

    def find(self, tag: str) -> _Node | None:
        for c in self.children:
            if c.tag == tag:
                return c
        return None

    def findall(self, tag: str) -> list[_Node]:
        return [c for c in self.children if c.tag == tag]


def _parse(raw: bytes, file: str) -> _Node:
    p = expat.ParserCreate()
    stack: list[_Node] = []
    root: list[_Node] = []

    def refuse(what: str) -> None:
        raise InputError(Problem(f"{what} not allowed in a KTAB XML file (refused for safety)", file=file,
                                 line=p.CurrentLineNumber, expected="plain XML without a DTD or entities"))

    def start(tag: str, attrs: dict[str, str]) -> None:
        n = _Node(tag, p.CurrentLineNumber)
        if stack:
            stack[-1].children.append(n)
        else:
            root.append(n)
        stack.append(n)

    def end(tag: str) -> None:
        n = stack.pop()
        n.text = n.text.strip()

    def chars(data: str) -> None:
        if stack:
            stack[-1].text += data

    p.StartElementHandler = start
    p.EndElementHandler = end
    p.CharacterDataHandler = chars
    p.StartDoctypeDeclHandler = lambda *a: refuse("a DOCTYPE declaration")
    p.EntityDeclHandler = lambda *a: refuse("an entity declaration")
    # typeshed types this handler as returning int; refuse() raises, so it never returns
    p.ExternalEntityRefHandler = lambda *a: refuse("an external entity reference")  # type: ignore[assignment]  # raises
    try:
        p.Parse(raw, True)
    except expat.ExpatError as exc:
        raise InputError(Problem(f"malformed XML: {expat.ErrorString(exc.code)}", file=file, line=exc.lineno,
                                 column=f"char {exc.offset + 1}", expected="well-formed XML")) from None
    except (LookupError, UnicodeError, ValueError) as exc:
        # the XML declaration names an encoding Python does not know (or not a text codec);
        # expat asks Python for it and passes the LookupError on
        raise InputError(Problem(f"unknown encoding in the XML declaration ({exc})", file=file, line=1,
                                 column="encoding", value=_declared_encoding(raw),
                                 expected="encoding=\"UTF-8\" (or another text encoding, or no declaration)")) from None
    if not root:
        raise InputError(Problem("no XML element found", file=file, expected="a <Scenario> element"))
    return root[0]


def _declared_encoding(raw: bytes) -> str | None:
    """The ``encoding="..."`` of the XML declaration, if any (for the problem's value)."""
    import re

    m = re.match(rb"\s*<\?xml[^>]*?encoding\s*=\s*[\"']([^\"']{0,80})[\"']", raw[:400])
    return m.group(1).decode("ascii", errors="replace") if m else None


def looks_like_ktab_xml(head: bytes) -> bool:
    """True when the first bytes of a file look like a KTAB SMP scenario."""
    return b"<Scenario" in head


def _num(node: _Node | None, what: str, file: str, problems: list[Problem], parent_line: int) -> float | None:
    if node is None:
        problems.append(Problem(f"missing element <{what}>", file=file, line=parent_line, column=what,
                                expected="a number"))
        return None
    if node.text == "":
        problems.append(Problem(f"empty element <{what}>", file=file, line=node.line, column=what, value="",
                                expected="a number"))
        return None
    try:
        v = float(node.text)
    except ValueError:
        problems.append(Problem(f"<{what}> is not a number", file=file, line=node.line, column=what,
                                value=node.text, expected="a number"))
        return None
    if not math.isfinite(v):
        problems.append(Problem(f"<{what}> is not a finite number", file=file, line=node.line, column=what,
                                value=node.text, expected="a finite number"))
        return None
    return v


def parse_ktab_xml_bytes(raw: bytes, *, file: str = "<xml>") -> Scenario:
    """Parse the bytes of a KTAB SMP XML scenario (see the module docstring)."""
    root = _parse(raw, file)
    problems: list[Problem] = []
    if root.tag != "Scenario":
        raise InputError(Problem("root element is not <Scenario>", file=file, line=root.line, value=root.tag,
                                 expected="<Scenario>"))

    def text(tag: str, limit: int) -> str | None:
        n = root.find(tag)
        if n is None:
            return None
        if len(n.text) > limit:
            problems.append(Problem(f"<{tag}> longer than {limit} characters", file=file, line=n.line, column=tag,
                                    value=n.text, expected=f"at most {limit} characters"))
        return n.text or None

    name = text("name", MAX_SCEN_TEXT)
    desc = text("desc", MAX_SCEN_TEXT)

    seed_node = root.find("prngSeed")
    seed: str | None = None
    if seed_node is None:
        problems.append(Problem("missing element <prngSeed>", file=file, line=root.line, column="prngSeed",
                                expected="a decimal unsigned 64-bit integer"))
    elif not (seed_node.text.isdigit() and int(seed_node.text) < 2**64):
        problems.append(Problem("<prngSeed> is not an unsigned 64-bit integer", file=file, line=seed_node.line,
                                column="prngSeed", value=seed_node.text, expected="a decimal integer in [0, 2^64)"))
    else:
        seed = str(int(seed_node.text))

    params: dict[str, str] | None = None
    mp = root.find("ModelParameters")
    if mp is not None:
        params = {}
        for pname, options in KTAB_PARAM_OPTIONS.items():
            n = mp.find(pname)
            if n is None or n.text == "":
                problems.append(Problem(f"ModelParameters: missing or empty <{pname}>", file=file,
                                        line=(n.line if n is not None else mp.line), column=pname,
                                        expected=" | ".join(options)))
                continue
            v = _ALIASES.get(pname, {}).get(n.text, n.text)
            if v not in options:
                problems.append(Problem(f"unknown option for <{pname}>", file=file, line=n.line, column=pname,
                                        value=n.text, expected=" | ".join(options)))
                continue
            params[pname] = v
        known = set(KTAB_PARAM_OPTIONS)
        for c in mp.children:
            if c.tag not in known:
                problems.append(Problem("unknown model parameter", file=file, line=c.line, column=c.tag,
                                        expected=", ".join(KTAB_PARAM_OPTIONS)))

    dims: list[str] = []
    dn = root.find("Dimensions")
    if dn is None:
        problems.append(Problem("missing element <Dimensions>", file=file, line=root.line, column="Dimensions",
                                expected="<Dimensions> with one <dName> per dimension"))
    else:
        for d in dn.findall("dName"):
            if d.text == "":
                problems.append(Problem("empty <dName>", file=file, line=d.line, column="dName", value="",
                                        expected="a dimension name"))
            elif len(d.text) > MAX_DIM_NAME:
                problems.append(Problem(f"<dName> longer than {MAX_DIM_NAME} characters", file=file, line=d.line,
                                        column="dName", value=d.text, expected="a shorter name"))
            elif d.text in dims:
                problems.append(Problem("duplicate dimension name", file=file, line=d.line, column="dName",
                                        value=d.text, expected="unique names"))
            else:
                dims.append(d.text)
        if not dn.findall("dName"):
            problems.append(Problem("no <dName> in <Dimensions>", file=file, line=dn.line, column="Dimensions",
                                    expected="at least one dimension"))
    K = len(dims)

    actors: list[dict[str, Any]] = []
    stances: list[dict[str, Any]] = []
    names: dict[str, int] = {}
    an = root.find("Actors")
    actor_nodes = an.findall("Actor") if an is not None else []
    if an is None:
        problems.append(Problem("missing element <Actors>", file=file, line=root.line, column="Actors",
                                expected="<Actors> with at least 3 <Actor>"))
    elif len(actor_nodes) < 3:
        problems.append(Problem("too few actors", file=file, line=an.line, column="Actors", value=len(actor_nodes),
                                expected="at least 3 actors"))
    for a in actor_nodes:
        nm_node = a.find("name")
        nm = nm_node.text if nm_node is not None else ""
        where = f"Actor {nm!r}" if nm else "Actor"
        if not nm:
            problems.append(Problem("actor without a name", file=file, line=(nm_node or a).line, column="name",
                                    value="", expected=f"1 to {MAX_ACTOR_NAME} characters"))
        elif len(nm) > MAX_ACTOR_NAME:
            problems.append(Problem(f"actor name longer than {MAX_ACTOR_NAME} characters", file=file,
                                    line=(nm_node or a).line, column="name", value=nm,
                                    expected=f"1 to {MAX_ACTOR_NAME} characters"))
        elif nm in names:
            problems.append(Problem("duplicate actor name", file=file, line=(nm_node or a).line,
                                    column="name", value=nm, expected="unique actor names"))
        dsc_node = a.find("description")
        dsc = dsc_node.text if dsc_node is not None else ""
        if len(dsc) > MAX_ACTOR_DESC:
            problems.append(Problem(f"{where}: description longer than {MAX_ACTOR_DESC} characters", file=file,
                                    line=(dsc_node or a).line, column="description", value=dsc,
                                    expected=f"at most {MAX_ACTOR_DESC} characters"))
        cap_node = a.find("capability")
        cap = _num(cap_node, "capability", file, problems, a.line)
        if cap is not None and not cap > 0:
            problems.append(Problem(f"{where}: capability must be positive", file=file,
                                    line=(cap_node or a).line, column="capability",
                                    value=cap, expected="a number > 0"))
        pos_node, sal_node = a.find("Position"), a.find("Salience")
        coords = pos_node.findall("dCoord") if pos_node is not None else []
        sals = sal_node.findall("dSal") if sal_node is not None else []
        for tag, nodes, parent in (("dCoord", coords, pos_node), ("dSal", sals, sal_node)):
            if len(nodes) != K:
                problems.append(Problem(f"{where}: {len(nodes)} <{tag}> for {K} dimensions", file=file,
                                        line=(parent or a).line, column=tag, value=len(nodes),
                                        expected=f"exactly {K}"))
        pv = [_num(n, "dCoord", file, problems, a.line) for n in coords]
        sv = [_num(n, "dSal", file, problems, a.line) for n in sals]
        for n, x in zip(coords, pv):
            if x is not None and not 0 <= x <= 100:
                problems.append(Problem(f"{where}: position outside [0, 100]", file=file, line=n.line,
                                        column="dCoord", value=x, expected="a number in [0, 100]"))
        for n, x in zip(sals, sv):
            if x is not None and not 0 <= x <= 100:
                problems.append(Problem(f"{where}: salience outside [0, 100]", file=file, line=n.line,
                                        column="dSal", value=x, expected="a number in [0, 100]"))
        sal_vals = [x for x in sv if x is not None]
        if sv and len(sal_vals) == len(sv):
            tot = sum(sal_vals)
            if tot > 100 + SAL_ALLOWANCE:
                problems.append(Problem(f"{where}: total salience above 100", file=file, line=(sal_node or a).line,
                                        column="Salience", value=tot, expected="a total of at most 100"))
            elif not tot > 0:
                problems.append(Problem(f"{where}: total salience is 0", file=file, line=(sal_node or a).line,
                                        column="Salience", value=tot, expected="a positive salience on some dimension"))
        if nm and nm not in names:
            names[nm] = len(actors)
            actors.append({"id": nm, "description": dsc or None, "capability": cap if cap is not None else 1.0})
            if len(pv) == K and len(sv) == K:
                for dname, x, s in zip(dims, pv, sv):
                    stances.append({"actor": nm, "issue": dname, "position": x if x is not None else 0.0,
                                    "salience": s if s is not None else 0.0})

    ia: list[dict[str, Any]] = []
    ian = root.find("IdealAdjustment")
    if ian is not None:
        rows: dict[str, float] = {}
        for pr in ian.findall("iaPair"):
            adj_n, ref_n = pr.find("adjustingIdeal"), pr.find("referencePos")
            rec: dict[str, Any] = {}
            ok = True
            for key, n, tag in (("adjusting", adj_n, "adjustingIdeal"), ("reference", ref_n, "referencePos")):
                if n is None or n.text not in names:
                    problems.append(Problem(f"iaPair: actor not found in <{tag}>", file=file,
                                            line=(n or pr).line, column=tag, value=(n.text if n else None),
                                            expected="the name of an actor of the file"))
                    ok = False
                else:
                    rec[key] = n.text
            adj = _num(pr.find("adjust"), "adjust", file, problems, pr.line)
            if adj is None or not ok:
                continue
            rec["adjust"] = adj
            ia.append(rec)
        # row sums of the resulting matrix (identity start)
        mat: dict[tuple[str, str], float] = {}
        for rec in ia:
            mat[(rec["adjusting"], rec["reference"])] = rec["adjust"]
        for nm in names:
            row = mat.get((nm, nm), 1.0)
            row += sum(v for (a_, r_), v in mat.items() if a_ == nm and r_ != nm)
            rows[nm] = row
            if row < 0:
                problems.append(Problem("ideal adjustments of this actor sum to a negative weight", file=file,
                                        line=ian.line, column="IdealAdjustment", value=nm,
                                        expected="a non-negative row sum"))

    if problems:
        raise InputError(problems)
    meta: dict[str, Any] = {"format": "ktab_xml"}
    smp: dict[str, Any] = {"seed": seed}
    if params is not None:
        smp["parameters"] = params
    if ia:
        smp["ideal_adjustment"] = ia
    meta["smp"] = smp
    data = {
        "name": name or Path(file).stem or "scenario",
        "description": desc,
        "salience_scale": "percent",
        "actors": actors,
        "issues": [{"id": d, "name": d, "lower": 0.0, "upper": 100.0} for d in dims],
        "stances": stances,
        "metadata": meta,
    }
    return build_scenario(data, file=file)


def read_ktab_xml(path: str | Path, **options: Any) -> Scenario:
    """Read a KTAB SMP XML scenario file.

    Parameters
    ----------
    path
        The ``.xml`` file (UTF-8, a byte-order mark is allowed).

    Returns
    -------
    Scenario
        One issue per dimension on [0, 100]; model parameters, ideal adjustments and the seed
        in ``metadata["smp"]``.

    Raises
    ------
    InputError
        Listing every problem with its line.
    """
    if options:
        raise InputError(Problem("unknown reader options", file=str(path), value=", ".join(options),
                                 expected="no options"))
    return parse_ktab_xml_bytes(Path(path).read_bytes(), file=str(path))
