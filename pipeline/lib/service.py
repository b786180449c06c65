"""Service-object marts (issue 4): what each provider's copy of a model costs and how it
behaves, how much providers differ, how they fail, and which of them are dominated."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from pipeline.lib.demand import build_core_days, finite_or_null
from pipeline.lib.duck import staged_glob
from pipeline.lib.parquet_io import (
    frame_to_parquet,
    sql_to_parquet,
)
from pipeline.lib.stats import N_BOOT, SEED, ratio_of_means_ci
from pipeline.paths import core_glob, marts_file

# A provider "charges the official price" within half a percent of it: CNY list prices converted
# at a daily fx rate never equal the USD figure to the cent.
PRICE_TOLERANCE = 0.005
PERFORMANCE_ATTRIBUTES = ("decode_tps_p50", "ttft_p50_ms")
PRICE_ATTRIBUTE = "blended_price"
# Pareto axes: (column, True when more is better)
PARETO_AXES = (
    ("blended_usd_per_mtok", False),
    ("decode_tps_p50", True),
    ("probe_success_rate", True),
    ("schema_accuracy", True),
)


def build_requests_hourly(root: Path, days: list[str] | None = None) -> int:
    """core/core_requests__hourly/ for `days`: weighted requests, errors by type and class, tokens."""
    return build_core_days(root, "core_requests__hourly", days)


def build_service_timeseries(root: Path) -> pl.DataFrame:
    params = {"probes": staged_glob(root, "latency_probes"), "hourly": core_glob(root, "core_requests__hourly")}
    return sql_to_parquet("marts/service_timeseries", params, marts_file(root, "service_timeseries"))


def build_service_objects(root: Path) -> pl.DataFrame:
    params = {
        "probes": staged_glob(root, "latency_probes"),
        "prices": staged_glob(root, "prices"),
        "endpoints": staged_glob(root, "endpoints"),
        "models": staged_glob(root, "models"),
        "hourly": core_glob(root, "core_requests__hourly"),
    }
    return sql_to_parquet("marts/service_objects", params, marts_file(root, "service_objects"))


def build_service_diurnal(root: Path) -> pl.DataFrame:
    return sql_to_parquet(
        "marts/service_diurnal", {"probes": staged_glob(root, "latency_probes")}, marts_file(root, "service_diurnal")
    )


def build_error_matrix(root: Path) -> pl.DataFrame:
    params = {"probes": staged_glob(root, "latency_probes"), "hourly": core_glob(root, "core_requests__hourly")}
    return sql_to_parquet("marts/error_matrix", params, marts_file(root, "error_matrix"))


def price_anchoring(dispersion: pl.DataFrame, n_boot: int = N_BOOT, seed: int = SEED) -> pl.DataFrame:
    """Per period and performance attribute: are prices more anchored than performance?
    ratio = mean over models of the performance attribute's cv / mean of the blended price's cv,
    over models with both (at least two providers); above 1, performance varies more than price.
    The interval resamples models (the same models on both sides)."""
    cv = dispersion.filter(pl.col("cv").is_not_null()).select(
        "period", "period_type", "model", "attribute", "cv", "share_at_official"
    )
    price = cv.filter(pl.col("attribute") == PRICE_ATTRIBUTE).select(
        "period", "period_type", "model", pl.col("cv").alias("price_cv"), "share_at_official"
    )
    rows = []
    for attribute in PERFORMANCE_ATTRIBUTES:
        perf = cv.filter(pl.col("attribute") == attribute).select(
            "period", "model", pl.col("cv").alias("performance_cv")
        )
        paired = price.join(perf, on=["period", "model"], how="inner")
        for (period, period_type), part in paired.group_by(["period", "period_type"], maintain_order=True):
            ratio, lo, hi = ratio_of_means_ci(
                part["performance_cv"].to_numpy(), part["price_cv"].to_numpy(), n_boot=n_boot, seed=seed
            )
            rows.append(
                {
                    "period": period,
                    "period_type": period_type,
                    "performance_attribute": attribute,
                    "n_models": part.height,
                    "price_cv_mean": part["price_cv"].mean(),
                    "performance_cv_mean": part["performance_cv"].mean(),
                    "share_at_official_price_mean": part["share_at_official"].mean(),
                    "dispersion_ratio": ratio,
                    "ratio_ci_low": lo,
                    "ratio_ci_high": hi,
                }
            )
    schema = {
        "period": pl.String,
        "period_type": pl.String,
        "performance_attribute": pl.String,
        "n_models": pl.Int64,
        "price_cv_mean": pl.Float64,
        "performance_cv_mean": pl.Float64,
        "share_at_official_price_mean": pl.Float64,
        "dispersion_ratio": pl.Float64,
        "ratio_ci_low": pl.Float64,
        "ratio_ci_high": pl.Float64,
    }
    frame = pl.DataFrame(rows, schema=schema).sort(
        ["period_type", "period", "performance_attribute"], descending=[True, False, False]
    )
    return finite_or_null(frame)  # marts publish no inf or nan (a zero price cv gives no ratio: null)


def build_provider_dispersion(root: Path, n_boot: int = N_BOOT, seed: int = SEED) -> tuple[pl.DataFrame, pl.DataFrame]:
    """marts/provider_dispersion and marts/price_anchoring, from marts/service_objects."""
    params = {"objects": str(marts_file(root, "service_objects")), "tolerance": PRICE_TOLERANCE}
    dispersion = sql_to_parquet("marts/provider_dispersion", params, marts_file(root, "provider_dispersion"))
    anchoring = price_anchoring(dispersion, n_boot=n_boot, seed=seed)
    frame_to_parquet(anchoring, marts_file(root, "price_anchoring"))
    return dispersion, anchoring


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


def build_service_pareto(root: Path) -> pl.DataFrame:
    """marts/service_pareto: service objects of models with two or more providers, with the
    tool_calls suite's schema accuracy from marts.vendor_verification."""
    objects = pl.read_parquet(marts_file(root, "service_objects")).filter(pl.col("listed_days") > 0)
    verification = marts_file(root, "vendor_verification")
    if verification.exists():
        acc = (
            pl.read_parquet(verification)
            .filter(pl.col("suite") == "tool_calls")
            .select("period", "provider", "model", "schema_accuracy")
        )
        objects = objects.join(acc, on=["period", "provider", "model"], how="left")
    else:
        objects = objects.with_columns(schema_accuracy=pl.lit(None, pl.Float64))
    multi = objects.group_by(["period", "model"]).agg(pl.len().alias("n")).filter(pl.col("n") >= 2).drop("n")
    result = pareto(objects.join(multi, on=["period", "model"], how="semi"))
    frame_to_parquet(result, marts_file(root, "service_pareto"))
    return result
