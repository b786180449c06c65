"""marts.provider_capacity (issue 17): does a provider refuse more when it is sent more? Per
model and provider, a weighted least-squares line of the share of its logged requests refused by
a rate limit (429) on the requests it served in the hour, from its own logs
(core_requests__hourly): each hour weighted by its requests (client errors left out of both), the
slope's 95 % interval from resampled days. A provider is `capacity_limited` when that interval
lies above 0 and the line is material (doubling its mean hourly traffic adds at least
MIN_EFFECT, one point, of refusals). marts.routing_capacity (routing_capacity.py) charges the
routing policies with it. Pure: a frame in, a frame out."""

from __future__ import annotations

import numpy as np
import polars as pl

from pipeline.lib.stats import INTERVAL_LEVEL, N_BOOT, SEED, resample_indices

MIN_HOURS = 24  # hours with traffic a provider needs for a fitted line
# a capacity limit worth charging: doubling the provider's mean hourly traffic adds at least this
# share of refusals (a slope whose interval clears 0 by chance, one provider in twenty, is tiny)
MIN_EFFECT = 0.01

CAPACITY_SCHEMA = {
    "model": pl.String,
    "provider": pl.String,
    "hours": pl.Int64,
    "requests": pl.Float64,
    "mean_hourly_requests": pl.Float64,
    "rate_limit_share": pl.Float64,
    "refusals_billed_share": pl.Float64,
    "base_share": pl.Float64,
    "slope_per_1k": pl.Float64,
    "slope_per_1k_ci_low": pl.Float64,
    "slope_per_1k_ci_high": pl.Float64,
    "capacity_limited": pl.Boolean,
}


def _line(a1, a2, a3, r1, r2):
    """Weighted least squares of share = r / v on v with weights v, from the sums of v, v^2,
    v^3, r and v r: (base, slope); nan where the hours do not vary."""
    with np.errstate(divide="ignore", invalid="ignore"):
        x_bar, y_bar = a2 / a1, r1 / a1
        sxx = a3 - a1 * x_bar * x_bar
        sxy = r2 - a1 * x_bar * y_bar
        slope = np.where(sxx > 0, sxy / sxx, np.nan)
        return y_bar - slope * x_bar, slope


def provider_capacity(hourly: pl.DataFrame, n_boot: int = N_BOOT, seed: int = SEED) -> pl.DataFrame:
    """One row per (model, provider) of core_requests__hourly."""
    if not hourly.height:
        return pl.DataFrame(schema=CAPACITY_SCHEMA)
    per_day = (
        hourly.with_columns(v=pl.col("requests") - pl.col("client_errors"), r=pl.col("rate_limits"))
        .filter(pl.col("v") > 0)
        .group_by("model", "provider", "date")
        .agg(
            hours=pl.len(),
            billed=pl.col("rate_limits_billed").sum(),
            a1=pl.col("v").sum(),
            a2=(pl.col("v") ** 2).sum(),
            a3=(pl.col("v") ** 3).sum(),
            r1=pl.col("r").sum(),
            r2=(pl.col("v") * pl.col("r")).sum(),
        )
        .sort("model", "provider", "date")
    )
    tail = 100 * (1 - INTERVAL_LEVEL) / 2
    rows = []
    for (model, provider), g in per_day.group_by("model", "provider", maintain_order=True):
        s = {c: g[c].to_numpy().astype(float) for c in ("a1", "a2", "a3", "r1", "r2")}
        hours = int(g["hours"].sum())
        base, slope = (float(x) for x in _line(*(s[c].sum() for c in ("a1", "a2", "a3", "r1", "r2"))))
        lo = hi = float("nan")
        if hours >= MIN_HOURS and np.isfinite(slope) and g.height > 1:
            idx = resample_indices(seed, g.height, n_boot)
            _, boot = _line(*(s[c][idx].sum(axis=1) for c in ("a1", "a2", "a3", "r1", "r2")))
            boot = boot[np.isfinite(boot)]
            if boot.size:
                lo, hi = (float(x) for x in np.percentile(boot, [tail, 100 - tail]))
        fitted = hours >= MIN_HOURS and np.isfinite(slope)
        rows.append(
            {
                "model": model,
                "provider": provider,
                "hours": hours,
                "requests": float(s["a1"].sum()),
                "mean_hourly_requests": float(s["a1"].sum()) / hours,
                "rate_limit_share": float(s["r1"].sum() / s["a1"].sum()),
                "refusals_billed_share": float(g["billed"].sum()) / float(s["r1"].sum()) if s["r1"].sum() else None,
                "base_share": base if fitted else None,
                "slope_per_1k": 1000 * slope if fitted else None,
                "slope_per_1k_ci_low": 1000 * lo if fitted and np.isfinite(lo) else None,
                "slope_per_1k_ci_high": 1000 * hi if fitted and np.isfinite(hi) else None,
                "capacity_limited": bool(
                    fitted and np.isfinite(lo) and lo > 0 and slope * float(s["a1"].sum()) / hours >= MIN_EFFECT
                ),
            }
        )
    return pl.DataFrame(rows, schema=CAPACITY_SCHEMA).sort("model", "provider")
