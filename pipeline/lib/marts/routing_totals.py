"""marts.routing_totals: every model's requests routed together, per period, objective and
contract policy, with the same paired day-bootstrap interval as per model. Pure: a frame in
(core_routing__daily's rows), a frame out."""

from __future__ import annotations

import polars as pl

from pipeline.lib.marts.routing_counterfactual import COUNTERFACTUAL_SCHEMA, routing_counterfactual
from pipeline.lib.stats import N_BOOT, SEED

ALL_MODELS = "(all models)"


def routing_totals(daily: pl.DataFrame, n_boot: int = N_BOOT, seed: int = SEED) -> pl.DataFrame:
    """marts.routing_totals: the counterfactual of every model's requests together, per period,
    objective and contract policy, with the same paired day-bootstrap interval. A day's sums are
    added over models first, so the bootstrap resamples days, not (day, model) rows; the cache-hit
    variance terms add too (different requests). Cost is the total over models; throughput the
    requests-weighted mean, as per model. `models` counts the models with routed requests."""
    if not daily.height:
        schema = {**COUNTERFACTUAL_SCHEMA, "models": pl.Int64, "requests_imputed_share": pl.Float64}
        return pl.DataFrame(schema=schema).drop("baseline_provider", "model")
    keys = ["date", "month", "quarter", "objective", "policy"]
    sums = [c for c, t in daily.schema.items() if t == pl.Float64]
    per_day = (
        daily.group_by(keys, maintain_order=True)
        .agg(pl.col(sums).sum(), baseline_provider=pl.lit(None, pl.String))
        .with_columns(model=pl.lit(ALL_MODELS))
        .select(daily.columns)
    )
    out = routing_counterfactual(per_day, n_boot, seed).drop("baseline_provider", "model")
    models = pl.concat(
        [
            daily.filter(pl.col("routed") > 0)
            .group_by(col, "objective", "policy")
            .agg(models=pl.col("model").n_unique())
            .rename({col: "period"})
            for col in ("quarter", "month")
        ]
    )
    return out.join(models, on=["period", "objective", "policy"], how="left").with_columns(
        pl.col("models").fill_null(0).cast(pl.Int64),
        requests_imputed_share=pl.when(pl.col("requests_routed") > 0).then(
            pl.col("requests_imputed") / pl.col("requests_routed")
        ),
    )
