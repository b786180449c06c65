"""A day costs a day (issue 13): `servicelens run` on a drop to which a day's files were added
builds only that day's partitions (then the marts from the per-day partials), and what it
publishes equals a full rebuild of the whole drop; a price correction rebuilds only the days the
price was in force; the same job on Dagster's multiprocess executor publishes the same; the mirror
on object storage takes the new day's files, not the quarter's."""

from __future__ import annotations

import datetime as dt
import shutil
import uuid

import duckdb
import fsspec
import polars as pl
import pytest

from pipeline.lib.generate import generate_drop
from pipeline.lib.generations import Store
from pipeline.lib.generations.remote import connect_remote, mirror
from pipeline.lib.runner import run_pipeline
from tests.warehouse_compare import differences

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def drop(tmp_path_factory):
    raw = tmp_path_factory.mktemp("incremental") / "raw"
    generate_drop(raw, n_requests=3000, seed=7)
    return raw


@pytest.fixture(scope="module")
def built(drop, tmp_path_factory):
    """The drop built once from scratch: its raw folder and its warehouse file. Tests that start
    from a built drop copy both (_copy_built) rather than build it again."""
    base = tmp_path_factory.mktemp("built")
    shutil.copytree(drop, base / "raw")
    _run(base / "raw", base / "wh" / "wh.duckdb")
    return base


def _copy_built(built, tmp_path):
    """A private copy of the built drop (raw folder, warehouse, its store and Parquet links,
    which are relative): (raw, warehouse file)."""
    shutil.copytree(built / "raw", tmp_path / "raw")
    shutil.copytree(built / "wh", tmp_path / "inc", symlinks=True)
    return tmp_path / "raw", tmp_path / "inc" / "wh.duckdb"


def _run(raw, warehouse, **kw) -> list[str]:
    lines = []
    assert run_pipeline(raw, warehouse, echo=lines.append, log_level="ERROR", **kw), "\n".join(lines)
    return lines


def _equals_a_full_rebuild(raw, incremental, tmp_path, file_name: str) -> tuple:
    """Build the drop from scratch, assert the incremental warehouse equals it, and return the
    full build's audit (read, loaded, quarantined, duplicate) of the file `file_name`."""
    full = tmp_path / "full" / "wh.duckdb"
    _run(raw, full)
    assert differences(incremental, full) == []
    return (
        duckdb.connect(str(full), read_only=True)
        .execute(
            "select rows_read, rows_loaded, rows_quarantined, rows_duplicate from marts.ingest_audit where source_file like $f",
            {"f": f"%{file_name}"},
        )
        .fetchone()
    )


def test_one_more_day_builds_that_day_and_equals_a_full_rebuild(drop, built, tmp_path):
    raw = tmp_path / "raw"
    shutil.copytree(drop, raw)
    held = tmp_path / "held"
    held.mkdir()
    # the daily compat canary's file of that day too
    for dataset in ("requests", "latency_probes", "compat_probes"):
        shutil.move(raw / dataset / "date=2025-12-31", held / dataset)
    incremental = tmp_path / "inc" / "wh.duckdb"
    first = _run(raw, incremental)
    assert any(line.startswith("plan: 91 of 91 days to build") for line in first)
    url = f"memory://servicelens-{uuid.uuid4().hex}"  # object storage, as `run --mirror` fills it
    mirror(Store(incremental), url)
    # the last day's files arrive
    for dataset in ("requests", "latency_probes", "compat_probes"):
        shutil.move(held / dataset, raw / dataset / "date=2025-12-31")
    second = _run(raw, incremental)
    assert "plan: 1 of 92 days to build (2025-12-31; 1 new day)" in second
    # ... and the mirror uploads that day, not the quarter: no other day's staged requests go up
    fs, base = fsspec.core.url_to_fs(url)
    uploaded: list[str] = []
    put = fs.put_file
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(fs, "put_file", lambda lpath, rpath, **kw: (uploaded.append(rpath), put(lpath, rpath, **kw)))
        mirror(Store(incremental), url)
    staged_days = {u.split("/date=")[1][:10] for u in uploaded if "/staging/requests/" in u}
    assert staged_days == {"2025-12-31"}
    remote = connect_remote(url).execute("select count(*), sum(input_tokens) from staging.requests").fetchone()
    local = duckdb.connect(str(incremental), read_only=True)
    assert remote == local.execute("select count(*), sum(input_tokens) from staging.requests").fetchone()
    local.close()
    fs.rm(base, recursive=True)
    # unchanged now: nothing to build, nothing published
    third = _run(raw, incremental)
    assert third[0].startswith("the drop is unchanged since generation ")
    # the drop is whole again: what it publishes is what building it from scratch did
    assert differences(incremental, built / "wh" / "wh.duckdb") == []


def test_a_day_repeating_earlier_days_rows_builds_one_day_and_equals_a_full_rebuild(built, tmp_path):
    """A new day's file that repeats rows of two earlier days (one identical: a duplicate, one
    with another status: a conflict) builds only its own day; the earlier days are recounted, and
    what is published equals a full rebuild."""
    raw, incremental = _copy_built(built, tmp_path)
    con = duckdb.connect()
    early = con.execute(
        f"select * from read_parquet('{raw}/requests/date=2025-10-0[5-6]/*.parquet', hive_partitioning = false) "
        "where status = 'ok' order by request_id limit 2"
    ).pl()
    repeats = pl.concat(
        [early[:1], early[1:].with_columns(pl.lit("error").alias("status"), pl.lit("timeout").alias("error_type"))]
    )
    fresh = con.execute(
        f"select * from read_parquet('{raw}/requests/date=2025-12-31/*.parquet', hive_partitioning = false) limit 3"
    ).pl()
    fresh = fresh.with_columns((pl.col("request_id") + "-late").alias("request_id"))
    (raw / "requests" / "date=2025-12-31" / "part-late.parquet").parent.mkdir(exist_ok=True)
    pl.concat([fresh, repeats]).write_parquet(raw / "requests" / "date=2025-12-31" / "part-late.parquet")
    days = sorted({d.date().isoformat() for d in early["ts"]})
    second = _run(raw, incremental)
    plan_line = next(line for line in second if line.startswith("plan:"))
    assert plan_line.startswith("plan: 1 of 92 days to build (2025-12-31; 1 inputs changed)"), plan_line
    assert f"{len(days)} days recounted, not rebuilt" in plan_line, plan_line

    assert _equals_a_full_rebuild(raw, incremental, tmp_path, "part-late.parquet") == (5, 3, 1, 1)


def test_a_file_of_repeats_only_builds_no_day_and_equals_a_full_rebuild(built, tmp_path):
    """A late file holding only repeats of earlier rows (a gateway re-sending yesterday's log
    lines) builds no day: its days are recounted, and the marts, warehouse and report are rebuilt."""
    raw, incremental = _copy_built(built, tmp_path)
    con = duckdb.connect()
    read = "select * from read_parquet('{}', hive_partitioning = false) order by request_id limit 4"
    early = con.execute(read.format(f"{raw}/requests/date=2025-11-1[0-2]/*.parquet")).pl()
    early.write_parquet(raw / "requests" / "date=2025-12-31" / "part-resent.parquet")
    second = _run(raw, incremental)
    plan_line = next(line for line in second if line.startswith("plan:"))
    days = len({d.date() for d in early["ts"]})
    assert plan_line.startswith(f"plan: no day to build of 92; {days} days recounted, not rebuilt"), plan_line
    # repeats in a file with a column the staged days lack: a full rebuild stages that column for
    # their days, so those days are rebuilt
    later = (
        con.execute(read.format(f"{raw}/requests/date=2025-11-2[0-2]/*.parquet"))
        .pl()
        .with_columns(pl.lit("x").alias("note"))
    )
    later.write_parquet(raw / "requests" / "date=2025-12-31" / "part-resent-noted.parquet")
    third = _run(raw, incremental)
    plan_line = next(line for line in third if line.startswith("plan:"))
    assert plan_line.startswith(f"plan: {len({d.date() for d in later['ts']})} of 92 days to build"), plan_line
    assert _equals_a_full_rebuild(raw, incremental, tmp_path, "part-resent.parquet") == (4, 0, 0, 4)


def test_a_price_correction_rebuilds_the_days_it_was_in_force(built, tmp_path):
    raw, warehouse = _copy_built(built, tmp_path)
    # correct one snapshot of one service object (its input price doubled)
    prices_file = raw / "prices" / "prices.csv"
    prices = pl.read_csv(prices_file, infer_schema_length=0)
    obj = prices.group_by("provider", "model").len().filter(pl.col("len") >= 3).sort("provider", "model").row(0)
    snaps = sorted(prices.filter((pl.col("provider") == obj[0]) & (pl.col("model") == obj[1]))["snapshot_ts"].to_list())
    start, end = dt.datetime.fromisoformat(snaps[1]), dt.datetime.fromisoformat(snaps[2])
    corrected = prices.with_columns(
        pl.when((pl.col("provider") == obj[0]) & (pl.col("model") == obj[1]) & (pl.col("snapshot_ts") == snaps[1]))
        .then((pl.col("input_per_mtok").cast(pl.Float64) * 2).cast(pl.String))
        .otherwise(pl.col("input_per_mtok"))
        .alias("input_per_mtok")
    )
    corrected.write_csv(prices_file)
    lines = _run(raw, warehouse)
    plan_line = next(line for line in lines if line.startswith("plan:"))
    # the snapshot is in force from its snapshot_ts until the next one's: the days it touches
    day = start.replace(hour=0, minute=0, second=0, microsecond=0)
    touched = []
    while day < end:
        touched.append(day.date().isoformat())
        day += dt.timedelta(days=1)
    assert plan_line.startswith(f"plan: {len(touched)} of 92 days to build ({touched[0]}"), (plan_line, touched)
    full = tmp_path / "full" / "wh.duckdb"
    _run(raw, full)
    assert differences(warehouse, full) == []


def test_the_multiprocess_executor_publishes_what_the_in_process_run_does(drop, built, tmp_path):
    multi = tmp_path / "two" / "wh.duckdb"
    _run(drop, multi, processes=2)
    assert differences(built / "wh" / "wh.duckdb", multi) == []
    con = duckdb.connect(str(multi), read_only=True)
    assert con.execute("select count(*) from staging.requests").fetchone()[0] == 3000
    con.close()
