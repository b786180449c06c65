"""marts.supply_use_summary: does wider listing go with more use? Per period, Spearman's rank
correlation between listing breadth and demand share across the period's models
(marts.supply_use), with a 95 % bootstrap interval resampling models."""

from __future__ import annotations

import polars as pl

from pipeline.lib.demand import finite_or_null, significant
from pipeline.lib.stats import N_BOOT, SEED, spearman_ci


def supply_use_summary(supply: pl.DataFrame, n_boot: int = N_BOOT, seed: int = SEED) -> pl.DataFrame:
    """From marts.supply_use's rows."""
    rows = []
    for (period, period_type), part in supply.group_by(["period", "period_type"], maintain_order=True):
        # models in name order and shares to 12 significant digits: the resampled units and the
        # ranks must not depend on row order or on the last bits of a float sum
        part = part.sort("model")
        rho, lo, hi = spearman_ci(
            significant(part["listing_breadth"].to_numpy()),
            significant(part["demand_share"].to_numpy()),
            n_boot=n_boot,
            seed=seed,
        )
        rows.append(
            {
                "period": period,
                "period_type": period_type,
                "n_models": part.height,
                "spearman_rho": rho,
                "rho_ci_low": lo,
                "rho_ci_high": hi,
            }
        )
    summary = finite_or_null(
        pl.DataFrame(
            rows,
            schema={
                "period": pl.String,
                "period_type": pl.String,
                "n_models": pl.Int64,
                "spearman_rho": pl.Float64,
                "rho_ci_low": pl.Float64,
                "rho_ci_high": pl.Float64,
            },
        )
    )
    return summary
