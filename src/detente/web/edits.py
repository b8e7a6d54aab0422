"""Saving cell edits of a library scenario to the file that was edited.

The web UI edits numbers (positions, saliences, capabilities) of a scenario in the user's
library. An edit is written back to *the same file, in its own format*, and never anywhere
else without the user's say:

* **detente YAML/JSON**: the numbers are replaced *in the text*, at the character span of
  each value (found with PyYAML's node marks), so comments, key order, quoting of the
  other values, anchors and ``{file: ...}`` table references stay as they were. A value
  that lives in a referenced CSV/TSV table (``stances: {file: stances.csv}``) is changed
  in that table, one row rewritten, the rest of its text untouched. Lists of mappings and
  compact ``columns``/``rows`` tables are supported; a value the file does not spell out
  (a default), an inline CSV block, a referenced workbook or a reference outside the
  library folder cannot be edited in place.
* **delimited tables** whose header names the columns (long tables, 4-column BDM tables):
  the rows holding the edited values are rewritten, the rest of the text kept;
* **other tables** (long XLSX, KTAB CSV, Decide, or a table whose cells cannot be found):
  the edited scenario is written with the writer of the file's own format
  (:data:`detente.formats.registry.FORMATS`). Formats without a writer (KTAB XML, BDM
  workbooks) cannot be edited in place.

Every in-place edit is checked by reading the file back: the scenario read must be the
edited one (equal in everything but the reader's metadata and bounds it inferred). If it is not — the format could not hold the edit, an
alias shared the value, a delimiter was guessed wrongly — the previous bytes of every file
touched are put back and :class:`CannotEditInPlace` is raised, so a failed edit changes
nothing. The caller then offers to save the edited scenario as a *new* YAML file under a
name the user chooses; an existing file is replaced only with an explicit ``overwrite``.
"""

from __future__ import annotations

import csv
import io
import itertools
import tempfile
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from detente.formats import load as load_scenario
from detente.formats.common import fmt_number, guess_delimiter, split_rows
from detente.scenario import Scenario
from detente.store.files import atomic_write_bytes

__all__ = ["Change", "CannotEditInPlace", "changes_between", "save_in_place"]

_YAML_SUFFIXES = (".yaml", ".yml", ".json")


class CannotEditInPlace(Exception):
    """The edit cannot be written into the edited file without loss; nothing was changed."""


@dataclass(frozen=True)
class Change:
    """One changed number: ``table`` is ``"actors"`` (capability of actor ``actor``) or
    ``"stances"`` (``field`` of the stance of ``actor`` on ``issue``)."""

    table: str
    actor: str
    issue: str | None
    field: str
    value: float


def changes_between(old: Scenario, new: Scenario) -> list[Change]:
    """The numbers that differ between two versions of a scenario with the same actors,
    issues and stances (what the cell editor can change)."""
    out: list[Change] = []
    olda = {a.id: a for a in old.actors}
    for a in new.actors:
        if a.capability != olda[a.id].capability:
            out.append(Change("actors", a.id, None, "capability", float(a.capability)))
    olds = {(s.actor, s.issue): s for s in old.stances}
    for s in new.stances:
        o = olds[(s.actor, s.issue)]
        for f in ("position", "salience", "capability"):
            v = getattr(s, f)
            if v != getattr(o, f):
                if v is None:
                    raise CannotEditInPlace(f"cannot remove the {f} of {s.actor}/{s.issue}")
                out.append(Change("stances", s.actor, s.issue, f, float(v)))
    return out


def save_in_place(path: Path, old: Scenario, new: Scenario, *, library: Path, fmt: str) -> list[str]:
    """Write the edit ``old`` → ``new`` into ``path`` (format ``fmt``, as sniffed by the
    registry); return the names of the files changed (empty when nothing changed).

    Raises
    ------
    CannotEditInPlace
        The file (or a table it references) cannot hold the edit; every file is unchanged.
    """
    changes = changes_between(old, new)
    if not changes:
        return []
    if path.suffix.lower() in _YAML_SUFFIXES and fmt in ("yaml", "json"):
        writes = _yaml_writes(path, changes, library)
        _commit_and_verify(path, writes, new)
        return [p.name for p in writes]
    # a table: change its cells where the header names the columns (long and BDM tables);
    # else (or if that does not read back right) write it with its format's writer
    try:
        if fmt not in ("csv", "bdm") or path.suffix.lower() not in (".csv", ".tsv", ".txt"):
            raise CannotEditInPlace(f"{fmt} tables are not edited cell by cell")
        writes = {path: _edit_csv_cells(path, [("table", ch) for ch in changes], one_issue=len(new.issues) == 1)}
        _commit_and_verify(path, writes, new)
    except CannotEditInPlace:
        writes = {path: _table_bytes(path, new, fmt)}
        _commit_and_verify(path, writes, new)
    return [p.name for p in writes]


def _comparable(scn: Scenario) -> dict[str, Any]:
    """What an in-place edit must preserve: the scenario without its reader metadata, and
    without the bounds of issues whose bounds the reader inferred from the data (a table
    without bound columns: an edit beyond the old range widens them, as a fresh read would)."""
    doc = scn.model_dump(mode="json")
    meta = doc.pop("metadata", None) or {}
    inferred = set(((meta.get("inferred") or {}).get("bounds") or {}) if isinstance(meta, dict) else ())
    for i in doc.get("issues", []):
        if i.get("id") in inferred:
            i.pop("lower", None)
            i.pop("upper", None)
    return doc


# ---------------------------------------------------------------- commit, check, roll back


def _commit_and_verify(path: Path, writes: dict[Path, bytes], expected: Scenario) -> None:
    before = {p: p.read_bytes() for p in writes}
    done: list[Path] = []
    try:
        for p, data in writes.items():
            atomic_write_bytes(p, data)
            done.append(p)
        try:
            got = load_scenario(path)
        except Exception as exc:  # noqa: BLE001 - any failure to read back is a refusal
            raise CannotEditInPlace(f"the edited file does not read back ({exc})") from None
        if _comparable(got) != _comparable(expected):
            raise CannotEditInPlace("the edited file does not read back as the edited scenario")
    except BaseException:
        for p in done:
            atomic_write_bytes(p, before[p])
        raise


# ---------------------------------------------------------------- tables in their own format


def _table_bytes(path: Path, new: Scenario, fmt: str) -> bytes:
    from detente.formats.registry import FORMATS

    writer = FORMATS.get(fmt, (None, None))[1]
    if writer is None:
        raise CannotEditInPlace(f"detente cannot write {fmt} files, so {path.name} cannot be edited in place")
    import importlib

    mod, attr = writer.split(":")
    with tempfile.TemporaryDirectory() as td:
        tmp = Path(td) / path.name
        try:
            getattr(importlib.import_module(mod), attr)(new, tmp)
        except Exception as exc:  # noqa: BLE001 - e.g. InputError: the format cannot hold the scenario
            raise CannotEditInPlace(f"a {fmt} file cannot hold the edited scenario ({exc})") from None
        return tmp.read_bytes()


# ---------------------------------------------------------------- YAML text edits


def _nfc(v: Any) -> str:
    return unicodedata.normalize("NFC", str(v).strip())


def _norm(h: Any) -> str:
    # header names as the YAML reader matches them: case-insensitive, "_" or space
    return "_".join(str(h if h is not None else "").replace("_", " ").split()).lower()


def _get(node: yaml.MappingNode, key: str) -> yaml.Node | None:
    for k, v in node.value:
        if isinstance(k, yaml.ScalarNode) and k.value == key:
            return v
    return None


def _decode(raw: bytes) -> tuple[str, bytes]:
    bom = b"\xef\xbb\xbf" if raw.startswith(b"\xef\xbb\xbf") else b""
    return raw[len(bom):].decode("utf-8"), bom


def _yaml_writes(path: Path, changes: list[Change], library: Path) -> dict[Path, bytes]:
    try:
        text, bom = _decode(path.read_bytes())
        # JSON allows tabs between tokens where YAML does not; one space keeps the offsets
        root = yaml.compose(text.replace("\t", " ") if path.suffix.lower() == ".json" else text,
                            Loader=yaml.SafeLoader)
    except (UnicodeDecodeError, yaml.YAMLError) as exc:
        raise CannotEditInPlace(f"{path.name} cannot be parsed for editing ({exc})") from None
    if not isinstance(root, yaml.MappingNode):
        raise CannotEditInPlace(f"{path.name} is not a scenario document")
    spans: list[tuple[int, int, str]] = []
    table_edits: dict[Path, list[tuple[str, Change]]] = {}
    for ch in changes:
        tnode = _get(root, ch.table)
        where = f"{ch.actor}/{ch.issue}" if ch.issue else ch.actor
        if isinstance(tnode, yaml.SequenceNode):
            spans.append(_span_in_list(tnode, ch, where))
        elif isinstance(tnode, yaml.MappingNode) and _get(tnode, "columns") is not None:
            spans.append(_span_in_compact(tnode, ch, where))
        elif isinstance(tnode, yaml.MappingNode) and _get(tnode, "file") is not None:
            ref = _get(tnode, "file")
            opts = {k.value for k, _ in tnode.value} - {"file"}
            if opts or not isinstance(ref, yaml.ScalarNode):
                raise CannotEditInPlace(f"the {ch.table} table reference of {path.name} has options "
                                        f"({', '.join(sorted(opts))}); edit the referenced table itself")
            table_edits.setdefault(_referenced(path, ref.value, library), []).append((ch.table, ch))
        else:
            raise CannotEditInPlace(f"the {ch.table} of {path.name} are not a list or a table the editor can change")
    writes: dict[Path, bytes] = {}
    if spans:
        spans.sort()
        for (a0, a1, _), (b0, _b1, _) in itertools.pairwise(spans):
            if b0 < a1 or a0 == b0:
                raise CannotEditInPlace(f"two edits of {path.name} fall on the same value (a YAML alias?)")
        out, pos = [], 0
        for s0, s1, rep in spans:
            out += [text[pos:s0], rep]
            pos = s1
        out.append(text[pos:])
        writes[path] = bom + "".join(out).encode("utf-8")
    for tpath, edits in table_edits.items():
        writes[tpath] = _edit_csv_cells(tpath, edits)
    return writes


def _number(v: float) -> str:
    return fmt_number(v)


def _scalar_span(node: yaml.Node | None, ch: Change, where: str, container: str) -> tuple[int, int, str]:
    if not isinstance(node, yaml.ScalarNode):
        raise CannotEditInPlace(f"the {ch.field} of {where} is not written in the {container} "
                                "(a default or a structured value); it cannot be set in place")
    return node.start_mark.index, node.end_mark.index, _number(ch.value)


def _span_in_list(seq: yaml.SequenceNode, ch: Change, where: str) -> tuple[int, int, str]:
    hits = []
    for item in seq.value:
        if not isinstance(item, yaml.MappingNode):
            continue
        if ch.table == "actors":
            idn = _get(item, "id")
            if isinstance(idn, yaml.ScalarNode) and _nfc(idn.value) == ch.actor:
                hits.append(item)
        else:
            a, i = _get(item, "actor"), _get(item, "issue")
            if (isinstance(a, yaml.ScalarNode) and isinstance(i, yaml.ScalarNode)
                    and _nfc(a.value) == ch.actor and _nfc(i.value) == ch.issue):
                hits.append(item)
    if len(hits) != 1:
        raise CannotEditInPlace(f"{where} is not found exactly once in the {ch.table} list")
    return _scalar_span(_get(hits[0], ch.field), ch, where, f"{ch.table} entry")


def _span_in_compact(table: yaml.MappingNode, ch: Change, where: str) -> tuple[int, int, str]:
    cols, rows = _get(table, "columns"), _get(table, "rows")
    if not isinstance(cols, yaml.SequenceNode) or not isinstance(rows, yaml.SequenceNode):
        raise CannotEditInPlace(f"the compact {ch.table} table is malformed")
    names = [_norm(c.value) if isinstance(c, yaml.ScalarNode) else "" for c in cols.value]
    keys = ["id"] if ch.table == "actors" else ["actor", "issue"]
    if ch.field not in names or any(k not in names for k in keys):
        raise CannotEditInPlace(f"the compact {ch.table} table has no {ch.field} column; it cannot be set in place")
    want = [ch.actor] if ch.table == "actors" else [ch.actor, ch.issue]
    hits = []
    for r in rows.value:
        if not isinstance(r, yaml.SequenceNode) or len(r.value) != len(names):
            continue
        vals = [r.value[names.index(k)] for k in keys]
        if all(isinstance(v, yaml.ScalarNode) and _nfc(v.value) == w for v, w in zip(vals, want)):
            hits.append(r)
    if len(hits) != 1:
        raise CannotEditInPlace(f"{where} is not found exactly once in the compact {ch.table} table")
    return _scalar_span(hits[0].value[names.index(ch.field)], ch, where, f"compact {ch.table} table")


def _referenced(path: Path, ref: str, library: Path) -> Path:
    """The referenced table file, if it is a CSV-like file named plainly in the library folder."""
    from detente.web.security import safe_join

    if Path(ref).name != ref or path.parent.resolve() != library.resolve():
        raise CannotEditInPlace(f"the referenced table {ref!r} is not a file of the library folder; "
                                "edit it outside the web UI")
    p = safe_join(library, ref)
    if p is None or not p.is_file():
        raise CannotEditInPlace(f"the referenced table {ref!r} is not a plain file of the library")
    if p.suffix.lower() not in (".csv", ".tsv", ".txt"):
        raise CannotEditInPlace(f"the referenced table {ref!r} is not a text table (workbooks are not edited in place)")
    return p


def _edit_csv_cells(path: Path, edits: list[tuple[str, Change]], *, one_issue: bool = False) -> bytes:
    """Change cells of a delimited table, rewriting only the rows that change.

    ``edits`` pairs each change with the kind of table: ``"actors"`` or ``"stances"`` (a
    table referenced by a YAML document: rows keyed by ``id``, or ``actor`` and ``issue``)
    or ``"table"`` (a scenario table: rows keyed by ``actor`` and, when the table has one,
    ``issue``; an actor's capability is changed on every row of the actor)."""
    try:
        text, bom = _decode(path.read_bytes())
    except UnicodeDecodeError:
        raise CannotEditInPlace(f"the referenced table {path.name} is not UTF-8 text") from None
    delim = guess_delimiter(text)
    rows = split_rows(text, delimiter=delim)
    if not rows:
        raise CannotEditInPlace(f"the referenced table {path.name} is empty")
    lines = text.splitlines(keepends=True)
    (_hline, header), *body = rows
    names = [_norm(h) for h in header]
    new_cells: dict[int, list[str]] = {}
    for table, ch in edits:
        keys: list[str]
        want: list[str | None]
        if table == "table":
            keys, want = ["actor"], [ch.actor]
            if ch.issue is not None and not ("issue" not in names and one_issue):
                keys, want = ["actor", "issue"], [ch.actor, ch.issue]
        elif table == "actors":
            keys, want = ["id"], [ch.actor]
        else:
            keys, want = ["actor", "issue"], [ch.actor, ch.issue]
        if ch.field not in names or any(k not in names for k in keys):
            raise CannotEditInPlace(f"{path.name} has no {ch.field} column; it cannot be set in place")
        hits = [(k, ln) for k, (ln, cells) in enumerate(body, start=1)
                if all(names.index(c) < len(cells) and _nfc(cells[names.index(c)]) == w for c, w in zip(keys, want))]
        if not hits or (len(hits) > 1 and not (table == "table" and ch.issue is None)):
            raise CannotEditInPlace(f"{ch.actor}/{ch.issue or ''} is not found exactly once in {path.name}")
        for k, ln in hits:
            alone = split_rows(lines[ln - 1], delimiter=delim)
            if len(alone) != 1 or alone[0][1] != body[k - 1][1]:
                raise CannotEditInPlace(f"row {ln} of {path.name} spans several lines; it cannot be edited in place")
            cells = new_cells.setdefault(ln, list(body[k - 1][1]))
            j = names.index(ch.field)
            cells += [""] * (j + 1 - len(cells))
            cells[j] = _number(ch.value)
    for ln, cells in new_cells.items():
        old = lines[ln - 1]
        ending = old[len(old.rstrip("\r\n")):]
        buf = io.StringIO()
        csv.writer(buf, delimiter=delim, lineterminator=ending or "").writerow(cells)
        lines[ln - 1] = buf.getvalue()
    return bom + "".join(lines).encode("utf-8")
