"""marts.replay_validation (issue 17): does the replay's picture of a provider hold for the
traffic it really served? Per period, provider, model and metric, what the replay assumes for
the logged requests that provider served (its probes' bucket medians of TTFT and decode
throughput, 1 - the bucket's probe success as the chance of a failure) beside what the logs
observed for those same requests. Pure: the per-day sums of core_routing__validation in, a frame
out.

predicted_value and observed_value are weighted means over the same requests; gap_pct =
100 x (observed / predicted - 1), with a 95 % interval that resamples days (the same days on both
sides: a ratio of day sums). A positive gap on ttft_ms means production is slower to its first
token than the probes say; a negative gap on decode_tps, that it decodes slower; a positive gap
on failure_rate, that it fails more often than its probes."""

from __future__ import annotations

import polars as pl

from pipeline.lib.stats import N_BOOT, SEED, ratio_of_means_ci

METRICS = ("ttft_ms", "decode_tps", "failure_rate")

SCHEMA = {
    "period": pl.String,
    "period_type": pl.String,
    "provider": pl.String,
    "model": pl.String,
    "metric": pl.String,
    "requests": pl.Float64,
    "requests_logged": pl.Int64,
    "requests_unpredicted": pl.Float64,
    "n_days": pl.Int64,
    "predicted_value": pl.Float64,
    "observed_value": pl.Float64,
    "gap": pl.Float64,
    "gap_pct": pl.Float64,
    "gap_pct_ci_low": pl.Float64,
    "gap_pct_ci_high": pl.Float64,
}

KEYS = ["provider", "model", "metric"]


def replay_validation(daily: pl.DataFrame, n_boot: int = N_BOOT, seed: int = SEED) -> pl.DataFrame:
    """One row per period (quarter and month), provider, model and metric with a predicted request."""
    if not daily.height:
        return pl.DataFrame(schema=SCHEMA)
    # days in date order: the same seed resamples the same days on every run
    daily = daily.sort("date", maintain_order=True)
    # the columns as arrays once, each group as the positions of its rows (per-group polars calls
    # cost a second a run)
    arrays = {
        c: daily[c].fill_null(0).cast(pl.Float64).to_numpy()
        for c in ("w", "unpredicted", "predicted_sum", "observed_sum", "requests_logged")
    }
    rows = []
    for period_col, period_type in (("quarter", "quarter"), ("month", "month")):
        groups = daily.with_row_index("_row").group_by([period_col, *KEYS], maintain_order=True).agg(pl.col("_row"))
        for period, provider, model, metric, positions in groups.iter_rows():
            g = {c: a[positions] for c, a in arrays.items()}
            w = float(g["w"].sum())
            predicted = float(g["predicted_sum"].sum()) / w if w else None
            observed = float(g["observed_sum"].sum()) / w if w else None
            days = g["w"] > 0
            ratio, lo, hi = ratio_of_means_ci(
                g["observed_sum"][days], g["predicted_sum"][days], n_boot=n_boot, seed=seed
            )
            rows.append(
                {
                    "period": period,
                    "period_type": period_type,
                    "provider": provider,
                    "model": model,
                    "metric": metric,
                    "requests": w,
                    "requests_logged": int(g["requests_logged"].sum()),
                    "requests_unpredicted": float(g["unpredicted"].sum()),
                    "n_days": int(days.sum()),
                    "predicted_value": predicted,
                    "observed_value": observed,
                    "gap": observed - predicted if w else None,
                    "gap_pct": 100 * (ratio - 1),
                    "gap_pct_ci_low": 100 * (lo - 1),
                    "gap_pct_ci_high": 100 * (hi - 1),
                }
            )
    finite = ("predicted_value", "observed_value", "gap", "gap_pct", "gap_pct_ci_low", "gap_pct_ci_high")
    return (
        pl.DataFrame(rows, schema=SCHEMA)
        .with_columns(pl.when(pl.col(c).is_finite()).then(pl.col(c)).alias(c) for c in finite)
        .filter(pl.col("requests") > 0)
        .sort(["period_type", "period", "model", "provider", "metric"], descending=[True, False, False, False, False])
    )
