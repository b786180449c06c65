"""Staging one dataset: its validated rows (pipeline/lib/ingest/read.py) deduplicated and written
as Parquet, with its audit and quarantine, swapped into place."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pipeline.lib.contract import Dataset
from pipeline.lib.duck import connect, lit, q, swap_dir
from pipeline.lib.ingest.discovery import SourceFile, discover_all
from pipeline.lib.ingest.read import read_validated
from pipeline.paths import ingest_dir, staging_dir
from pipeline.sql import load_sql


@dataclass
class StageResult:
    dataset: str
    rows_read: int
    rows_loaded: int
    rows_quarantined: int
    rows_duplicate: int
    files: int
    unreadable_files: int


def stage_dataset(
    spec: Dataset,
    raw_dir: Path,
    root: Path,
    log: Callable[[str], None] = lambda _msg: None,
    memory_limit: str = "3GB",
) -> StageResult:
    """Validate and stage one dataset of the drop at `raw_dir` into the Parquet root `root`."""
    files = discover_all(raw_dir, spec.name)
    tmp = Path(root) / ".tmp" / f"{spec.name}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir(parents=True)
    try:
        con = connect(tmp / "duckdb", memory_limit)
        try:
            result = _stage(con, spec, files, Path(root), tmp, log)
        finally:
            con.close()
        swap_dir(tmp / "table", staging_dir(root, spec.name))
        swap_dir(tmp / "ingest", ingest_dir(root, spec.name))
        return result
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def row_struct(spec: Dataset) -> str:
    """A row's contract columns as one struct: what "identical" compares (and a conflict's raw)."""
    return "{" + ", ".join(f"{lit(c.name)}: {q(c.name)}" for c in spec.columns) + "}"


def classify_duplicates(con, spec: Dataset) -> None:
    """Over the validated rows in view `v`, create `dupclass` (every row of a repeated key: the
    first by (_source_file, _row_number) 'loaded', an identical repeat 'duplicate', a different
    one 'conflict'), `ok` (the rows to stage) and `ok_shaped` (sql/staging/stg_<dataset>.sql over
    them). One rule for the whole-dataset engine and the per-day one (pipeline/lib/staging.py)."""
    key = ", ".join(q(k) for k in spec.key)
    struct = row_struct(spec)
    # Repeated keys are found on a fixed-width hash of the key (cheaper to group than strings);
    # the rows of those hashes are then grouped by the exact key, and a key held once (a hash
    # collision) drops out. Two scans of the rows, not three. A key with a NULL part repeats no
    # other (as in a join).
    con.execute(
        f"create temp table dupkeys as select hash({key}) as h from v where _reason is null group by all having count(*) > 1"
    )
    not_null = " and ".join(f"{q(k)} is not null" for k in spec.key)
    con.execute(
        f"""create temp table dupclass as
        select * exclude (__n) from (
            select _source_file, _row_number,
                   case when row_number() over w = 1 then 'loaded'
                        when {struct} is not distinct from first_value({struct}) over w then 'duplicate'
                        else 'conflict' end as _class,
                   first_value(_source_file) over w as _first_file,
                   first_value(_row_number) over w as _first_row,
                   cast(to_json({struct}) as varchar) as _raw,
                   count(*) over (partition by {key}) as __n
            from v
            where _reason is null and {not_null} and hash({key}) in (select h from dupkeys)
            window w as (partition by {key} order by _source_file, _row_number))
        where __n > 1"""
    )
    con.execute(
        "create temp view ok as select v.* exclude (_reason, _raw) from v "
        "anti join (select _source_file, _row_number from dupclass where _class <> 'loaded') d "
        "using (_source_file, _row_number) where _reason is null"
    )
    con.execute(f"create temp view ok_shaped as {load_sql('staging/stg_' + spec.name)}")


def _stage(con, spec: Dataset, files: list[SourceFile], root: Path, tmp: Path, log) -> StageResult:
    files, errors = read_validated(con, spec, files, root, tmp, log)
    log(
        f"{spec.name}: {con.execute('select count(*) from v').fetchone()[0]:,} rows read; classifying duplicates and conflicts"
    )
    classify_duplicates(con, spec)

    log(f"{spec.name}: writing staging Parquet")
    table_dir = tmp / "table"
    n_loaded = con.execute("select count(*) from ok").fetchone()[0]
    table_dir.mkdir(parents=True)
    select = "select * exclude (_source_file, _row_number) from ok_shaped"
    # zstd level 1: a fifth faster to write than the default level, a third smaller than snappy
    if not n_loaded:
        # An empty table still has its columns, so downstream SQL binds.
        con.execute(f"copy ({select}) to {lit(str(table_dir / 'data.parquet'))} (format parquet)")
    else:
        if spec.partition_by:
            con.execute(
                f"copy ({select}) to {lit(str(table_dir))} "
                "(format parquet, compression zstd, compression_level 1, partition_by (date), overwrite_or_ignore true)"
            )
        else:
            con.execute(
                f"copy ({select} order by all) to {lit(str(table_dir / 'data.parquet'))} (format parquet, compression zstd, compression_level 1)"
            )

    quarantine_sql = f"""
        select {lit(spec.name)} as dataset, _source_file as source_file, _row_number as row_number, _reason as reason, _raw as raw
        from v where _reason is not null
        union all
        select {lit(spec.name)}, _source_file, _row_number,
               'conflict: key (' || {lit(", ".join(spec.key))} || ') already loaded from ' || _first_file || ' row ' || _first_row || ' with other values',
               _raw
        from dupclass where _class = 'conflict'
        union all
        select dataset, source_file, row_number, reason, raw from malformed
    """
    con.execute("create temp table file_errors (source_file varchar, file_error varchar)")
    if errors:
        con.executemany("insert into file_errors values (?, ?)", sorted(errors.items()))
    con.execute("create temp table files (source_file varchar, file_format varchar)")
    if files:
        con.executemany("insert into files values (?, ?)", [(sf.rel, sf.fmt) for sf in files])

    ingest = tmp / "ingest"
    ingest.mkdir()
    con.execute(
        f"copy ({quarantine_sql} order by source_file, row_number) to {lit(str(ingest / 'quarantine.parquet'))} (format parquet)"
    )
    con.execute(
        f"""copy (
        with per_row as (
            select _source_file as source_file,
                   count(*) as n,
                   count(*) filter (where _reason is not null) as q
            from v group by all),
        per_dup as (
            select _source_file as source_file,
                   count(*) filter (where _class = 'duplicate') as d,
                   count(*) filter (where _class = 'conflict') as c
            from dupclass group by all),
        per_bad as (select source_file, count(*) as m from malformed group by all)
        select {lit(spec.name)} as dataset, f.source_file, f.file_format,
               coalesce(r.n, 0) + coalesce(b.m, 0) as rows_read,
               coalesce(r.n, 0) - coalesce(r.q, 0) - coalesce(d.d, 0) - coalesce(d.c, 0) as rows_loaded,
               coalesce(r.q, 0) + coalesce(d.c, 0) + coalesce(b.m, 0) as rows_quarantined,
               coalesce(d.d, 0) as rows_duplicate,
               e.file_error
        from files f
        left join per_row r using (source_file)
        left join per_dup d using (source_file)
        left join per_bad b using (source_file)
        left join file_errors e using (source_file)
        order by f.source_file) to {lit(str(ingest / "audit.parquet"))} (format parquet)"""
    )
    totals = con.execute(
        f"select coalesce(sum(rows_read), 0), coalesce(sum(rows_loaded), 0), coalesce(sum(rows_quarantined), 0), "
        f"coalesce(sum(rows_duplicate), 0) from read_parquet({lit(str(ingest / 'audit.parquet'))})"
    ).fetchone()
    return StageResult(spec.name, *map(int, totals), files=len(files), unreadable_files=len(errors))
