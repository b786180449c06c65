"""marts.key_figures: the report's headline numbers, computed from the marts they summarise
(sql/marts/key_figures.sql), so the report only formats them."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from pipeline.lib.parquet_io import sql_to_parquet
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


def build_key_figures(root: Path) -> pl.DataFrame:
    files = {param: marts_file(root, mart) for param, mart in INPUTS.items()}
    missing = [str(f) for f in files.values() if not f.exists()]
    if missing:
        raise FileNotFoundError(f"key_figures needs {', '.join(missing)}: materialize those marts first")
    return sql_to_parquet("marts/key_figures", {k: str(v) for k, v in files.items()}, marts_file(root, "key_figures"))
