"""marts.concentration: how concentrated demand is per period, level (family / model / provider)
and measure (requests / tokens), over the units with demand: n, top-1 and top-5 shares, Gini,
HHI, and 95 % intervals for the Gini and the top-5 share (the logged requests resampled as the
sample design drew them, bias-corrected; pipeline/lib/concentration.py states the method)."""

from __future__ import annotations

from dataclasses import fields

import polars as pl

from pipeline.lib.concentration import Concentration, concentration
from pipeline.lib.demand import LEVELS, MEASURES, finite_or_null
from pipeline.lib.stats import N_BOOT, SEED

SCHEMA = {
    "period": pl.String,
    "period_type": pl.String,
    "level": pl.String,
    "measure": pl.String,
    "n_days": pl.Int64,
    **{f.name: (pl.Int64 if f.type in (int, "int") else pl.Float64) for f in fields(Concentration)},
}


def per_unit(part: pl.DataFrame, level: str, measure: str) -> pl.DataFrame:
    """The period's weighted total and sum of squared weights per unit, in unit order (an order
    that does not depend on hashing)."""
    return part.group_by(level).agg(pl.col(measure).sum(), pl.col(f"{measure}_w2").sum()).sort(level)


def concentration_mart(periods: pl.DataFrame, n_boot: int = N_BOOT, seed: int = SEED) -> pl.DataFrame:
    """From core_demand__daily with its `period` and `period_type` (demand.with_periods)."""
    rows = []
    for (period, period_type), part in periods.group_by(["period", "period_type"], maintain_order=True):
        for level in LEVELS:
            for measure in MEASURES:
                units = per_unit(part, level, measure)
                c = concentration(
                    units[measure].to_numpy(), units[f"{measure}_w2"].to_numpy(), n_boot=n_boot, seed=seed
                )
                rows.append(
                    {
                        "period": period,
                        "period_type": period_type,
                        "level": level,
                        "measure": measure,
                        "n_days": part["date"].n_unique(),
                        **c.__dict__,
                    }
                )
    # a drop without requests (prices or probes only) gives an empty table with its columns
    return finite_or_null(
        pl.DataFrame(rows, schema=SCHEMA).sort(
            ["period_type", "period", "level", "measure"], descending=[True, False, False, False]
        )
    )
