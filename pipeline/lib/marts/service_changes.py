"""marts.service_changes: the dated changelog of every service object (provider x model). Pure:
frames in (the exact events of sql/marts/service_changes.sql, the daily series of
marts.service_metric_daily, the staged models), a frame out.

The exact events (prices, endpoint attributes, listing) come from the listed values, on their
day. The noisy series (latency, throughput, success and error rates, tool-call validity) go
through the change-point detector (pipeline/lib/changepoints.py), all series in one call (their
cost tables are computed together): a loop over series, never over requests."""

from __future__ import annotations

import polars as pl

from pipeline.lib.changepoints import PENALTY, RULES, detect_many

DETECTOR = "pelt_l1"  # the name the detected rows carry (the method of changepoints.detect)

SCHEMA = {
    "provider": pl.String,
    "model": pl.String,
    "metric": pl.String,
    "changed_at": pl.Datetime("us"),
    "official": pl.Boolean,
    "before_value": pl.Float64,
    "after_value": pl.Float64,
    "before_text": pl.String,
    "after_text": pl.String,
    "change_pct": pl.Float64,
    "change_ci_low": pl.Float64,
    "change_ci_high": pl.Float64,
    "p_value": pl.Float64,
    "detector": pl.String,
    "samples_before": pl.Int64,
    "samples_after": pl.Int64,
    "days_before": pl.Int32,
    "days_after": pl.Int32,
}


def detected_changes(daily: pl.DataFrame, method: str = DETECTOR, penalty: float = PENALTY) -> pl.DataFrame:
    """The change points of every (provider, model, metric) series of the daily frame (method and
    penalty as changepoints.detect; the defaults are the published ones)."""
    daily = daily.filter(pl.col("metric").is_in(list(RULES))).sort("provider", "model", "metric", "date")
    keys, series = [], []
    for (provider, model, metric), part in daily.group_by(["provider", "model", "metric"], maintain_order=True):
        keys.append({"provider": provider, "model": model, "metric": metric})
        series.append((part["date"].to_list(), part["value"].to_numpy(), part["samples"].to_numpy(), RULES[metric]))
    found = detect_many(series, method=method, penalty=penalty)
    rows = [{**key, **c.__dict__} for key, changes in zip(keys, found, strict=True) for c in changes]
    columns = [c for c in SCHEMA if c not in ("official", "before_text", "after_text", "detector")]
    if not rows:
        return pl.DataFrame(schema={c: SCHEMA[c] for c in columns})
    return (
        pl.DataFrame(rows)
        .with_columns(pl.col("changed_at").cast(pl.Datetime("us")))
        .select(columns)
        .cast({c: SCHEMA[c] for c in columns})
    )


def service_changes(events: pl.DataFrame, daily: pl.DataFrame, models: pl.DataFrame) -> pl.DataFrame:
    """The exact events and the detected change points in one changelog, each row marked
    `official` when its provider is the model's official API."""
    detected = detected_changes(daily).with_columns(
        before_text=pl.lit(None, pl.String), after_text=pl.lit(None, pl.String), detector=pl.lit(DETECTOR)
    )
    exact = events.with_columns(days_before=pl.lit(None, pl.Int32), days_after=pl.lit(None, pl.Int32))
    columns = [c for c in SCHEMA if c != "official"]
    both = pl.concat([exact.select(columns).cast({c: SCHEMA[c] for c in columns}), detected.select(columns)])
    official = models.select("model", official_provider="official_provider").unique("model")
    return (
        both.join(official, on="model", how="left")
        .with_columns(official=pl.col("provider").eq(pl.col("official_provider")).fill_null(False))
        .select(list(SCHEMA))
        .sort("changed_at", "provider", "model", "metric")
    )
