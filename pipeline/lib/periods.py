"""Period helpers shared by the marts: every analysis mart has one row set per quarter and one
per month, told apart by `period_type`."""

from __future__ import annotations

import polars as pl


def quarter_rows(df: pl.DataFrame) -> pl.DataFrame:
    """The quarter rows of a mart (the figures asset metadata and headlines show)."""
    return df.filter(pl.col("period_type") == "quarter")
