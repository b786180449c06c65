"""marts.routing_capacity (issue 17): a replay that sends every request to the cheapest host
forgets that a host refuses more the more it is sent. Pure: frames in, a frame out.

A provider's capacity line comes from marts.provider_capacity (provider_capacity.py): the share
of its requests refused by a rate limit as a line in the requests it served in the hour.

routing_capacity charges each policy for it. Where a policy sends a capacity-limited provider
more requests in an hour than the logs show it serving, the line predicts the extra refusals,
slope x (routed - logged), at most all of them; a refused request falls back to the official API
(as the causal policies' fallback does), paying the official price and getting its speed, plus
the refused attempt's input tokens at the provider's price in the share of refusals its logs bill
(`refusals_billed_share`: refused requests whose log carries billed input tokens; the contract's
token counts are usage as billed), so the cost is net of billed failed attempts. The official API
is never charged: its refusals are retried there.
The capacity-adjusted change against the official API is published beside the unadjusted one,
with a paired day-bootstrap interval (days resampled, the same on both sides)."""

from __future__ import annotations

import polars as pl

from pipeline.lib.stats import N_BOOT, SEED, ratio_of_means_ci

ROUTING_SCHEMA = {
    "period": pl.String,
    "period_type": pl.String,
    "model": pl.String,
    "objective": pl.String,
    "policy": pl.String,
    "requests_routed": pl.Float64,
    "n_days": pl.Int64,
    "fallback_share": pl.Float64,
    "limited_providers": pl.List(pl.String),
    "change_pct": pl.Float64,
    "capacity_change_pct": pl.Float64,
    "capacity_change_pct_ci_low": pl.Float64,
    "capacity_change_pct_ci_high": pl.Float64,
}


def with_periods(df: pl.DataFrame) -> pl.DataFrame:
    return df.with_columns(
        month=pl.col("date").dt.strftime("%Y-%m"),
        quarter=pl.col("date").dt.strftime("%Y") + "Q" + pl.col("date").dt.quarter().cast(pl.String),
    )


def capacity_day_sums(capacity: pl.DataFrame, hourly: pl.DataFrame, fit: pl.DataFrame) -> pl.DataFrame:
    """Per day, model and policy: what the policy routed, its cost and weight x tok/s at the
    providers it chose and at the official API, and both after the extra refusals."""
    logged = hourly.group_by("hour", "model", "provider").agg(
        v_logged=(pl.col("requests") - pl.col("client_errors")).sum()
    )
    limited = fit.filter(pl.col("capacity_limited")).select(
        "model",
        "provider",
        slope=pl.col("slope_per_1k") / 1000,
        billed=pl.col("refusals_billed_share").fill_null(0.0),
    )
    rows = (
        capacity.join(logged, on=["hour", "model", "provider"], how="left")
        .join(limited, on=["model", "provider"], how="left")
        .with_columns(
            extra=pl.when(pl.col("slope").is_not_null() & ~pl.col("is_official"))
            .then((pl.col("slope") * (pl.col("w") - pl.col("v_logged").fill_null(0))).clip(0.0, 1.0))
            .otherwise(0.0)
        )
        .with_columns(
            # a refused request costs the official price, and its refused attempt's input tokens where
            # the provider's logs bill refusals
            cost_adjusted=pl.col("cost_policy")
            - pl.col("extra") * (pl.col("cost_policy") - pl.col("cost_official"))
            + pl.col("extra") * pl.col("billed").fill_null(0.0) * pl.col("cost_input_policy"),
            tpsw_adjusted=pl.col("tpsw_policy") - pl.col("extra") * (pl.col("tpsw_policy") - pl.col("tpsw_official")),
            fallback=pl.col("extra") * pl.col("w"),
            limited_provider=pl.when(pl.col("slope").is_not_null() & ~pl.col("is_official")).then(pl.col("provider")),
        )
    )
    return with_periods(
        rows.group_by("date", "model", "policy")
        .agg(
            pl.col("w", "fallback", "cost_policy", "cost_official", "cost_adjusted").sum(),
            pl.col("tpsw_policy", "tpsw_official", "tpsw_adjusted").sum(),
            limited=pl.col("limited_provider").drop_nulls().unique(),
        )
        .sort("date", "model", "policy")
    )


def routing_capacity(days: pl.DataFrame, n_boot: int = N_BOOT, seed: int = SEED) -> pl.DataFrame:
    """marts.routing_capacity from capacity_day_sums: per period (quarter, month), model,
    objective and policy."""
    if not days.height:
        return pl.DataFrame(schema=ROUTING_SCHEMA)
    numeric = ("w", "fallback", "cost_policy", "cost_official", "cost_adjusted", "tpsw_policy", "tpsw_official")
    arrays = {c: days[c].fill_null(0).to_numpy().astype(float) for c in (*numeric, "tpsw_adjusted")}
    limited = days["limited"].to_list()
    rows = []
    for period_col, period_type in (("quarter", "quarter"), ("month", "month")):
        groups = days.with_row_index("_row").group_by(period_col, "model", "policy", maintain_order=True)
        for period, model, policy, positions in groups.agg(pl.col("_row")).iter_rows():
            g = {c: a[positions] for c, a in arrays.items()}
            w = float(g["w"].sum())
            used = sorted({p for i in positions for p in (limited[i] or [])})
            for objective, policy_col, base_col, adjusted_col in (
                ("cost", "cost_policy", "cost_official", "cost_adjusted"),
                ("throughput", "tpsw_policy", "tpsw_official", "tpsw_adjusted"),
            ):
                base = float(g[base_col].sum())
                unadjusted = 100 * (float(g[policy_col].sum()) / base - 1) if base else None
                ratio, lo, hi = ratio_of_means_ci(g[adjusted_col], g[base_col], n_boot=n_boot, seed=seed)
                rows.append(
                    {
                        "period": period,
                        "period_type": period_type,
                        "model": model,
                        "objective": objective,
                        "policy": policy,
                        "requests_routed": w,
                        "n_days": len(positions),
                        "fallback_share": float(g["fallback"].sum()) / w if w else None,
                        "limited_providers": used,
                        "change_pct": unadjusted,
                        "capacity_change_pct": 100 * (ratio - 1),
                        "capacity_change_pct_ci_low": 100 * (lo - 1),
                        "capacity_change_pct_ci_high": 100 * (hi - 1),
                    }
                )
    finite = ("change_pct", "capacity_change_pct", "capacity_change_pct_ci_low", "capacity_change_pct_ci_high")
    return (
        pl.DataFrame(rows, schema=ROUTING_SCHEMA)
        .with_columns(pl.when(pl.col(c).is_finite()).then(pl.col(c)).alias(c) for c in finite)
        .sort(["period_type", "period", "model", "objective", "policy"], descending=[True, False, False, False, False])
    )
