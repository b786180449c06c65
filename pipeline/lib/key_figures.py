"""marts.key_figures: the report's headline numbers, computed from the marts they summarise
(sql/marts/key_figures.sql), so the report only formats them."""

from __future__ import annotations

import tempfile
from pathlib import Path

import duckdb
import polars as pl

from pipeline.lib.parquet_io import sql_to_parquet
from pipeline.lib.registry import output
from pipeline.paths import marts_file

# the SQL's parameter -> the mart it reads
INPUTS = {
    "family_demand": "family_demand",
    "concentration": "concentration",
    "inertia_summary": "version_inertia_summary",
    "supply_use_summary": "supply_use_summary",
    "dispersion": "provider_dispersion",
    "anchoring": "price_anchoring",
    "error_matrix": "error_matrix",
    "verification": "vendor_verification",
    "pareto": "service_pareto",
    "routing_totals": "routing_totals",
}


def _empty(mart: str, folder: Path) -> Path:
    """An empty Parquet file with the mart's declared columns: a mart this warehouse lacks gives
    no figure rather than no table."""
    cols = ", ".join(f'cast(null as {c.type}) as "{c.name}"' for c in output(mart).columns)
    path = folder / f"{mart}.parquet"
    con = duckdb.connect()
    try:
        con.execute(f"copy (select {cols} where false) to $p (format parquet)", {"p": str(path)})
    finally:
        con.close()
    return path


def build_key_figures(root: Path, out: Path | None = None) -> pl.DataFrame:
    """Every figure for every period from the marts under `root`, written to `out` (default
    marts/key_figures.parquet under root)."""
    with tempfile.TemporaryDirectory() as tmp:
        files = {}
        for param, mart in INPUTS.items():
            f = marts_file(root, mart)
            files[param] = str(f if f.exists() else _empty(mart, Path(tmp)))
        return sql_to_parquet("marts/key_figures", files, out or marts_file(root, "key_figures"))
