"""Build one report-ready mart (registry `factory: sql`) from hand-made input marts, the way the
pipeline does (pipeline/lib/sql_marts.py): each input written where the pipeline keeps it, an
input left out read as empty with its declared columns."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from pipeline.lib.sql_marts import build_sql_mart
from pipeline.paths import marts_file


def build(root: Path, name: str, **inputs: pl.DataFrame) -> pl.DataFrame:
    for mart, frame in inputs.items():
        out = marts_file(root, mart)
        out.parent.mkdir(parents=True, exist_ok=True)
        frame.write_parquet(out)
    return build_sql_mart(root, name)


def declared(name: str) -> list[str]:
    from pipeline.lib.registry import output

    return [c.name for c in output(name).columns]
