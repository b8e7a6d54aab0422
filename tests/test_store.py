"""The run store: catalogue round trips, idempotence, WAL, atomic parts, DuckDB queries."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

import detente
from detente.errors import InputError, StoreError, UnknownRunError
from detente.result import IssueResult, RoundRecord, RunResult
from detente.store import Store, default_root
from detente.store.core import trajectory_table


@pytest.fixture(autouse=True)
def _home(tmp_path, monkeypatch):
    """Never touch the real ~/.detente."""
    monkeypatch.setenv("DETENTE_HOME", str(tmp_path / "home"))


@pytest.fixture
def scn():
    return detente.load(Path(detente.__file__).parent / "examples" / "ec_emission.yaml")


@pytest.fixture
def store(tmp_path):
    return Store(tmp_path / "store")


def dynamic_result(scn, seed=7) -> RunResult:
    """A hand-made result with rounds and extras everywhere (no dynamic model needed)."""
    iid = scn.issues[0].id
    actors = scn.actor_ids
    rounds = tuple(
        RoundRecord(positions={a: float(i + k) for i, a in enumerate(actors)}, median=1.0 + k, mean=2.0 + k,
                    extra={"events": [f"round {k}"]})
        for k in range(3)
    )
    return RunResult.build(
        model="fake", scenario=scn, params={"rounds": 3, "nested": {"a": [1, 2]}},
        issues={iid: IssueResult(forecast=4.5, rounds=rounds, extra={"spread": 0.5})},
        variant="v1", seed=seed, notes=["a note"], extra={"table": {"x": 1}},
    )


def test_default_root_from_env(tmp_path):
    assert default_root() == tmp_path / "home"
    s = Store()
    assert s.root == tmp_path / "home" and (s.root / "catalog.sqlite").exists()


def test_wal_mode(store):
    assert store.journal_mode() == "wal"
    con = sqlite3.connect(store.catalog_path)
    assert con.execute("PRAGMA journal_mode").fetchone()[0].lower() == "wal"
    con.close()


def test_round_trip_baseline(store, scn):
    for m in ("compromise", "median", "nbs"):
        res = detente.forecast(scn, m)
        rid = store.save(res, scenario=scn, label="t")
        back = store.get(rid)
        assert back == res
        assert back.to_json_dict() == res.to_json_dict()
        assert back.key == res.key and rid == res.key[:12]
    assert store.count() == 3
    assert store.scenario(rid).content_hash() == scn.content_hash()


def test_round_trip_with_rounds_and_trajectory(store, scn):
    res = dynamic_result(scn)
    rid = store.save(res, scenario=scn)
    back = store.get(rid)
    assert back.to_json_dict() == res.to_json_dict()
    assert back == res
    traj = store.trajectory(rid)
    assert list(traj.columns) == ["issue", "round", "actor", "position"]
    n_actors = len(res.issues[scn.issues[0].id].rounds[0].positions)
    assert len(traj) == 3 * n_actors
    assert traj["round"].min() == 1 and traj["round"].max() == 3
    assert (store.run_dir(rid) / "trajectory.parquet").exists()


def test_from_json_dict_checks_key(scn):
    d = dynamic_result(scn).to_json_dict()
    d["seed"] = 8
    with pytest.raises(ValueError):
        RunResult.from_json_dict(d)
    with pytest.raises(ValueError):
        RunResult.from_json_dict({"issues": {}})


def test_save_is_idempotent(store, scn):
    res = detente.forecast(scn, "median")
    a = store.save(res)
    b = store.save(res, scenario=scn, label="later")
    assert a == b and store.count() == 1
    info = store.info(a)
    assert info.label == "later" and info.scenario_name == scn.name  # missing metadata filled in
    assert store.save(res, label="other") == a and store.info(a).label == "later"
    # a different seed is a different run
    c = store.save(res.with_seed(1))
    assert c != a and store.count() == 2


def test_save_rejects_mismatched_scenario(store, scn):
    res = detente.forecast(scn, "median")
    other = detente.Scenario(
        actors=[detente.Actor(id="A")], issues=[detente.Issue(id="x")],
        stances=[detente.Stance(actor="A", issue="x", position=1, salience=1)])
    with pytest.raises(StoreError, match="input hash"):
        store.save(res, scenario=other)
    assert store.count() == 0


def test_prefix_lookup_unknown_and_ambiguous(store, scn):
    res = detente.forecast(scn, "compromise")
    rid = store.save(res)
    assert store.resolve(rid) == rid
    assert store.resolve(res.key) == rid
    assert store.resolve(res.key[:5].upper()) == rid
    for bad in ("ffffffff", "zz-not-hex", "ab", ""):
        with pytest.raises(UnknownRunError):
            store.get(bad)
    # UnknownRunError is an InputError (CLI exit 2) and a StoreError
    assert issubclass(UnknownRunError, InputError) and issubclass(UnknownRunError, StoreError)
    # force an ambiguous prefix: two runs whose keys share the first 4 hex digits
    seeds = {}
    for s in range(5000):
        k = res.with_seed(s).key[:4]
        if k in seeds:
            store.save(res.with_seed(seeds[k]))
            store.save(res.with_seed(s))
            with pytest.raises(UnknownRunError, match="ambiguous"):
                store.resolve(k)
            break
        seeds[k] = s
    else:  # pragma: no cover
        pytest.skip("no 4-digit prefix collision found")


def test_run_id_collision_gets_longer_id(store, scn):
    res = detente.forecast(scn, "compromise")
    key = res.key
    # plant a run whose id is the 12-digit prefix of our key but whose key differs
    fake_key = key[:12] + "0" * 52 if key[12:] != "0" * 52 else key[:12] + "1" * 52
    rid0 = store.open_run(fake_key, model="x")
    assert rid0 == key[:12]
    rid = store.save(res)
    assert rid == key[:13] and store.get(rid) == res


def test_list_and_delete(store, scn):
    ids = [store.save(detente.forecast(scn, m)) for m in ("compromise", "median", "nbs")]
    assert [i.run_id for i in store.list()] == ids[::-1]  # newest first
    assert [i.model for i in store.list(model="median")] == ["median"]
    assert len(store.list(limit=2)) == 2
    info = store.list()[0].to_json_dict()
    assert set(info) >= {"run_id", "key", "model", "variant", "seed", "params", "created", "status", "version"}
    json.dumps(info)
    store.write_part(ids[0], 0, pd.DataFrame({"x": [1]}))
    assert store.delete(ids[0][:8]) == ids[0]
    assert not store.run_dir(ids[0]).exists()
    with pytest.raises(UnknownRunError):
        store.get(ids[0])
    assert store.count() == 2


def test_parts_chunks_and_resume(store, scn):
    rid = store.open_run("ab" * 16, model="compromise", scenario=scn, meta={"chunk_size": 10, "n_chunks": 4})
    assert store.open_run("ab" * 16, model="compromise") == rid  # idempotent
    info = store.info(rid)
    assert info.status == "running" and info.kind == "sweep" and info.meta["n_chunks"] == 4
    assert store.missing_chunks(rid, 4) == [0, 1, 2, 3]
    p0 = store.write_part(rid, 0, pd.DataFrame({"run": range(10), "y": [0.5] * 10}))
    assert p0 == store.root / "parts" / rid / "part-000000.parquet"
    store.write_part(rid, 2, pa.table({"run": list(range(20, 30)), "y": [1.5] * 10}))
    store.mark_chunk(rid, 1, "running")
    assert store.missing_chunks(rid, 4) == [1, 3]
    # a part whose file vanished counts as missing even if marked done
    store.write_part(rid, 3, pd.DataFrame({"run": range(30, 40), "y": [2.5] * 10}))
    store.part_path(rid, 3).unlink()
    assert store.missing_chunks(rid, 4) == [1, 3]
    chunks = {c["chunk"]: c for c in store.chunks(rid)}
    assert chunks[0]["status"] == "done" and chunks[0]["n_rows"] == 10 and chunks[1]["status"] == "running"
    with pytest.raises(StoreError):
        store.mark_chunk(rid, 1, "bogus")
    # no temporary files left behind (run.json: the run's catalogue row, for `runs repair`)
    assert sorted(p.name for p in store.run_dir(rid).iterdir()) == ["part-000000.parquet", "part-000002.parquet",
                                                                    "run.json"]
    # rewriting a chunk replaces it
    store.write_part(rid, 0, pd.DataFrame({"run": range(5), "y": [9.0] * 5}))
    assert len(store.read_part(rid, 0)) == 5
    store.finish_run(rid, "done")
    assert store.info(rid).status == "done"
    with pytest.raises(StoreError, match="no result"):
        store.get(rid)


def test_write_part_is_atomic(store, monkeypatch):
    import pyarrow.parquet as pq

    rid = store.open_run("cd" * 16, model="m")
    store.write_part(rid, 0, pd.DataFrame({"x": [1, 2]}))

    def boom(table, where, **kw):
        where.write(b"PAR1 half a file")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pq, "write_table", boom)
    with pytest.raises(StoreError, match="No space left"):
        store.write_part(rid, 0, pd.DataFrame({"x": [3, 4, 5]}))
    with pytest.raises(StoreError):
        store.write_part(rid, 1, pd.DataFrame({"x": [3]}))
    monkeypatch.undo()
    # the old part is intact, the failed chunk was never marked done, no tmp files remain
    assert store.read_part(rid, 0)["x"].tolist() == [1, 2]
    assert store.missing_chunks(rid, 2) == [1]
    assert sorted(p.name for p in store.run_dir(rid).iterdir()) == ["part-000000.parquet", "run.json"]


def test_duckdb_query(store, scn):
    rid = store.open_run("ef" * 16, model="m")
    for c in range(3):
        store.write_part(rid, c, pd.DataFrame({"chunk": [c] * 4, "y": [c + 0.25 * i for i in range(4)]}))
    df = store.query("SELECT chunk, count(*) AS n, sum(y) AS s FROM parts GROUP BY chunk ORDER BY chunk", run_id=rid)
    assert df["n"].tolist() == [4, 4, 4]
    assert df["s"].tolist() == pytest.approx([1.5, 5.5, 9.5])
    assert store.query(f"SELECT count(*) AS n FROM read_parquet('{store.parts_glob(rid)}')")["n"][0] == 12
    r2 = store.save(dynamic_result(scn))
    runs = store.query("SELECT run_id, model, status FROM runs ORDER BY model")
    assert runs["model"].tolist() == ["fake", "m"]
    t = store.query("SELECT max(round) AS r FROM trajectory", run_id=r2)
    assert t["r"][0] == 3
    with pytest.raises(InputError):
        store.query("SELEC nonsense")
    with pytest.raises(StoreError, match="no parts"):
        store.query("SELECT * FROM parts", run_id=r2)


def test_corrupt_catalogue_is_reported_and_kept(tmp_path):
    root = tmp_path / "bad"
    root.mkdir()
    junk = b"this is not a sqlite database at all" * 100
    (root / "catalog.sqlite").write_bytes(junk)
    with pytest.raises(StoreError, match="not a readable SQLite database"):
        Store(root)
    assert (root / "catalog.sqlite").read_bytes() == junk


def test_root_is_a_file(tmp_path):
    f = tmp_path / "f"
    f.write_text("x")
    with pytest.raises(StoreError, match="not a directory"):
        Store(f)


def test_failed_save_leaves_no_row(store, scn, monkeypatch):
    res = dynamic_result(scn)
    import detente.store.core as core

    def fail(*a, **k):
        raise StoreError("disk full")

    monkeypatch.setattr(store, "_atomic_parquet", fail)
    with pytest.raises(StoreError):
        store.save(res)
    assert store.count() == 0
    monkeypatch.undo()
    rid = store.save(res)
    assert store.get(rid) == res
    assert core.TRAJECTORY_COLUMNS == tuple(trajectory_table(res).column_names)


def test_two_store_objects_share_catalogue(tmp_path, scn):
    a, b = Store(tmp_path / "s"), Store(tmp_path / "s")
    rid = a.save(detente.forecast(scn, "nbs"))
    assert b.get(rid) == a.get(rid)
    assert os.path.exists(tmp_path / "s" / "catalog.sqlite")


def test_concurrent_saves_from_threads(tmp_path, scn):
    from concurrent.futures import ThreadPoolExecutor

    res = detente.forecast(scn, "compromise")
    root = tmp_path / "c"
    Store(root)

    def save(seed):
        return Store(root).save(res.with_seed(seed % 6))  # duplicates on purpose

    with ThreadPoolExecutor(8) as ex:
        ids = list(ex.map(save, range(24)))
    assert len(set(ids)) == 6 and Store(root).count() == 6


def test_query_on_empty_store(store):
    df = store.query("SELECT count(*) AS n FROM runs")
    assert df["n"][0] == 0


def test_atomic_write_bytes_keeps_the_mode_of_a_replaced_file_and_gives_a_new_one_the_umask(tmp_path):
    import os
    import stat

    from detente.store.files import atomic_write_bytes

    old = os.umask(0o022)
    try:
        new = tmp_path / "sub" / "new.yaml"
        atomic_write_bytes(new, b"a: 1\n")
        assert new.read_bytes() == b"a: 1\n"
        assert stat.S_IMODE(new.stat().st_mode) == 0o644  # not mkstemp's 0600
        kept = tmp_path / "kept.yaml"
        kept.write_bytes(b"old")
        kept.chmod(0o640)
        atomic_write_bytes(kept, b"new")
        assert kept.read_bytes() == b"new" and stat.S_IMODE(kept.stat().st_mode) == 0o640
        assert sorted(p.name for p in tmp_path.iterdir()) == ["kept.yaml", "sub"]  # no temporary left
    finally:
        os.umask(old)
