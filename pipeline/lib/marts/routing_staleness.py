"""marts.routing_staleness: how much staleness cost (issue 16). Per period, model (and all models
together) and objective, the policy frozen at the quarter's start (frozen_cheapest /
frozen_fastest: the provider order a gateway configured once) against the causal policy that
re-decides every bucket (cheapest / fastest: after every price, speed or availability change) on
the same requests. Pure: a frame in (core_routing__daily's rows), a frame out.

staleness_pct = 100 x (frozen / causal - 1) of the objective's value: for cost, how much more the
frozen list paid (positive: staleness cost money); for throughput, how much slower it decoded
(negative: staleness cost speed). Its 95 % interval is the paired day bootstrap of the ratio of
the two policies' day sums (the same resampled days on both sides); it leaves out the variance
of estimated cache hits, which moves both policies' costs together."""

from __future__ import annotations

import polars as pl

from pipeline.lib.marts.routing_totals import ALL_MODELS
from pipeline.lib.stats import N_BOOT, SEED, ratio_of_means_ci

SCHEMA = {
    "period": pl.String,
    "period_type": pl.String,
    "model": pl.String,
    "objective": pl.String,
    "requests_routed": pl.Float64,
    "n_days": pl.Int64,
    "causal_value": pl.Float64,
    "frozen_value": pl.Float64,
    "causal_change_pct": pl.Float64,
    "frozen_change_pct": pl.Float64,
    "staleness_pct": pl.Float64,
    "staleness_ci_low": pl.Float64,
    "staleness_ci_high": pl.Float64,
}


def routing_staleness(daily: pl.DataFrame, n_boot: int = N_BOOT, seed: int = SEED) -> pl.DataFrame:
    """One row per period, model (and ALL_MODELS) and objective with both policies replayed."""
    both = daily.filter(pl.col("policy").is_in(["causal", "frozen"]))
    if set(both["policy"].unique()) != {"causal", "frozen"}:  # a replay without both: nothing to compare
        return pl.DataFrame(schema=SCHEMA)
    sums = ["routed", "routed_sum", "base_sum"]
    keys = ["date", "month", "quarter", "objective", "policy"]
    everything = both.group_by(keys).agg(pl.col(sums).sum()).with_columns(model=pl.lit(ALL_MODELS))
    frames = pl.concat([both.select(*keys, "model", *sums), everything.select(*keys, "model", *sums)])
    wide = (
        frames.pivot(on="policy", index=["date", "month", "quarter", "model", "objective"], values=sums)
        .drop_nulls()
        .sort("date")  # the same seed resamples the same days on every run
    )
    rows = []
    for period_col, period_type in (("quarter", "quarter"), ("month", "month")):
        for (period, model, objective), g in wide.group_by([period_col, "model", "objective"], maintain_order=True):
            routed = float(g["routed_causal"].sum())
            if routed <= 0:  # nothing routed (every request excluded): nothing to compare
                continue
            # cost: totals; throughput: requests-weighted means over the same requests
            scale = 1.0 if objective == "cost" else routed
            causal, frozen = g["routed_sum_causal"].sum() / scale, g["routed_sum_frozen"].sum() / scale
            base = g["base_sum_causal"].sum() / scale
            ratio, lo, hi = ratio_of_means_ci(
                g["routed_sum_frozen"].to_numpy(), g["routed_sum_causal"].to_numpy(), n_boot=n_boot, seed=seed
            )
            rows.append(
                {
                    "period": period,
                    "period_type": period_type,
                    "model": model,
                    "objective": objective,
                    "requests_routed": routed,
                    "n_days": g.height,
                    "causal_value": causal,
                    "frozen_value": frozen,
                    "causal_change_pct": 100 * (causal / base - 1) if base else None,
                    "frozen_change_pct": 100 * (frozen / base - 1) if base else None,
                    "staleness_pct": 100 * (ratio - 1),
                    "staleness_ci_low": 100 * (lo - 1),
                    "staleness_ci_high": 100 * (hi - 1),
                }
            )
    out = pl.DataFrame(rows, schema=SCHEMA) if rows else pl.DataFrame(schema=SCHEMA)
    # no inf or nan is published
    floats = [c for c, t in SCHEMA.items() if t == pl.Float64]
    out = out.with_columns(pl.when(pl.col(c).is_finite()).then(pl.col(c)).alias(c) for c in floats)
    return out.sort("period_type", "period", "model", "objective", descending=[True, False, False, False])
