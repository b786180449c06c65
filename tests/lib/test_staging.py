"""Day-partitioned staging (pipeline/lib/staging.py): staging only the days whose files changed
gives exactly what staging the whole drop from scratch gives (the one-pass engine,
ingest.stage_dataset, is the reference), and a day's new files cost that day."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import duckdb
import pytest

from pipeline.lib.contract import DATASETS
from pipeline.lib.ingest import stage_dataset
from pipeline.lib.parse_cache import TS_DATASETS, load_manifest, update_parse_cache
from pipeline.lib.staging import stage_days

DIMS = ("models", "endpoints", "fx_rates", "prices")
MODELS = "model,family,developer,release_date,successor_of,official_provider\nm1,fam,dev,2025-09-01,,p1\n"
ENDPOINTS = (
    "provider,model,valid_from,valid_to,context_length,max_output_tokens,quantization,"
    "supports_tools,supports_json_mode,supports_streaming,supports_reasoning\n"
    "p1,m1,2025-09-01T00:00:00Z,,131072,8192,bf16,true,true,true,false\n"
)
REQ = "request_id,ts,application,client_id,model,provider,input_tokens,output_tokens,cached_input_tokens,status,error_type,http_status,ttft_ms,latency_ms,stream,tools,json_mode,sample_rate"


def req(rid: str, ts: str, tokens: int = 10) -> str:
    return f"{rid},{ts},chat,c1,m1,p1,{tokens},5,,ok,,200,100,900,true,false,false,1"


def write(raw: Path, rel: str, rows: list[str]) -> None:
    p = raw / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text("\n".join([REQ, *rows]) + "\n")


def tables(root: Path, name: str) -> dict[str, list]:
    """Staged rows, audit and quarantine of one dataset, sorted: what must agree."""
    con = duckdb.connect()
    out = {}
    glob = str(root / "staging" / name / "**" / "*.parquet")
    out["staging"] = sorted(
        map(
            repr,
            con.execute(
                f"select * from read_parquet('{glob}', hive_partitioning = false, union_by_name = true)"
            ).fetchall(),
        )
    )
    for part in ("audit", "quarantine"):
        out[part] = sorted(
            map(
                repr,
                con.execute(f"select * from read_parquet('{root / 'ingest' / name / (part + '.parquet')}')").fetchall(),
            )
        )
    return out


def full(raw: Path, root: Path, names=("requests",)) -> Path:
    shutil.rmtree(root, ignore_errors=True)
    for name in (*DIMS, *names):
        stage_dataset(DATASETS[name], raw, root)
    return root


def incremental(raw: Path, root: Path, names=("requests",)) -> set[str]:
    """What a run does: dimensions in full, the time series by the days their files changed."""
    for name in DIMS:
        stage_dataset(DATASETS[name], raw, root)
    changed = set()
    for name in names:
        parsed = update_parse_cache(DATASETS[name], raw, root)
        stage_days(DATASETS[name], root, sorted(parsed.changed_days))
        changed |= parsed.changed_days
    return changed


@pytest.fixture
def raw(tmp_path) -> Path:
    raw = tmp_path / "raw"
    (raw / "models").mkdir(parents=True)
    (raw / "models" / "m.csv").write_text(MODELS)
    (raw / "endpoints").mkdir()
    (raw / "endpoints" / "e.csv").write_text(ENDPOINTS)
    write(
        raw,
        "requests/date=2025-10-01/a.csv",
        [req("r1", "2025-10-01T01:00:00Z"), req("r2", "2025-10-01T23:30:00Z"), "bad,row"],
    )
    write(raw, "requests/date=2025-10-02/b.csv", [req("r3", "2025-10-02T05:00:00Z"), req("r1", "2025-10-01T01:00:00Z")])
    return raw


def test_every_step_equals_a_full_rebuild(raw, tmp_path):
    root = tmp_path / "inc"
    assert incremental(raw, root) == {"2025-10-01", "2025-10-02"}
    assert tables(root, "requests") == tables(full(raw, tmp_path / "ref"), "requests")

    # a new day's file: only that day is staged
    write(
        raw,
        "requests/date=2025-10-03/c.csv",
        [req("r4", "2025-10-03T02:00:00Z"), req("r5", "2025-10-03T03:00:00Z", tokens=-1)],
    )
    assert incremental(raw, root) == {"2025-10-03"}
    assert tables(root, "requests") == tables(full(raw, tmp_path / "ref"), "requests")

    # a file touched but unchanged costs nothing
    os.utime(raw / "requests" / "date=2025-10-03" / "c.csv")
    assert incremental(raw, root) == set()

    # a late file that sorts first and reuses r3's id with other values on another day: r3's day
    # (10-02) was not changed by any file, but its row now loses to the earlier one
    write(raw, "requests/date=2025-09-30/early.csv", [req("r3", "2025-10-03T09:00:00Z", tokens=99)])
    assert incremental(raw, root) == {"2025-10-03"}
    ref = tables(full(raw, tmp_path / "ref"), "requests")
    assert tables(root, "requests") == ref
    assert any("conflict" in row and "b.csv" in row for row in ref["quarantine"])

    # a file removed: its days are restaged; a rewritten file: its old and new days
    (raw / "requests" / "date=2025-09-30" / "early.csv").unlink()
    write(raw, "requests/date=2025-10-01/a.csv", [req("r1", "2025-10-01T01:00:00Z"), req("r6", "2025-10-04T01:00:00Z")])
    assert incremental(raw, root) == {"2025-10-01", "2025-10-03", "2025-10-04"}
    assert tables(root, "requests") == tables(full(raw, tmp_path / "ref"), "requests")
    # the day that lost every row (r2 on 10-01 late evening is gone, r1 stays) keeps r1 only
    con = duckdb.connect()
    assert con.execute(
        f"select request_id from read_parquet('{root}/staging/requests/date=2025-10-01/*.parquet')"
    ).fetchall() == [("r1",)]


def test_a_dataset_with_no_rows_keeps_its_columns(raw, tmp_path):
    root = tmp_path / "inc"
    incremental(raw, root, names=("latency_probes",))
    cols = [
        r[0]
        for r in duckdb.sql(
            f"describe select * from read_parquet('{root}/staging/latency_probes/data.parquet')"
        ).fetchall()
    ]
    assert "decode_tps" in cols and "ts" in cols


def test_a_parse_is_cached_by_content_and_by_what_the_drop_knows(raw, tmp_path):
    root = tmp_path / "inc"
    incremental(raw, root)
    first = load_manifest(root, "requests")
    # the same bytes under a new mtime: nothing parsed again
    os.utime(raw / "requests" / "date=2025-10-01" / "a.csv", (1, 1))
    assert update_parse_cache(DATASETS["requests"], raw, root).files_parsed == 0
    # a new provider in endpoints changes which rows reference known providers: all parsed again
    (raw / "endpoints" / "e.csv").write_text(
        ENDPOINTS + "p2,m1,2025-09-01T00:00:00Z,,65536,,fp8,false,true,true,false\n"
    )
    stage_dataset(DATASETS["endpoints"], raw, root)
    again = update_parse_cache(DATASETS["requests"], raw, root)
    assert again.files_parsed == 2 and again.changed_days == {"2025-10-01", "2025-10-02"}
    assert load_manifest(root, "requests")["version"] != first["version"]


@pytest.mark.parametrize("name", TS_DATASETS)
def test_a_generated_drop_stages_the_same_by_days(name, tmp_path):
    from pipeline.lib.generate import generate_drop

    raw = tmp_path / "raw"
    generate_drop(raw, n_requests=2000, seed=4, bad_row_fraction=0.01)
    root = tmp_path / "inc"
    incremental(raw, root, names=(name,))
    assert tables(root, name) == tables(full(raw, tmp_path / "ref", names=(name,)), name)


def test_a_new_day_repeating_earlier_rows_restages_only_itself(raw, tmp_path):
    """A day's file that repeats a row of an earlier day (a duplicate) and reuses another's id
    with other values (a conflict) loses both to the earlier files: the earlier days keep their
    staging and are only read to classify the repeats."""
    root = tmp_path / "inc"
    incremental(raw, root)
    write(
        raw,
        "requests/date=2025-10-03/c.csv",
        [
            req("r4", "2025-10-03T02:00:00Z"),
            req("r1", "2025-10-01T01:00:00Z"),  # identical to a.csv's r1: a duplicate
            req("r3", "2025-10-03T04:00:00Z", tokens=7),  # r3 of b.csv with other values: a conflict
        ],
    )
    before = {p: p.stat().st_mtime_ns for p in (root / "staging" / "requests").glob("date=2025-10-0[12]/*.parquet")}
    parsed = update_parse_cache(DATASETS["requests"], raw, root)
    assert parsed.changed_days == {"2025-10-01", "2025-10-03"}  # r1's copy falls on 10-01
    result = stage_days(DATASETS["requests"], root, sorted(parsed.changed_days))
    assert result.days == ["2025-10-01", "2025-10-03"] and result.context_days == ["2025-10-02"]
    ref = tables(full(raw, tmp_path / "ref"), "requests")
    assert tables(root, "requests") == ref
    assert {p: p.stat().st_mtime_ns for p in (root / "staging" / "requests").glob("date=2025-10-02/*.parquet")} == {
        p: t for p, t in before.items() if "2025-10-02" in str(p)
    }
    audit = {
        r[1]: r[3:7]
        for r in duckdb.connect()
        .execute(f"select * from read_parquet('{root}/ingest/requests/audit.parquet')")
        .fetchall()
    }
    assert audit["requests/date=2025-10-03/c.csv"] == (3, 1, 1, 1)  # read, loaded, quarantined (conflict), duplicate


@pytest.mark.parametrize("seed", range(6))
def test_random_edits_with_cross_day_repeats_stage_as_a_full_rebuild(seed, tmp_path):
    """Files added, rewritten and removed at random, each repeating ids of other days, some
    identical (duplicates), some not (conflicts), some in files that sort before the first copy:
    after every edit the incremental staging equals the one-pass engine's."""
    import random

    rng = random.Random(seed)
    raw = tmp_path / "raw"
    (raw / "models").mkdir(parents=True)
    (raw / "models" / "m.csv").write_text(MODELS)
    (raw / "endpoints").mkdir()
    (raw / "endpoints" / "e.csv").write_text(ENDPOINTS)
    rows = {f"r{i}": (f"2025-10-{1 + i % 10:02d}T{i % 24:02d}:00:00Z", 10) for i in range(40)}

    written: set[str] = set()

    def a_file() -> list[str]:
        day = rng.randint(1, 10)
        out = [req(f"n{step}_{i}", f"2025-10-{day:02d}T0{i}:00:00Z") for i in range(3)]
        for _ in range(3):
            # mostly ids already written (a log's repeats), sometimes one never seen
            rid = rng.choice(sorted(written)) if written and rng.random() < 0.8 else rng.choice(sorted(rows))
            written.add(rid)
            ts, tokens = rows.setdefault(rid, (f"2025-10-{day:02d}T09:00:00Z", 10))
            if rng.random() < 0.4:  # the same id on the new file's own day: a conflict across days
                ts = f"2025-10-{day:02d}" + ts[10:]
            out.append(req(rid, ts, tokens if rng.random() < 0.6 else tokens + rng.randint(1, 5)))
        return out

    from pipeline.lib.plan import day_inputs, plan, signatures

    root = tmp_path / "inc"
    names = [f"requests/{d}/{n}.csv" for d in ("a", "m", "z") for n in ("x", "y")]
    built = None
    for step in range(8):
        present = [n for n in names if (raw / n).exists()]
        if present and rng.random() < 0.25:
            (raw / rng.choice(present)).unlink()
        elif rng.random() < 0.5:
            write(raw, rng.choice(names), a_file())
        else:  # a new file, as a day's log arrives (mostly sorting after the others)
            write(raw, f"requests/{rng.choice('mzz')}/n{step}.csv", a_file())
        if step % 2:  # what the parse cache and stage_days do alone
            incremental(raw, root)
        else:  # what a run does: the plan against what was built, its days rebuilt, its recounts counted
            for name in DIMS:
                stage_dataset(DATASETS[name], raw, root)
            update_parse_cache(DATASETS["requests"], raw, root)
            todo = plan(root, signatures(root, built) if built else None, built_inputs=built)
            stage_days(DATASETS["requests"], root, todo.dirty, recount=todo.recount)
        built = day_inputs(root)
        assert tables(root, "requests") == tables(full(raw, tmp_path / "ref"), "requests"), f"seed {seed}, step {step}"


def test_a_day_whose_new_rows_all_repeat_loaded_ones_is_recounted_not_restaged(raw, tmp_path):
    """The plan: a new day's file whose repeats of earlier days' rows all lose to those rows
    rebuilds only the new day; the earlier days' new rows are counted. A file sorting before the
    first copies makes its rows win: then their days are rebuilt."""
    from pipeline.lib.plan import day_inputs, plan, signatures

    root = tmp_path / "inc"
    incremental(raw, root)
    built = day_inputs(root)
    staged_0102 = {p: p.stat().st_mtime_ns for p in (root / "staging" / "requests").glob("date=2025-10-02/*.parquet")}
    write(
        raw,
        "requests/date=2025-10-03/c.csv",
        [
            req("r4", "2025-10-03T02:00:00Z"),
            req("r1", "2025-10-01T01:00:00Z"),  # identical to a.csv's r1 (10-01): a duplicate
            req("r3", "2025-10-02T05:00:00Z", tokens=7),  # b.csv's r3 (10-02) with other values: a conflict
            "bad,row",
        ],
    )
    update_parse_cache(DATASETS["requests"], raw, root)
    todo = plan(root, signatures(root, built), built_inputs=built)
    assert todo.dirty == ["2025-10-03"]
    assert todo.recount == {
        "2025-10-01": ["requests/date=2025-10-03/c.csv"],
        "2025-10-02": ["requests/date=2025-10-03/c.csv"],
    }
    stage_days(DATASETS["requests"], root, todo.dirty, recount=todo.recount)
    assert tables(root, "requests") == tables(full(raw, tmp_path / "ref"), "requests")
    assert {
        p: p.stat().st_mtime_ns for p in (root / "staging" / "requests").glob("date=2025-10-02/*.parquet")
    } == staged_0102
    # counting again (a run killed before its publish, then run again) changes nothing
    stage_days(DATASETS["requests"], root, todo.dirty, recount=todo.recount)
    assert tables(root, "requests") == tables(tmp_path / "ref", "requests")

    # a late file sorting before b.csv with r3 on 10-02: its row is the one loaded now
    built = day_inputs(root)
    write(raw, "requests/date=2025-09-30/early.csv", [req("r3", "2025-10-02T05:00:00Z", tokens=99)])
    update_parse_cache(DATASETS["requests"], raw, root)
    todo = plan(root, signatures(root, built), built_inputs=built)
    assert "2025-10-02" in todo.dirty and not todo.recount
    stage_days(DATASETS["requests"], root, todo.dirty, recount=todo.recount)
    assert tables(root, "requests") == tables(full(raw, tmp_path / "ref"), "requests")
