"""Generations (pipeline/lib/generations/) on tiny hand-made stores: what readers see changes
in one rename or not at all, old generations never change, leftovers are removed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import pytest

from pipeline.lib.generations import (
    GenerationError,
    Store,
    WarehouseBusy,
    clean_work,
    finish_generation,
    publish,
    rollback,
    snapshot,
    start_generation,
    writer_holding,
)
from pipeline.lib.parquet_io import replacing


def build(store: Store, run: str, marker: int) -> str:
    """A generation whose Parquet is a snapshot of `work` and whose DuckDB file holds `marker`."""
    name = start_generation(store, run)
    snapshot(store.work, store.gen_parquet(name))
    con = duckdb.connect(str(store.gen_db(name)))
    con.execute("create table t as select ? as marker", [marker])
    con.close()
    finish_generation(store, name, {"run_id": run})
    return name


def read_marker(warehouse: Path) -> int:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute("select marker from t").fetchone()[0]
    finally:
        con.close()


@pytest.fixture
def store(tmp_path) -> Store:
    s = Store(tmp_path / "wh.duckdb")
    (s.work / "marts").mkdir(parents=True)
    (s.work / "marts" / "m.parquet").write_bytes(b"v1")
    return s


def test_publish_switches_the_file_and_the_parquet_together(store, tmp_path):
    first = build(store, "run1", 1)
    publish(store, first)
    assert read_marker(tmp_path / "wh.duckdb") == 1
    assert (tmp_path / "wh" / "marts" / "m.parquet").read_bytes() == b"v1"

    # the next run replaces the mart the way every writer does (new file renamed over the name)
    with replacing(store.work / "marts" / "m.parquet") as tmp:
        tmp.write_bytes(b"v2")
    second = build(store, "run2", 2)
    # built but not published: readers still see the first generation, byte for byte
    assert read_marker(tmp_path / "wh.duckdb") == 1
    assert (tmp_path / "wh" / "marts" / "m.parquet").read_bytes() == b"v1"
    publish(store, second)
    assert read_marker(tmp_path / "wh.duckdb") == 2
    assert (tmp_path / "wh" / "marts" / "m.parquet").read_bytes() == b"v2"
    # the first generation's hard-linked file did not change when work/ was rewritten
    assert (store.gen_parquet(first) / "marts" / "m.parquet").read_bytes() == b"v1"
    # both links are relative symlinks through the one pointer `current`
    assert os.readlink(tmp_path / "wh.duckdb") == "wh.store/current/wh.duckdb"
    assert os.readlink(tmp_path / "wh") == "wh.store/current/parquet"
    assert store.current() == second


def test_snapshot_links_files_and_skips_hidden_ones(store):
    (store.work / "marts" / ".m.parquet.1234abcd").write_bytes(b"half written")
    (store.work / ".tmp" / "requests-1").mkdir(parents=True)
    (store.work / ".tmp" / "requests-1" / "x.parquet").write_bytes(b"scratch")
    n = snapshot(store.work, store.base / "snap")
    assert n == 1
    assert sorted(p.relative_to(store.base / "snap").as_posix() for p in (store.base / "snap").rglob("*")) == [
        "marts",
        "marts/m.parquet",
    ]
    assert (
        os.stat(store.base / "snap" / "marts" / "m.parquet").st_ino
        == os.stat(store.work / "marts" / "m.parquet").st_ino
    )


def test_prune_keeps_the_last_published_and_removes_leftovers(store, tmp_path):
    names = []
    for i in range(5):
        names.append(build(store, f"run{i}", i))
        publish(store, names[-1], keep=3)
    half_built = start_generation(store, "killed")  # a killed run's generation: no generation.json
    (store.work / ".tmp" / "stg-x").mkdir(parents=True)
    (store.work / "marts" / ".m.parquet.deadbeef").write_bytes(b"")
    last = build(store, "run5", 5)
    result = publish(store, last, keep=3)
    kept = sorted(p.name for p in store.generations.iterdir())
    assert kept == sorted([names[3], names[4], last])
    assert sorted(result["pruned"]) == sorted([half_built, names[2]])
    assert not [p for p in store.work.rglob("*") if p.name.startswith(".")]
    assert read_marker(tmp_path / "wh.duckdb") == 5


def test_rollback_returns_to_the_previous_generation(store, tmp_path):
    a, b = build(store, "a", 1), None
    publish(store, a)
    b = build(store, "b", 2)
    publish(store, b)
    assert rollback(store)["generation"] == a
    assert read_marker(tmp_path / "wh.duckdb") == 1
    assert rollback(store, b)["generation"] == b
    assert read_marker(tmp_path / "wh.duckdb") == 2
    with pytest.raises(GenerationError, match="no complete generation 'nope'"):
        rollback(store, "nope")


def test_an_incomplete_generation_is_never_published(store):
    name = start_generation(store, "killed")
    with pytest.raises(GenerationError):
        publish(store, name)
    assert store.current() is None


def test_a_warehouse_from_before_generations_is_adopted_not_lost(tmp_path):
    warehouse = tmp_path / "wh.duckdb"
    con = duckdb.connect(str(warehouse))
    con.execute("create table t as select 7 as marker")
    con.close()
    (tmp_path / "wh" / "marts").mkdir(parents=True)
    (tmp_path / "wh" / "marts" / "old.parquet").write_bytes(b"old")
    store = Store(warehouse)
    (store.work / "marts").mkdir(parents=True)
    new = build(store, "run1", 8)
    publish(store, new)
    assert read_marker(warehouse) == 8
    legacy = [r for r in store.listing() if r["generation"].startswith("legacy-")]
    assert len(legacy) == 1
    assert read_marker(Path(legacy[0]["db"])) == 7
    assert (store.gen_parquet(legacy[0]["generation"]) / "marts" / "old.parquet").read_bytes() == b"old"
    assert rollback(store)["generation"] == legacy[0]["generation"]
    assert read_marker(warehouse) == 7


HOLD = textwrap.dedent("""
    import duckdb, sys
    con = duckdb.connect(sys.argv[1])
    con.execute("create table analyst_notes as select 42 as n")
    print("open", flush=True)
    sys.stdin.readline()
    con.close()
""")


def test_a_writer_holding_the_warehouse_blocks_publish_and_loses_nothing(store, tmp_path):
    first = build(store, "run1", 1)
    publish(store, first)
    assert writer_holding(tmp_path / "wh.duckdb") is None
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(tmp_path / "wh.duckdb")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout.readline().strip() == "open"
        assert f"PID {proc.pid}" in writer_holding(tmp_path / "wh.duckdb")
        second = build(store, "run2", 2)
        with pytest.raises(WarehouseBusy, match="open for writing"):
            publish(store, second)
        assert store.current() == first
    finally:
        proc.communicate("\n", timeout=30)
    # the writer's table landed in the generation it had open, which is still current
    con = duckdb.connect(str(tmp_path / "wh.duckdb"), read_only=True)
    assert con.execute("select n from analyst_notes").fetchone() == (42,)
    con.close()
    publish(store, second)
    assert read_marker(tmp_path / "wh.duckdb") == 2
    # and the generation holding the writer's table is kept for comparison
    con = duckdb.connect(str(store.gen_db(first)), read_only=True)
    assert con.execute("select n from analyst_notes").fetchone() == (42,)
    con.close()


def test_clean_work_removes_only_hidden_leftovers(store):
    (store.work / ".tmp_duckdb" / "routing-1").mkdir(parents=True)
    (store.work / "marts" / ".routing_outcomes.tmp").mkdir(parents=True)
    (store.work / "marts" / ".m.parquet.0badf00d").write_bytes(b"")
    clean_work(store)
    assert sorted(p.relative_to(store.work).as_posix() for p in store.work.rglob("*")) == ["marts", "marts/m.parquet"]


def test_history_survives_a_line_cut_by_a_kill(store):
    a = build(store, "a", 1)
    publish(store, a)
    with store.history_file.open("a") as fh:
        fh.write('{"generation": "cut-of')
    b = build(store, "b", 2)
    publish(store, b)
    assert [h["generation"] for h in store.history()] == [a, b]
    assert json.loads(store.pending_file.read_text())["generation"] == b


def test_names_from_a_drop_are_printed_without_control_characters():
    from pipeline.lib.runner import printable

    assert printable("requests/\x1b[2Jx.csv") == "requests/?[2Jx.csv"
    assert printable("a\x00b\nc") == "a?b?c"
    assert printable("x" * 500, limit=10) == "x" * 9 + "…"
