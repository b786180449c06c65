"""marts.service_pareto: per period, for models with two or more listing providers, which
providers are dominated on price, decode throughput, probe success and tool-call schema
accuracy (marts.service_objects and marts.vendor_verification's rows in)."""

from __future__ import annotations

import polars as pl

# Pareto axes: (column, True when more is better)
PARETO_AXES = (
    ("blended_usd_per_mtok", False),
    ("decode_tps_p50", True),
    ("probe_success_rate", True),
    ("schema_accuracy", True),
)


def pareto(objects: pl.DataFrame) -> pl.DataFrame:
    """Mark each (period, model, provider) dominated or not on PARETO_AXES: q dominates p when q
    is at least as good on every axis and strictly better on one. A provider without a price,
    throughput or success rate is not placed (dominated null); a missing schema accuracy (no
    tool-call answers) counts as 0, the worst."""
    keys = ["period", "period_type", "model"]
    cols = [c for c, _ in PARETO_AXES]
    df = objects.select(*keys, "provider", *cols).with_columns(pl.col("schema_accuracy").fill_null(0.0))
    # compared at 12 significant digits: two runs sum the same floats in another order and may
    # differ in the last bits, which must not decide who dominates whom
    placed = df.drop_nulls(cols).with_columns(pl.col(c).round_sig_figs(12) for c in cols)
    pairs = placed.join(placed, on=keys, suffix="_q").filter(pl.col("provider") != pl.col("provider_q"))
    ge = [(pl.col(f"{c}_q") >= pl.col(c)) if up else (pl.col(f"{c}_q") <= pl.col(c)) for c, up in PARETO_AXES]
    gt = [(pl.col(f"{c}_q") > pl.col(c)) if up else (pl.col(f"{c}_q") < pl.col(c)) for c, up in PARETO_AXES]
    dominating = (
        pairs.filter(pl.all_horizontal(ge) & pl.any_horizontal(gt))
        .group_by([*keys, "provider"])
        .agg(pl.col("provider_q").sort().str.join(", ").alias("dominated_by"), pl.len().alias("n_dominating"))
    )
    out = df.join(dominating, on=[*keys, "provider"], how="left").with_columns(
        pl.when(pl.any_horizontal([pl.col(c).is_null() for c in cols]))
        .then(None)
        .otherwise(pl.col("n_dominating").is_not_null())
        .alias("dominated"),
        pl.col("n_dominating").fill_null(0).cast(pl.Int64),
    )
    return out.sort(["period_type", "period", "model", "provider"], descending=[True, False, False, False])


def service_pareto(objects: pl.DataFrame, verification: pl.DataFrame | None) -> pl.DataFrame:
    """Service objects listed in the period, of models with two or more of them, with the
    tool_calls suite's schema accuracy, marked dominated or not (pareto)."""
    objects = objects.filter(pl.col("listed_days") > 0)
    if verification is not None:
        acc = verification.filter(pl.col("suite") == "tool_calls").select(
            "period", "provider", "model", "schema_accuracy"
        )
        objects = objects.join(acc, on=["period", "provider", "model"], how="left")
    else:
        objects = objects.with_columns(schema_accuracy=pl.lit(None, pl.Float64))
    multi = objects.group_by(["period", "model"]).agg(pl.len().alias("n")).filter(pl.col("n") >= 2).drop("n")
    return pareto(objects.join(multi, on=["period", "model"], how="semi"))
