"""Parquet outputs written the safe way: to a temporary file beside the target, renamed
over it only when complete, so a reader (or a crash) never sees half a file."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import polars as pl

from pipeline.lib.duck import connect
from pipeline.sql import load_sql


@contextmanager
def replacing(out: Path) -> Iterator[Path]:
    """Yield a temporary path for `out`; rename it over `out` if the block succeeds."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{uuid.uuid4().hex[:8]}")
    try:
        yield tmp
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)


def sql_to_parquet(sql_name: str, params: dict, out: Path) -> pl.DataFrame:
    """Run sql/<sql_name>.sql with bound parameters into `out`; return what was written."""
    sql_to_parquet_rows(sql_name, params, out)
    return pl.read_parquet(out)


def sql_to_parquet_rows(sql_name: str, params: dict, out: Path) -> int:
    """Run sql/<sql_name>.sql with bound parameters into `out`; return the number of rows
    written, without reading them back (core tables of ~10^6 rows are only counted)."""
    with replacing(out) as tmp:
        con = connect()
        try:
            return con.execute(
                f"copy ({load_sql(sql_name)}) to $out (format parquet)", {**params, "out": str(tmp)}
            ).fetchone()[0]
        finally:
            con.close()


def frame_to_parquet(df: pl.DataFrame, out: Path) -> None:
    with replacing(out) as tmp:
        df.write_parquet(tmp)


def sql_to_day_partitions(sql_name: str, params: dict, out_dir: Path, days, day_column: str = "date") -> int:
    """Run sql/<sql_name>.sql (its rows carry `day_column`) into out_dir/day=YYYY-MM-DD/ for
    each of `days`: each day's folder is replaced as a whole, a day without rows loses its
    folder, other days are left alone. When no day has rows, out_dir/data.parquet holds the
    columns so that readers still bind. Returns the rows written."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    tmp = out_dir.with_name(f".{out_dir.name}.new-{uuid.uuid4().hex[:8]}")
    con = connect()
    try:
        n = con.execute(
            f"copy (select *, strftime({day_column}, '%Y-%m-%d') as day from ({load_sql(sql_name)})) to $out "
            "(format parquet, compression zstd, compression_level 1, partition_by (day))",
            {**params, "out": str(tmp)},
        ).fetchone()[0]
        for day in days:
            new, target = tmp / f"day={day}", out_dir / f"day={day}"
            if new.is_dir():
                replace_dir(new, target)
            elif target.exists():
                replace_dir(None, target)
        empty = out_dir / "data.parquet"
        if any(out_dir.glob("day=*/*.parquet")):
            empty.unlink(missing_ok=True)
        else:
            with replacing(empty) as t:
                con.execute(
                    f"copy (select * from ({load_sql(sql_name)}) limit 0) to $out (format parquet)",
                    {**params, "out": str(t)},
                )
        return n
    finally:
        con.close()
        shutil.rmtree(tmp, ignore_errors=True)


def replace_dir(new: Path | None, target: Path) -> None:
    """Replace the folder `target` by `new` (or remove it, for None) with renames, so readers
    see the old or the new folder, never a mix."""
    target = Path(target)
    old = target.with_name(f".{target.name}.old-{uuid.uuid4().hex[:8]}")
    if target.exists():
        target.rename(old)
    if new is not None:
        target.parent.mkdir(parents=True, exist_ok=True)
        Path(new).rename(target)
    shutil.rmtree(old, ignore_errors=True)
