"""Parquet outputs written the safe way: to a temporary file beside the target, renamed
over it only when complete, so a reader (or a crash) never sees half a file."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import polars as pl

from pipeline.lib.ingest import connect
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
            return con.execute(f"copy ({load_sql(sql_name)}) to $out (format parquet)", {**params, "out": str(tmp)}).fetchone()[0]
        finally:
            con.close()


def frame_to_parquet(df: pl.DataFrame, out: Path) -> None:
    with replacing(out) as tmp:
        df.write_parquet(tmp)
