"""The DuckDB toolbox every stage imports: a configured connection (UTC, memory limit, the
macros the marts share), identifier and literal quoting, the globs of staged tables, and the
atomic swap of a finished table into place. Nothing here reads a drop: that is the ingestion
engine (pipeline/lib/ingest/)."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

import duckdb

from pipeline.paths import staging_dir


def q(ident: str) -> str:
    """Quote an identifier (column names come from data files, so never trust them)."""
    return '"' + ident.replace('"', '""') + '"'


def lit(value: str) -> str:
    """A SQL string literal. Only for values DuckDB will not take as parameters (table
    function arguments such as file paths, COPY targets); everything else is bound."""
    return "'" + str(value).replace("'", "''") + "'"


def day_text(expr: str) -> str:
    """SQL for the UTC day of a timestamp or date as 'YYYY-MM-DD' text (NULL for NULL): a row's
    day partition. The same text as strftime(.., '%Y-%m-%d') for every value (infinities and years
    past 9999 included) at a third of its cost per row; strftime only where the cast would differ,
    before year 1 (the cast writes '(BC)')."""
    return (
        f"case when {expr} >= timestamp '0001-01-01' then cast(cast({expr} as date) as varchar) "
        f"else strftime(cast({expr} as date), '%Y-%m-%d') end"
    )


def connect(temp_dir: Path | None = None, memory_limit: str = "3GB") -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(":memory:")
    # Naive timestamps mean UTC (contract); the session zone decides how they are read.
    con.execute("set TimeZone = 'UTC'")
    con.execute(f"set memory_limit = {lit(memory_limit)}")
    if temp_dir is not None:
        Path(temp_dir).mkdir(parents=True, exist_ok=True)
        con.execute(f"set temp_directory = {lit(str(temp_dir))}")
    # The period labels every mart uses (2025Q4, 2025-11), spelled once.
    con.execute("create macro quarter_label(d) as strftime(d, '%Y') || 'Q' || quarter(d)")
    con.execute("create macro month_label(d) as strftime(d, '%Y-%m')")
    # Whether a value changed from one row to the next, a null on one side counting as a change
    con.execute("create macro differs(a, b) as a is distinct from b")
    # Wilson score bounds of a proportion p on an (effective) sample of n, spelled once for every
    # mart that publishes <rate>_ci_low / _high and for the replay's availability rule:
    # wilson_bound(p, n, z) is the upper bound for z > 0, the lower for z < 0; null without p or
    # a sample. At p = 0 (p = 1) the lower (upper) bound is exactly 0 (1), which the formula
    # reaches only up to rounding. wilson_low / wilson_high: the 95 % two-sided interval.
    con.execute(
        "create macro wilson_bound(p, n, z) as case when p is null or n is null or n <= 0 then null "
        "when z < 0 and p <= 0 then 0.0 when z > 0 and p >= 1 then 1.0 "
        "else greatest(0.0, least(1.0, (p + z * z / (2 * n) + z * sqrt(p * (1 - p) / n + z * z / (4 * n * n))) / (1 + z * z / n))) end"
    )
    con.execute("create macro wilson_low(p, n) as wilson_bound(p, n, -1.959963984540054)")
    con.execute("create macro wilson_high(p, n) as wilson_bound(p, n, 1.959963984540054)")
    return con


def parquet_glob(path: Path) -> str | None:
    """Glob for a staged table, or None when it has no files (an empty table): the rule of
    pipeline/lib/record_sources.py, on this machine's disk."""
    from fsspec.implementations.local import LocalFileSystem

    from pipeline.lib.record_sources import dataset_glob

    return dataset_glob(LocalFileSystem(), str(Path(path)))


def staged_glob(root: Path, dataset: str) -> str:
    """Glob of a staged dataset for read_parquet; FileNotFoundError when it was never staged."""
    glob = parquet_glob(staging_dir(root, dataset))
    if glob is None:
        raise FileNotFoundError(f"staged {dataset} missing under {root}: materialize stg_{dataset} first")
    return glob


def swap_dir(new: Path, target: Path) -> None:
    """Replace `target` by `new` with two renames, so readers see the old or the new table."""
    target.parent.mkdir(parents=True, exist_ok=True)
    old = target.with_name(f".{target.name}.old-{uuid.uuid4().hex[:8]}")
    if target.exists():
        target.rename(old)
    new.rename(target)
    shutil.rmtree(old, ignore_errors=True)
