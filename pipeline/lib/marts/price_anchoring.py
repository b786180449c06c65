"""marts.price_anchoring: per period and performance attribute, are prices more anchored than
performance? The mean over models of the attribute's cv across providers over the mean of the
blended price's cv, with an interval resampling models (marts.provider_dispersion's rows in)."""

from __future__ import annotations

import polars as pl

from pipeline.lib.demand import finite_or_null
from pipeline.lib.stats import N_BOOT, SEED, ratio_of_means_ci

PERFORMANCE_ATTRIBUTES = ("decode_tps_p50", "ttft_p50_ms")
PRICE_ATTRIBUTE = "blended_price"


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
