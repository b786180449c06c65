"""marts.routing_sensitivity: the contract counterfactual (both objectives, oracle and causal,
quarters and months) of every variant of the replay's settings (availability rule, threshold,
bucket size) for the headline models, from the sensitivity partials'
rows; `is_run_setting` marks the variant the replay itself used (its rows repeat
marts.routing_counterfactual's). The variants are replayed by pipeline/lib/routing/sensitivity.py."""

from __future__ import annotations

import polars as pl

from pipeline.lib.marts.routing_counterfactual import COUNTERFACTUAL_SCHEMA, routing_counterfactual
from pipeline.lib.stats import N_BOOT, SEED

VARIANT_SCHEMA = {"bucket_minutes": pl.Int64, "availability_confidence": pl.Float64, "min_success": pl.Float64}


def routing_sensitivity(
    daily: pl.DataFrame, daily_columns: list[str], n_boot: int = N_BOOT, seed: int = SEED
) -> pl.DataFrame:
    """`daily`: the partials' rows (core_routing__daily's columns, `daily_columns`, and the variant's)."""
    keys = ["period_type", "period", "model", "objective", "policy", *VARIANT_SCHEMA]
    if not daily.height:  # no headline model replayed: the mart's columns, no rows
        schema = {
            **{k: COUNTERFACTUAL_SCHEMA[k] for k in keys[:5]},
            **VARIANT_SCHEMA,
            "is_run_setting": pl.Boolean,
            **{k: v for k, v in COUNTERFACTUAL_SCHEMA.items() if k not in keys},
        }
        return pl.DataFrame(schema=schema)
    frames = []
    for (minutes, confidence, min_success), part in daily.group_by(list(VARIANT_SCHEMA), maintain_order=True):
        cf = routing_counterfactual(part.select(daily_columns), n_boot, seed)
        frames.append(
            cf.with_columns(
                pl.lit(minutes, pl.Int64).alias("bucket_minutes"),
                pl.lit(confidence, pl.Float64).alias("availability_confidence"),
                pl.lit(min_success, pl.Float64).alias("min_success"),
                pl.lit(bool(part["is_run_setting"].all())).alias("is_run_setting"),
            )
        )
    out = pl.concat(frames, how="vertical_relaxed")
    return out.select(*keys[:5], *VARIANT_SCHEMA, "is_run_setting", pl.exclude(*keys, "is_run_setting")).sort(
        keys, descending=[True] + [False] * (len(keys) - 1)
    )
