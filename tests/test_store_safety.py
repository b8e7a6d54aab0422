"""Data safety of the run store (issue 13): damaged catalogues and parts are detected and
named, `detente runs check` / `runs repair` find and fix them without deleting anything, a
resumed sweep recomputes a damaged chunk to the same bytes, and read-only commands write
nothing (so they work on a read-only store)."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import detente
from detente.cli import app
from detente.errors import CatalogueError, DamagedRunError, StoreError
from detente.experiments.export import export_run, run_table
from detente.experiments.runner import resume_sweep, run_sweep
from detente.experiments.sweep import SweepSpec
from detente.store import Store
from detente.store.integrity import check_store, repair_store
from test_cli_contract import doc_keys, sections, tables

runner = CliRunner()
EXAMPLE = Path(detente.__file__).parent / "examples" / "ec_emission.yaml"


@pytest.fixture(autouse=True)
def _home(tmp_path, monkeypatch):
    monkeypatch.setenv("DETENTE_HOME", str(tmp_path / "home"))


def _spec() -> SweepSpec:
    return SweepSpec.model_validate(dict(
        name="safety", scenario="example:ec_emission", model="compromise", seed=3, chunk_size=40,
        factors=[{"field": "salience", "dist": {"kind": "uniform", "low": -10, "high": 10}, "clip": [0, 100],
                  "per": "cell"}],
        design={"kind": "montecarlo", "runs": 120},
    ))


@pytest.fixture
def swept(tmp_path):
    """A store holding a finished 3-chunk sweep and two forecasts; returns (root, run_id, part bytes)."""
    root = tmp_path / "st"
    st = Store(root)
    scn = detente.load(EXAMPLE)
    for m in ("median", "nbs"):
        st.save(detente.forecast(scn, m), scenario=scn)
    res = run_sweep(_spec(), store=st)
    parts = {p.name: p.read_bytes() for p in st.part_files(res.run_id)}
    assert len(parts) == 3
    return root, res.run_id, parts


def cli(*args) -> tuple[int, dict]:
    r = runner.invoke(app, [str(a) for a in args])
    lines = [ln for ln in r.stdout.splitlines() if ln.strip()]
    assert len(lines) == 1, r.output
    return r.exit_code, json.loads(lines[0])


def snapshot(root: Path) -> dict[str, tuple[int, int]]:
    """Every file under root with its size and modification time."""
    return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in sorted(root.rglob("*")) if p.is_file()}


def quarantined(root: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in (root / "quarantine").rglob("*") if p.is_file() and p.name != "reasons.jsonl"}


# ---------------------------------------------------------------------- the catalogue


def test_zero_byte_catalogue_is_named_not_taken_for_a_new_store(swept):
    root, _rid, _ = swept
    cat = root / "catalog.sqlite"
    cat.write_bytes(b"")
    for ro in (False, True):
        with pytest.raises(CatalogueError, match=r"0 bytes.*runs repair") as ei:
            Store(root, readonly=ro)
        assert str(cat) in str(ei.value)
    assert cat.stat().st_size == 0  # left as it was, not initialised as a fresh catalogue
    code, d = cli("runs", "list", "--store", root, "--json")
    assert code == 1 and d["error"] == "store error" and "0 bytes" in d["message"] and "runs repair" in d["message"]
    code, d = cli("runs", "check", "--store", root, "--json")
    assert code == 1 and d["ok"] is False and d["catalogue"]["state"] == "empty"
    assert [p["kind"] for p in d["problems"]].count("catalogue") == 1
    assert cat.stat().st_size == 0


def test_repair_rebuilds_a_lost_catalogue_from_the_manifests(swept, tmp_path):
    root, rid, _parts = swept
    before = export_run(Store(root), rid, "csv", tmp_path / "before.csv")
    (root / "catalog.sqlite").write_bytes(b"")
    code, d = cli("runs", "repair", "--store", root, "--json")
    assert code == 0 and set(d) == doc_keys("runs repair")
    acts = [a["action"] for a in d["actions"]]
    assert "quarantined" in acts and "run_rebuilt" in acts
    assert d["check"]["ok"] is True
    st = Store(root)
    info = st.info(rid)
    assert info.kind == "sweep" and info.status == "done" and info.meta["n_chunks"] == 3
    assert [c["status"] for c in st.chunks(rid)] == ["done"] * 3
    assert resume_sweep(rid, store=st).computed_chunks == 0
    after = export_run(st, rid, "csv", tmp_path / "after.csv")
    assert after[1] == before[1] == 120
    assert (tmp_path / "after.csv").read_bytes() == (tmp_path / "before.csv").read_bytes()
    # the empty catalogue is kept in quarantine, with its reason
    q = list((root / "quarantine").rglob("catalog.sqlite"))
    assert len(q) == 1 and q[0].stat().st_size == 0
    reasons = [json.loads(x) for x in next((root / "quarantine").rglob("reasons.jsonl")).read_text().splitlines()]
    assert any(r["path"] == "catalog.sqlite" and "0 bytes" in r["reason"] for r in reasons)


def test_truncated_catalogue_is_named_and_repaired(swept):
    root, rid, _ = swept
    cat = root / "catalog.sqlite"
    assert not Path(str(cat) + "-wal").exists()  # checkpointed: the file holds everything
    size = cat.stat().st_size
    assert size >= 4 * 4096
    data = cat.read_bytes()[: 2 * 4096]
    cat.write_bytes(data)
    with pytest.raises(CatalogueError, match="truncated") as ei:
        Store(root)
    assert f"{size} bytes" in str(ei.value) and str(cat) in str(ei.value)
    rep = check_store(root)
    assert not rep.ok and rep.catalogue["state"] == "truncated"
    fixed = repair_store(root)
    assert fixed.after.ok, [f.message for f in fixed.after.findings]
    st = Store(root)
    assert st.info(rid).status == "done" and len(run_table(st, rid)) == 120  # the sweep came back from its manifest
    assert quarantined(root)["catalog.sqlite"] == data  # the damaged file is kept, byte for byte


def test_corrupt_catalogue_pages_fail_the_integrity_check(swept):
    root, rid, _ = swept
    cat = root / "catalog.sqlite"
    raw = bytearray(cat.read_bytes())
    raw[2 * 4096: 3 * 4096] = os.urandom(4096)  # a whole b-tree page replaced by noise; header intact
    cat.write_bytes(bytes(raw))
    rep = check_store(root)
    assert not rep.ok
    (f,) = [f for f in rep.findings if f.kind == "catalogue"]
    assert "integrity_check" in f.message and rep.catalogue["integrity"] != "ok"
    assert cat.read_bytes() == bytes(raw)  # check writes nothing
    repair_store(root)
    assert check_store(root).ok
    assert Store(root).info(rid).status == "done"


def test_repair_reads_back_every_readable_row_of_a_failing_catalogue(swept):
    """A catalogue that fails integrity_check but whose tables still read (here: a wrong
    freelist count in its header) is rebuilt with every row: forecasts (which have no
    manifest), chunks with their checksums, and other tables kept in it (web jobs)."""
    import struct

    from detente.store.jobs import JobRecords

    root, rid, _ = swept
    st = Store(root)
    JobRecords(st).put({"id": "job1", "kind": "forecast", "label": "x", "status": "done", "created": 1.0,
                        "request": {"model": "median"}})
    before = {i.run_id: (i.key, i.status) for i in st.list(limit=None)}
    chunks = st.chunks(rid)
    cat = root / "catalog.sqlite"
    raw = bytearray(cat.read_bytes())
    raw[36:40] = struct.pack(">I", 7)  # "total number of freelist pages": wrong, tables intact
    cat.write_bytes(bytes(raw))
    (f,) = check_store(root).findings
    assert f.kind == "catalogue" and "freelist" in f.message
    rep = repair_store(root)
    assert rep.after.ok
    (built,) = [a for a in rep.actions if a["action"] == "catalogue_rebuilt"]
    assert "3 run(s) and 3 chunk row(s), 1 row(s) of table jobs" in built["detail"]
    st = Store(root)
    assert {i.run_id: (i.key, i.status) for i in st.list(limit=None)} == before
    assert st.chunks(rid) == chunks
    assert JobRecords(st).get("job1")["request"] == {"model": "median"}
    assert quarantined(root)["catalog.sqlite"] == bytes(raw)


def test_new_catalogue_is_never_left_empty(tmp_path, monkeypatch):
    root = tmp_path / "new"

    def crash(*a, **k):
        raise KeyboardInterrupt  # killed between building the catalogue and linking it

    monkeypatch.setattr(os, "link", crash)
    with pytest.raises(KeyboardInterrupt):
        Store(root)
    monkeypatch.undo()
    assert not (root / "catalog.sqlite").exists() and not list(root.glob(".*tmp*"))
    st = Store(root)
    assert (root / "catalog.sqlite").stat().st_size > 0 and st.count() == 0 and st.journal_mode() == "wal"


def test_schema_1_catalogue_is_migrated_and_read_only_reads_it(tmp_path):
    root = tmp_path / "old"
    root.mkdir()
    con = sqlite3.connect(root / "catalog.sqlite")
    con.execute("PRAGMA journal_mode=WAL")
    from detente.store.core import _SCHEMA

    for stmt in _SCHEMA.replace("    sha256  TEXT,\n", "").split(";"):
        if stmt.strip():
            con.execute(stmt)
    con.execute("INSERT INTO runs (run_id, key, model, params, created, updated, version, status) "
                "VALUES ('abcdabcdabcd', 'abcdabcdabcd00', 'm', '{}', 't', 't', 'v', 'running')")
    con.execute("INSERT INTO chunks VALUES ('abcdabcdabcd', 0, 'done', 3, 't')")
    con.execute("PRAGMA user_version=1")
    con.commit()
    con.close()
    ro = Store(root, readonly=True)
    assert ro.chunks("abcdabcdabcd")[0]["sha256"] is None
    assert sqlite3.connect(root / "catalog.sqlite").execute("PRAGMA user_version").fetchone()[0] == 1
    st = Store(root)
    cols = [r[1] for r in sqlite3.connect(root / "catalog.sqlite").execute("PRAGMA table_info(chunks)")]
    assert "sha256" in cols and st.chunks("abcdabcdabcd")[0]["n_rows"] == 3


# ---------------------------------------------------------------------- parts


def _truncate(p: Path) -> None:
    p.write_bytes(p.read_bytes()[: p.stat().st_size // 2])


def _garbage(p: Path) -> None:
    raw = bytearray(p.read_bytes())
    mid = len(raw) // 2
    raw[mid: mid + 48] = bytes((b ^ 0x5A) for b in raw[mid: mid + 48])  # same size, footer intact
    p.write_bytes(bytes(raw))


@pytest.mark.parametrize("damage", [_truncate, _garbage], ids=["truncated", "garbage"])
def test_corrupt_part_is_named_and_resume_recomputes_the_same_bytes(swept, tmp_path, damage):
    root, rid, parts = swept
    st = Store(root)
    part = st.part_path(rid, 1)
    damage(part)
    bad = part.read_bytes()
    with pytest.raises(DamagedRunError, match=rf"chunk 1 .*part-000001\.parquet.*sweep resume {rid}"):
        export_run(st, rid, "csv", tmp_path / "x.csv")
    assert not (tmp_path / "x.csv").exists()
    for args in (["runs", "export", rid, "--out", tmp_path / "y.csv"], ["report", rid, "--out", tmp_path / "r.html"]):
        code, d = cli(*args, "--store", root, "--json")
        assert code == 1 and d["error"] == "store error", d  # not "internal error"
        assert "part-000001.parquet" in d["message"] and "damaged" in d["message"]
    rep = check_store(root)
    assert [(f.kind, f.chunk) for f in rep.findings] == [("part_damaged", 1)]
    assert st.missing_chunks(rid, 3) == [1]
    res = resume_sweep(rid, store=st)
    assert res.computed_chunks == 1
    # chunk 1 draws from SeedSequence(seed, spawn_key=(1,)): recomputed to the very same bytes
    assert {p.name: p.read_bytes() for p in st.part_files(rid)} == parts
    assert quarantined(root) == {"part-000001.parquet": bad}  # the damaged file was kept, not overwritten
    assert check_store(root).ok and st.info(rid).status == "done"


def test_missing_part_repair_marks_the_chunk_and_resume_recomputes(swept, tmp_path):
    root, rid, parts = swept
    st = Store(root)
    st.part_path(rid, 2).unlink()
    with pytest.raises(DamagedRunError, match=r"chunk 2 .*missing"):
        run_table(st, rid)
    (f,) = check_store(root).findings
    assert f.kind == "part_missing" and f.chunk == 2 and f.run == rid
    rep = repair_store(root)
    assert any(a["action"] == "chunk_marked_damaged" and a["chunk"] == 2 for a in rep.actions)
    assert [(f.kind, f.chunk) for f in rep.after.findings] == [("chunk_damaged", 2)]
    assert st.info(rid).status == "damaged"
    code, d = cli("runs", "list", "--store", root, "--json")
    assert code == 0 and {r["run_id"]: r["status"] for r in d["runs"]}[rid] == "damaged"
    code, d = cli("runs", "show", rid, "--store", root, "--json")
    assert code == 0 and d["chunks"] == {"total": 3, "done": 2, "failed": 0, "damaged": 1, "rows": 80}
    assert set(d["chunks"]) == set(tables(sections()["runs show"])[1])
    with pytest.raises(DamagedRunError, match="chunk 2"):
        run_table(st, rid)
    code, d = cli("sweep", "resume", rid, "--store", root, "--json")
    assert code == 0 and d["computed_chunks"] == 1
    assert {p.name: p.read_bytes() for p in st.part_files(rid)} == parts
    assert st.info(rid).status == "done" and check_store(root).ok


def test_repair_quarantines_a_damaged_part(swept):
    root, rid, parts = swept
    st = Store(root)
    _garbage(st.part_path(rid, 0))
    bad = st.part_path(rid, 0).read_bytes()
    code, _d = cli("runs", "repair", "--store", root, "--json")
    assert code == 0
    assert not st.part_path(rid, 0).exists() and quarantined(root) == {"part-000000.parquet": bad}
    assert {c["chunk"]: c["status"] for c in st.chunks(rid)} == {0: "damaged", 1: "done", 2: "done"}
    assert resume_sweep(rid, store=st).computed_chunks == 1
    assert {p.name: p.read_bytes() for p in st.part_files(rid)} == parts


def test_repair_of_a_sound_store_changes_nothing(swept):
    root, rid, _ = swept
    scn = detente.load(EXAMPLE)
    st = Store(root)
    part_run = st.open_run("9f" * 16, model="compromise", scenario=scn, meta={"n_chunks": 2})
    st.write_part(part_run, 0, st.read_part(rid, 0))  # an unfinished sweep stays unfinished
    snap = snapshot(root)
    rep = repair_store(root)
    assert rep.actions == [] and rep.quarantine is None and rep.after.ok
    assert st.info(part_run).status == "running" and st.info(rid).status == "done"
    assert snapshot(root) == snap


def test_orphan_folders(swept):
    root, rid, _ = swept
    st = Store(root)
    stray = root / "parts" / "0123456789ab"
    stray.mkdir()
    (stray / "part-000000.parquet").write_bytes(st.part_path(rid, 0).read_bytes())
    # a run whose catalogue row was lost but whose folder keeps its manifest
    with sqlite3.connect(root / "catalog.sqlite") as con:
        con.execute("DELETE FROM runs WHERE run_id=?", (rid,))
    con.close()
    rep = check_store(root)
    kinds = {(f.kind, f.run) for f in rep.findings}
    assert kinds == {("orphan_folder", "0123456789ab"), ("orphan_folder", rid)}
    fixed = repair_store(root)
    assert fixed.after.ok
    assert not stray.exists() and "part-000000.parquet" in quarantined(root)
    assert Store(root).info(rid).status == "done" and len(run_table(Store(root), rid)) == 120


def test_check_json_contract_and_quick_mode(swept):
    root, rid, _ = swept
    code, d = cli("runs", "check", "--store", root, "--json")
    assert code == 0 and set(d) == doc_keys("runs check")
    assert d["ok"] is True and d["runs"] == 3 and d["parts_checked"] == 3 and d["problems"] == []
    assert d["catalogue"] == {"path": str(root / "catalog.sqlite"), "state": "ok", "schema_version": 2,
                              "integrity": "ok"}
    r = runner.invoke(app, ["runs", "check", "--store", str(root), "--quick"])
    assert r.exit_code == 0 and "no problem found" in r.stdout
    # quick mode reads footers only: a flipped byte in the data is found by the full check alone
    _garbage(Store(root).part_path(rid, 1))
    assert check_store(root, full=False).ok
    code, d = cli("runs", "check", "--store", root, "--json")
    assert code == 1 and [p["kind"] for p in d["problems"]] == ["part_damaged"]
    assert set(d["problems"][0]) == {"kind", "run", "chunk", "file", "message", "repair"}


def test_checksum_finds_a_changed_value_that_still_decodes(swept):
    """A part rewritten with one different number is valid Parquet with the right row count:
    only the recorded checksum can tell, and export refuses it instead of exporting it."""
    root, rid, _ = swept
    st = Store(root)
    df = st.read_part(rid, 0)
    df.loc[0, "value"] += 1.0
    df.to_parquet(st.part_path(rid, 0), index=False)
    with pytest.raises(DamagedRunError, match="checksum"):
        run_table(st, rid)
    with pytest.raises(DamagedRunError, match="checksum"):
        st.query("SELECT avg(value) FROM parts", run_id=rid)


# ---------------------------------------------------------------------- read-only


def test_read_only_commands_write_nothing(swept, tmp_path):
    root, rid, _ = swept
    scn = detente.load(EXAMPLE)
    fid = Store(root).save(detente.forecast(scn, "compromise"), scenario=scn)
    snap = snapshot(root)
    assert not any(k.endswith(("-wal", "-shm", "-journal")) for k in snap)
    ro = Store(root, readonly=True)
    assert ro.count() == 4 and ro.info(rid).kind == "sweep" and ro.get(fid).model == "compromise"
    assert len(ro.chunks(rid)) == 3 and len(run_table(ro, rid)) == 120
    assert ro.query("SELECT count(*) AS n FROM parts", run_id=rid)["n"][0] == 120
    for bad in (lambda: ro.save(detente.forecast(scn, "median")), lambda: ro.delete(fid),
                lambda: ro.mark_chunk(rid, 0, "done"), lambda: ro.write_part(rid, 5, pd.DataFrame({"x": [1]}))):
        with pytest.raises(StoreError, match="read-only"):
            bad()
    for args in (["runs", "list"], ["runs", "show", rid], ["runs", "show", fid],
                 ["runs", "export", rid, "--out", tmp_path / "e.csv"], ["report", rid, "--out", tmp_path / "r.html"],
                 ["runs", "check"]):
        code, d = cli(*args, "--store", root, "--json")
        assert code == 0, (args, d)
    assert check_store(root).ok
    assert snapshot(root) == snap  # same files, same sizes and times: nothing written, no -wal/-shm made


def test_read_only_open_of_a_missing_store_creates_nothing(tmp_path):
    root = tmp_path / "none"
    ro = Store(root, readonly=True)
    assert ro.list() == [] and ro.count() == 0 and not root.exists()
    code, d = cli("runs", "list", "--store", root, "--json")
    assert code == 0 and d["total"] == 0 and not root.exists()


def test_read_only_read_is_repeated_when_a_writer_changes_the_catalogue(tmp_path, monkeypatch):
    """An immutable read that a writer in another process checkpoints into is read again."""
    from contextlib import contextmanager

    root = tmp_path / "st"
    scn = detente.load(EXAMPLE)
    Store(root).save(detente.forecast(scn, "median"), scenario=scn)
    ro = Store(root, readonly=True)
    assert ro._immutable  # no -wal beside the catalogue: read as immutable, nothing created
    orig, reads = ro._tx, []

    @contextmanager
    def tx(write=False):
        with orig(write=write) as con:
            yield con
        reads.append(1)
        if len(reads) == 1:  # the catalogue changes while (just after) the first read runs
            Store(root).save(detente.forecast(scn, "nbs"), scenario=scn)

    monkeypatch.setattr(ro, "_tx", tx)
    assert ro.count() == 2 and len(reads) == 2
    assert not Path(str(root / "catalog.sqlite") + "-shm").exists()


_DROP = "-dac_override,-dac_read_search,-fowner"
_RO_SCRIPT = """
import json, sys
from typer.testing import CliRunner
from detente.cli import app
out = []
for args in json.loads(sys.argv[1]):
    r = CliRunner().invoke(app, args)
    out.append([r.exit_code, r.stdout.strip().splitlines()[-1] if r.stdout.strip() else r.output])
print(json.dumps(out))
"""


def _without_write_rights() -> list[str] | None:
    """A command prefix under which file permissions apply (as root: setpriv dropping the
    capabilities that override them), or None if there is none."""
    if not hasattr(os, "geteuid"):
        return None
    if os.geteuid() != 0:
        return []
    import shutil
    import subprocess
    import sys

    setpriv = shutil.which("setpriv")
    if setpriv is None:
        return None
    prefix = [setpriv, f"--bounding-set={_DROP}", f"--inh-caps={_DROP}"]
    probe = subprocess.run([*prefix, sys.executable, "-c", "import os; os.open('/proc/1/environ', os.O_RDONLY)"],
                           capture_output=True)
    return prefix if probe.returncode != 0 else None  # root still reads what it may not: no use


@pytest.mark.slow  # ~10 s: one interpreter importing the CLI, report and DuckDB
def test_read_only_commands_work_on_a_read_only_store(swept, tmp_path):
    """With write permission really taken away (chmod; as root, through setpriv dropping the
    capabilities that override permissions) the read-only commands work and a writing command
    fails with a named store error."""
    import subprocess
    import sys

    prefix = _without_write_rights()
    if prefix is None:
        pytest.skip("no way to take write permission away here (running as root without setpriv)")
    root, rid, _ = swept
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    paths = [root, *root.rglob("*")]
    modes = {p: p.stat().st_mode for p in paths}
    cmds = [["runs", "list"], ["runs", "show", rid], ["runs", "export", rid, "--out", str(out_dir / "e.csv")],
            ["report", rid, "--out", str(out_dir / "r.html")], ["runs", "check"],
            ["forecast", str(EXAMPLE), "-m", "median"]]
    cmds = [[*c, "--store", str(root), "--json"] for c in cmds]
    try:
        for p in paths:
            p.chmod(0o555 if p.is_dir() else 0o444)
        env = {**os.environ, "PYTHONPATH": str(Path(detente.__file__).resolve().parents[1])}
        r = subprocess.run([*prefix, sys.executable, "-c", _RO_SCRIPT, json.dumps(cmds)], capture_output=True,
                           text=True, env=env, timeout=300)
    finally:
        for p, m in modes.items():
            p.chmod(m)
    assert r.returncode == 0, r.stderr
    res = json.loads(r.stdout.strip().splitlines()[-1])
    for (code, line), c in zip(res[:-1], cmds):
        assert code == 0, (c, line)
    code, line = res[-1]
    assert code == 1 and "read-only" in json.loads(line)["message"]
    assert sorted(p.name for p in root.iterdir()) == [".lock", "catalog.sqlite", "parts"]  # .lock: the writer that stored the run


# ---------------------------------------------------------------------- crashes and full disks


def test_full_disk_leaves_the_old_part_and_no_record(swept):
    import detente.store.files as files

    root, rid, parts = swept
    st = Store(root)
    before = {c["chunk"]: c for c in st.chunks(rid)}
    other = st.read_part(rid, 2)

    def full(fd):
        raise OSError(28, "No space left on device")

    real = files.os.fsync
    files.os.fsync = full
    try:
        for chunk in (1, 7):  # replacing a stored part, and writing a new one
            with pytest.raises(StoreError, match="No space left on device"):
                st.write_part(rid, chunk, other)
    finally:
        files.os.fsync = real
    assert {p.name: p.read_bytes() for p in st.part_files(rid)} == parts  # the file in place is untouched
    assert {c["chunk"]: c for c in st.chunks(rid)} == before  # no chunk row changed or added
    assert not list(st.run_dir(rid).glob(".*.tmp")) and check_store(root).ok


def test_killed_between_part_and_record_resumes_without_quarantine(swept, monkeypatch):
    root, rid, parts = swept
    st = Store(root)
    with sqlite3.connect(root / "catalog.sqlite") as con:
        con.execute("DELETE FROM chunks WHERE run_id=? AND chunk=2", (rid,))
    con.close()
    (f,) = check_store(root).findings
    assert f.kind == "part_unrecorded" and f.chunk == 2
    assert resume_sweep(rid, store=st).computed_chunks == 1
    assert {p.name: p.read_bytes() for p in st.part_files(rid)} == parts
    assert not (root / "quarantine").exists()  # the same bytes were there: nothing to keep aside
    assert check_store(root).ok


def _set_row(root: Path, rid: str, **cols) -> None:
    con = sqlite3.connect(root / "catalog.sqlite")
    with con:
        for col, val in cols.items():
            con.execute(f"UPDATE runs SET {col}=? WHERE run_id=?", (val, rid))
    con.close()


def test_check_finds_a_catalogue_key_that_is_not_its_results_run_key(swept):
    """A row whose catalogue key is not its result's run_key (issue 13): looking the key up would
    name a result of other inputs, and a run of the result's inputs would be stored again."""
    root, _, _ = swept
    st = Store(root)
    fc = next(i for i in st.list(limit=None) if i.kind == "forecast")
    good = fc.key
    assert st.get(fc.run_id).key == good
    assert check_store(root).ok
    _set_row(root, fc.run_id, key="0" * 64)
    (f,) = check_store(root).findings
    assert f.kind == "key_mismatch" and f.run == fc.run_id and good in f.message and "0" * 64 in f.message
    code, d = cli("runs", "check", "--store", root, "--json")
    assert code == 1 and [p["kind"] for p in d["problems"]] == ["key_mismatch"]
    rep = repair_store(root)
    assert rep.after.ok and Store(root).info(fc.run_id).key == good
    assert [a["action"] for a in rep.actions] == ["key_fixed"]


def test_check_finds_a_stored_result_whose_run_key_does_not_match_its_content(swept):
    root, _, _ = swept
    st = Store(root)
    fc = next(i for i in st.list(limit=None) if i.kind == "forecast")
    d = json.loads(st._row(fc.run_id, "result")["result"])
    d["run_key"] = "f" * 64
    _set_row(root, fc.run_id, result=json.dumps(d))
    (f,) = check_store(root).findings
    assert f.kind == "key_mismatch" and f.run == fc.run_id and "f" * 64 in f.message


def test_a_key_taken_by_another_result_is_not_a_mismatch(tmp_path):
    """Two results of the same inputs (a caller's own generator, no seed) are stored under two
    ids, the second under a key derived from the run key and its result hash: that is sound."""
    import numpy as np

    from detente.models.registry import run_model

    scn = detente.load(EXAMPLE)
    st = Store(tmp_path / "st")
    a = run_model(scn, "bdm", rng=np.random.default_rng(1))
    b = run_model(scn, "bdm", rng=np.random.default_rng(2))
    assert a.key == b.key and a.to_json() != b.to_json()
    ra, rb = st.save_run(a, scenario=scn), st.save_run(b, scenario=scn)
    assert ra.run_id != rb.run_id and rb.key != b.key
    assert check_store(tmp_path / "st").ok
    _set_row(tmp_path / "st", rb.run_id, key="1" * 64)
    assert [f.kind for f in check_store(tmp_path / "st").findings] == ["key_mismatch"]
    assert repair_store(tmp_path / "st").after.ok and Store(tmp_path / "st").info(rb.run_id).key == rb.key


def test_repair_refuses_while_another_process_writes_and_writers_wait_for_a_repair(tmp_path):
    import subprocess
    import sys

    from detente.store.files import StoreLock

    root = tmp_path / "store"
    Store(root)
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from detente.store import Store; s = Store(sys.argv[1]); "
         "print('open', flush=True); time.sleep(60)", str(root)], stdout=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    try:
        assert holder.stdout.readline().strip() == "open"
        with pytest.raises(StoreError, match="in use by another detente process"):
            repair_store(root)
        res = runner.invoke(app, ["runs", "repair", "--store", str(root)])
        assert res.exit_code != 0 and "in use by another detente process" in res.output
        assert not (root / "quarantine").exists()  # nothing was touched
    finally:
        holder.kill()
        holder.wait()
    # a store object of this very process does not block its own repair, and keeps its lock after
    mine = Store(root)
    assert repair_store(root).after.ok
    other = subprocess.run(
        [sys.executable, "-c", "import sys; from detente.store.integrity import repair_store; repair_store(sys.argv[1])",
         str(root)], capture_output=True, text=True, env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert other.returncode != 0 and "in use by another detente process" in other.stderr
    del mine
    # while a repair holds the store, a writer is refused with a clear message
    lock = StoreLock(root, exclusive=True)
    try:
        other = subprocess.run([sys.executable, "-c", "import sys; from detente.store import Store; Store(sys.argv[1])",
                                str(root)], capture_output=True, text=True,
                               env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
        assert other.returncode != 0 and "being repaired by another process" in other.stderr
        Store(root, readonly=True).list()  # readers are not locked out
    finally:
        lock.release()
