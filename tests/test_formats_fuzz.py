"""Fuzz test over every reader of the registry: mutated valid files (byte flips, truncation,
duplicated, dropped and swapped lines, random insertions, hostile tokens, other encodings;
for workbooks also damaged archives and mutated sheet XML) must each give a Scenario or an
``InputError`` whose problems name the file. Any other exception fails the test.

Seeded (``FUZZ_SEED``; set ``DETENTE_FUZZ_SEED`` to explore other cases, and
``DETENTE_FUZZ_CASES`` for more cases per format), so a failure is reproducible from the
case description printed with it. A few cases per format also go through the CLI
(``detente validate --json``): exit 0 or 2 and one JSON object, never 1 or a traceback.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import openpyxl
import pytest
from typer.testing import CliRunner

from detente.cli import app
from detente.errors import InputError
from detente.formats import FORMATS, load, save
from detente.scenario import Scenario

FIX = Path(__file__).resolve().parent / "fixtures"
SRC = Path(__file__).resolve().parents[1] / "src"
FUZZ_SEED = int(os.environ.get("DETENTE_FUZZ_SEED", "20261206"))
CASES = int(os.environ.get("DETENTE_FUZZ_CASES", "36"))  # per source file: 13 sources -> ~470 cases

# values that have broken parsers before: non-finite and huge numbers, booleans, base-60,
# surrogate escapes, formulas, quotes, BOMs, NULs, undecodable and multi-byte UTF-8
TOKENS = [b"nan", b"inf", b"-1e400", b"1e308", b"true", b"yes", b"1:20", b"9" * 4400, b"", b"-0",
          b"\\ud800", b"=1+2", b"'", b'"', b"\xef\xbb\xbf", b"\x00", b"\xff", b"\xc3", b"Cafe\xcc\x81",
          b"\r", b"\t", b";", b",", b"#A", b"<!DOCTYPE x>", b"&amp;", b"]]>", b"{file: /etc/passwd}",
          b"*a", b"&a ", b"!!python/object:os.system", b"0x1F", b"1_000", b"~", b"null"]
ENCODINGS = ["utf-16", "utf-16-le", "utf-32", "cp1252", "latin-1", "utf-8-sig", "mac_roman", "cp437"]


# --------------------------------------------------------------------------- sources
def _bdm_xlsx(dst: Path) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    for line in (FIX / "formats" / "bdm_emission.csv").read_text(encoding="utf-8").splitlines():
        if line.strip():
            ws.append([float(c) if c.replace(".", "", 1).isdigit() else c for c in line.split(",")])
    wb.save(dst)
    return dst


def _fixed_xlsx(path: Path) -> Path:
    """Rewrite a workbook with fixed timestamps (archive entries and document properties), so
    the mutants made from it are the same bytes in every run."""
    import re

    with zipfile.ZipFile(path) as z:
        parts = [(n, z.read(n)) for n in z.namelist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for n, data in parts:
            if n == "docProps/core.xml":
                data = re.sub(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", b"2021-12-06T00:00:00Z", data)
            z.writestr(zipfile.ZipInfo(n, date_time=(2021, 12, 6, 0, 0, 0)), data, zipfile.ZIP_DEFLATED)
    return path


def make_sources(d: Path) -> list[tuple[str, Path]]:
    """(format, valid file) for every format the registry reads; generated files go to ``d``."""
    f = FIX / "formats"
    out = [("yaml", f / "full.yaml"), ("yaml", f / "referenced.yaml"), ("csv", f / "long.csv"),
           ("bdm", f / "bdm_emission.csv"), ("ktab_csv", f / "ktab_small.csv"),
           ("decide", f / "decide_small.csv"), ("decide", f / "decide_cp1252.csv"),
           ("ktab_xml", FIX / "smp" / "smpExample-det.xml"), ("deu", FIX / "deu" / "deu_sample.csv")]
    out.append(("json", save(load(f / "full.yaml"), d / "full.json")))
    out.append(("xlsx", _fixed_xlsx(save(load(f / "long.csv"), d / "long.xlsx"))))
    out.append(("bdm_xlsx", _fixed_xlsx(_bdm_xlsx(d / "bdm.xlsx"))))
    out.append(("yaml", save(load(f / "full.yaml"), d / "compact.yaml", compact=True)))
    return out


@pytest.fixture(scope="module")
def sources(tmp_path_factory) -> list[tuple[str, Path]]:
    out = make_sources(tmp_path_factory.mktemp("fuzz_sources"))
    for fmt, p in out:  # every source is valid to start with
        assert isinstance(load(p, format=fmt), Scenario), (fmt, p)
    return out


def test_every_reading_format_is_fuzzed(sources):
    assert {fmt for fmt, _p in sources} == {k for k, (r, _w) in FORMATS.items() if r}


def test_sources_and_mutants_are_reproducible(sources, tmp_path):
    """Generated sources (workbooks carry timestamps) and their mutants are the same bytes
    when made again later."""
    import hashlib
    import time

    def digest(srcs) -> str:
        h = hashlib.sha256()
        rng = np.random.default_rng(FUZZ_SEED)
        for fmt, src in srcs:
            for _k, data, _done in mutants(fmt, src, rng, 3):
                h.update(data)
        return h.hexdigest()

    time.sleep(2.1)  # a later time in every timestamp (zip entries count in steps of 2 s)
    assert digest(sources) == digest(make_sources(tmp_path))


# --------------------------------------------------------------------------- mutations
def _lines(b: bytes) -> list[bytes]:
    return b.splitlines(keepends=True) or [b]


def mutate_text(raw: bytes, rng: np.random.Generator) -> tuple[bytes, list[str]]:
    """One to three random edits of ``raw``; returns the bytes and what was done."""
    b = bytearray(raw)
    done: list[str] = []
    for _ in range(int(rng.integers(1, 4))):
        op = int(rng.integers(0, 9))
        n = max(len(b), 1)
        pos = int(rng.integers(0, n))
        if op == 0:  # flip bits of a few bytes
            for _k in range(int(rng.integers(1, 6))):
                if b:
                    i = int(rng.integers(0, len(b)))
                    b[i] ^= int(rng.integers(1, 256))
            done.append("flip")
        elif op == 1:  # truncate
            del b[pos:]
            done.append(f"truncate@{pos}")
        elif op == 2:  # duplicate a line
            ls = _lines(bytes(b))
            k = int(rng.integers(0, len(ls)))
            ls.insert(k, ls[k])
            b = bytearray(b"".join(ls))
            done.append(f"dup-line{k}")
        elif op == 3:  # drop a line
            ls = _lines(bytes(b))
            k = int(rng.integers(0, len(ls)))
            del ls[k]
            b = bytearray(b"".join(ls))
            done.append(f"drop-line{k}")
        elif op == 4:  # swap two lines
            ls = _lines(bytes(b))
            i, j = (int(x) for x in rng.integers(0, len(ls), 2))
            ls[i], ls[j] = ls[j], ls[i]
            b = bytearray(b"".join(ls))
            done.append(f"swap{i},{j}")
        elif op == 5:  # random bytes
            ins = bytes(int(x) for x in rng.integers(0, 256, int(rng.integers(1, 8))))
            b[pos:pos] = ins
            done.append(f"insert-random@{pos}")
        elif op == 6:  # a hostile token
            t = TOKENS[int(rng.integers(0, len(TOKENS)))]
            b[pos:pos] = t
            done.append(f"insert{t[:12]!r}@{pos}")
        elif op == 7:  # replace a number by a hostile token
            text = bytes(b)
            starts = [i for i in range(len(text)) if text[i:i + 1].isdigit() and (i == 0 or not text[i - 1:i].isdigit())]
            if starts:
                i = starts[int(rng.integers(0, len(starts)))]
                j = i
                while j < len(text) and (text[j:j + 1].isdigit() or text[j:j + 1] == b"."):
                    j += 1
                t = TOKENS[int(rng.integers(0, 10))]
                b[i:j] = t
                done.append(f"number->{t[:12]!r}")
        else:  # another encoding
            enc = ENCODINGS[int(rng.integers(0, len(ENCODINGS)))]
            b = bytearray(bytes(b).decode("utf-8", errors="replace").encode(enc, errors="replace"))
            done.append(f"encode-{enc}")
    return bytes(b), done


def mutate_xlsx(raw: bytes, rng: np.random.Generator) -> tuple[bytes, list[str]]:
    """Either damage the archive's bytes or mutate the XML of one part and re-zip it."""
    if rng.random() < 0.35:
        b, done = mutate_text(raw, rng)
        return b, ["zip:" + d for d in done]
    with zipfile.ZipFile(io.BytesIO(raw)) as z:
        names = z.namelist()
        parts = {n: z.read(n) for n in names}
    xmls = [n for n in names if n.endswith((".xml", ".rels"))]
    sheets = [n for n in xmls if "worksheets/" in n or "sharedStrings" in n]
    target = sheets[int(rng.integers(0, len(sheets)))] if sheets and rng.random() < 0.7 else \
        xmls[int(rng.integers(0, len(xmls)))]
    parts[target], done = mutate_text(parts[target], rng)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for n in names:  # a fixed entry time: the same mutant bytes in every run
            z.writestr(zipfile.ZipInfo(n, date_time=(2021, 12, 6, 0, 0, 0)), parts[n], zipfile.ZIP_DEFLATED)
    return out.getvalue(), [f"{target}:" + d for d in done]


def mutants(fmt: str, src: Path, rng: np.random.Generator, n: int):
    raw = src.read_bytes()
    for k in range(n):
        if fmt.endswith("xlsx"):
            yield k, *mutate_xlsx(raw, rng)
        else:
            yield k, *mutate_text(raw, rng)


# --------------------------------------------------------------------------- checking
def outcome(path: Path, fmt: str | None, allowed_files: set[str]) -> str | None:
    """None when reading ``path`` gives a Scenario or a well-formed InputError, else what went wrong."""
    try:
        scn = load(path, format=fmt)
    except InputError as exc:
        if not exc.problems:
            return "InputError without problems"
        unnamed = [str(p) for p in exc.problems if not p.file]
        if unnamed:
            return f"problem(s) without a file: {unnamed[:2]}"
        foreign = [p.file for p in exc.problems if p.file not in allowed_files]
        if foreign:
            return f"problem names another file: {foreign[:2]}"
        try:
            str(exc)
            json.dumps(exc.to_dict(), allow_nan=False)
        except Exception as e:  # noqa: BLE001 - the finding
            return f"problems do not render: {type(e).__name__}: {e}"
        return None
    except Exception as e:  # noqa: BLE001 - the finding
        return f"{type(e).__name__}: {str(e)[:200]}"
    if not isinstance(scn, Scenario):
        return f"returned {type(scn).__name__}"
    try:  # a scenario that was accepted is a usable one: finite numbers, serialisable
        scn.content_hash()
    except Exception as e:  # noqa: BLE001 - the finding
        return f"accepted scenario does not serialise: {type(e).__name__}: {e}"
    return None


def test_mutated_files_give_a_scenario_or_a_named_problem(sources, tmp_path):
    rng = np.random.default_rng(FUZZ_SEED)
    failures: list[str] = []
    cases = 0
    per_format: dict[str, int] = {}
    for si, (fmt, src) in enumerate(sources):
        d = tmp_path / f"s{si}"
        d.mkdir()
        if src.name == "referenced.yaml":
            shutil.copy(src.parent / "stances.csv", d / "stances.csv")
        for k, data, done in mutants(fmt, src, rng, CASES):
            p = d / f"m{k}{src.suffix}"
            p.write_bytes(data)
            allowed = {str(p), str((d / "stances.csv").resolve())}
            # the format named, and the format guessed from the file (which may pick another reader)
            for forced in (fmt, None):
                why = outcome(p, forced, allowed)
                if why:
                    failures.append(f"seed {FUZZ_SEED} source {src.name} ({fmt}) case {k} {done} "
                                    f"format={forced}: {why}")
                cases += 1
            per_format[fmt] = per_format.get(fmt, 0) + 1
    assert not failures, f"{len(failures)} of {cases} reads failed:\n" + "\n".join(failures[:40])
    assert cases >= 2 * 300 and min(per_format.values()) >= CASES


# --------------------------------------------------------------------------- CLI
def _cli_mutants(sources, tmp_path, per_format: int):
    rng = np.random.default_rng(FUZZ_SEED + 1)
    seen: set[str] = set()
    for si, (fmt, src) in enumerate(sources):
        if fmt in seen:
            continue
        seen.add(fmt)
        d = tmp_path / f"c{si}"
        d.mkdir()
        for k, data, done in mutants(fmt, src, rng, per_format):
            p = d / f"m{k}{src.suffix}"
            p.write_bytes(data)
            yield fmt, p, done


def test_cli_validate_exit_codes_on_mutants(sources, tmp_path, monkeypatch):
    """In-process CLI (fast): exit 0 or 2 with one JSON object, for 4 mutants of every format."""
    monkeypatch.setenv("DETENTE_HOME", str(tmp_path / "home"))
    runner = CliRunner()
    codes = []
    for fmt, p, done in _cli_mutants(sources, tmp_path, 4):
        r = runner.invoke(app, ["validate", str(p), "--from", fmt, "--json"])
        assert r.exit_code in (0, 2), (fmt, done, r.exit_code, r.output[-500:])
        lines = [ln for ln in r.stdout.splitlines() if ln.strip()]
        assert len(lines) == 1, (fmt, done, r.output[-500:])
        d = json.loads(lines[0])
        assert d.get("valid") is True if r.exit_code == 0 else d["error"] == "invalid input", (fmt, done, d)
        codes.append(r.exit_code)
    assert 2 in codes and len(codes) == 4 * 10


def test_cli_subprocess_exit_codes_on_mutants(sources, tmp_path):
    """The real command in a subprocess (one mutant of three formats: a process start costs
    about 1.5 s; the in-process test above covers every format): exit 0 or 2, no traceback."""
    env = {"PYTHONPATH": str(SRC), "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONIOENCODING": "utf-8",
           "DETENTE_HOME": str(tmp_path / "home")}
    for fmt, p, done in _cli_mutants(sources, tmp_path, 1):
        if fmt not in ("json", "xlsx", "ktab_xml"):
            continue
        r = subprocess.run([sys.executable, "-m", "detente.cli", "validate", str(p), "--from", fmt, "--json"],
                           capture_output=True, env=env, timeout=120)
        assert r.returncode in (0, 2), (fmt, done, r.returncode, r.stdout[-300:], r.stderr[-500:])
        assert b"Traceback" not in r.stderr, (fmt, done, r.stderr[-500:])
        json.loads(r.stdout)
