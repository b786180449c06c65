"""Marts computed from other marts (or a core table's per-day partials, `core.<name>`) by one SQL
file each (the registry's `factory: sql`): the
report-ready summaries (marts.key_figures, the scorecards). Each reads the mart files its
declaration names; a mart the warehouse lacks is read as empty, with its declared columns, so
a partial warehouse gets the rows it can and no error. A mart's settings (MART_PARAMS) are bound
beside its files, stated once here for the SQL, the report and marts.run_parameters."""

from __future__ import annotations

import tempfile
from pathlib import Path

import duckdb
import polars as pl

from pipeline.lib.parquet_io import sql_to_parquet
from pipeline.lib.registry import RegistryError, output, outputs
from pipeline.paths import core_dir, core_glob, marts_file

# A service object's blended list price more than this many times, or less than its inverse, the
# median of the model's other providers is implausible (marts.provider_leaderboard.price_implausible):
# public price tables hold prices off by a unit (per token read as per million) or a typo, 10^3 to
# 10^6 times the others, while real providers of one model differ by 10x at most.
PRICE_IMPLAUSIBLE_FACTOR = 100.0

# Values each factory mart's SQL binds besides its input files.
MART_PARAMS: dict[str, dict] = {"provider_leaderboard": {"implausible_factor": PRICE_IMPLAUSIBLE_FACTOR}}


def sql_marts() -> list[str]:
    """The names of the marts built this way, in an order where each comes after those it reads."""
    names = [o.name for o in outputs().values() if o.schema == "marts" and o.factory == "sql"]
    ordered: list[str] = []

    def visit(name: str, path: tuple[str, ...] = ()) -> None:
        if name in path:
            raise RegistryError(f"factory marts read each other in a cycle: {' -> '.join((*path, name))}")
        if name in ordered:
            return
        for _, mart in output(name).reads:
            if mart in names:
                visit(mart, (*path, name))
        ordered.append(name)

    for n in names:
        visit(n)
    return ordered


def empty_mart(mart: str, folder: Path) -> Path:
    """An empty Parquet file with the mart's declared columns."""
    cols = ", ".join(f'cast(null as {c.type}) as "{c.name}"' for c in output(mart).columns)
    path = folder / f"{mart}.parquet"
    con = duckdb.connect()
    try:
        con.execute(f"copy (select {cols} where false) to $p (format parquet)", {"p": str(path)})
    finally:
        con.close()
    return path


def build_sql_mart(root: Path, name: str, out: Path | None = None) -> pl.DataFrame:
    """marts/<name>.parquet under `root` (or `out`) from sql/marts/<name>.sql over the marts it reads."""
    entry = output(name)
    with tempfile.TemporaryDirectory() as tmp:
        files = {}
        for param, mart in entry.reads:
            if mart.startswith("core."):  # a per-day core table: its partials
                core = mart.removeprefix("core.")
                folder = core_dir(root, core)
                has_files = folder.is_dir() and any(folder.rglob("*.parquet"))
                files[param] = core_glob(root, core) if has_files else str(empty_mart(mart, Path(tmp)))
                continue
            f = marts_file(root, mart)
            files[param] = str(f if f.exists() else empty_mart(mart, Path(tmp)))
        return sql_to_parquet(f"marts/{name}", {**files, **MART_PARAMS.get(name, {})}, out or marts_file(root, name))
