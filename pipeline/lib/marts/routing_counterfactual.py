"""marts.routing_counterfactual: the contract's counterfactual per period, model, objective and
contract policy (oracle / causal) from the replay's per-day sums (core_routing__daily), with
paired day-bootstrap intervals that carry the variance of the estimated cache hits. Pure: a
frame in, a frame out (pipeline/lib/routing/marts.py reads the partials and writes the mart)."""

from __future__ import annotations

import numpy as np
import polars as pl

from pipeline.lib.stats import N_BOOT, SEED, ratio_of_means_ci

COUNTERFACTUAL_SCHEMA = {
    "period": pl.String,
    "period_type": pl.String,
    "model": pl.String,
    "objective": pl.String,
    "policy": pl.String,
    "baseline_provider": pl.String,
    "requests_routed": pl.Float64,
    "requests_excluded": pl.Float64,
    "requests_imputed": pl.Float64,
    "baseline_value": pl.Float64,
    "routed_value": pl.Float64,
    "change_pct": pl.Float64,
    "ci_low": pl.Float64,
    "ci_high": pl.Float64,
    "n_days": pl.Int64,
    "tokens_per_s_baseline": pl.Float64,
    "tokens_per_s_routed": pl.Float64,
    "tokens_per_s_change_pct": pl.Float64,
    "tokens_per_s_change_pct_ci_low": pl.Float64,
    "tokens_per_s_change_pct_ci_high": pl.Float64,
}


SUMMED = (
    "routed",
    "excluded",
    "imputed",
    "base_sum",
    "routed_sum",
    "imputed_var_routed",
    "imputed_cov",
    "imputed_var_base",
    "output_tokens",
    "routed_decode_s",
    "base_decode_s",
    "imputed_var_base_s",
    "imputed_cov_s",
    "imputed_var_routed_s",
)


def routing_counterfactual(daily: pl.DataFrame, n_boot: int = N_BOOT, seed: int = SEED) -> pl.DataFrame:
    """marts.routing_counterfactual from the per-day sums: per period, model, objective and
    contract policy, weighted baseline and routed values, change in percent and a paired
    bootstrap interval that resamples days (the same days on both sides)."""
    rows = []
    # days in date order: the day sums arrive in whatever order the batches' aggregations
    # produced them, and the same seed must resample the same days on every run
    daily = daily.sort("date", maintain_order=True)
    # the columns as arrays once, each group as the positions of its rows: per-group polars
    # calls cost a second a run over ~1,500 groups
    arrays = {c: daily[c].fill_null(0).cast(pl.Float64).to_numpy() for c in SUMMED if c in daily.columns}
    baseline = daily["baseline_provider"].to_list() if daily.height else []
    for period_col, period_type in (("quarter", "quarter"), ("month", "month")):
        if not daily.height:
            break
        keys = [period_col, "model", "objective", "policy"]
        groups = daily.with_row_index("_row").group_by(keys, maintain_order=True).agg(pl.col("_row"))
        for period, model, objective, policy, positions in groups.iter_rows():
            g = {c: a[positions] for c, a in arrays.items()}
            routed, excluded = float(g["routed"].sum()), float(g["excluded"].sum())
            imputed = float(g["imputed"].sum())
            base_sum, routed_sum = float(g["base_sum"].sum()), float(g["routed_sum"].sum())
            if objective == "cost":
                baseline_value, routed_value = base_sum, routed_sum
            else:  # weighted means over the same requests
                baseline_value = base_sum / routed if routed else float("nan")
                routed_value = routed_sum / routed if routed else float("nan")
            # the same resampled days on both sides: a ratio of day sums
            extra = imputation_var(g, ("imputed_var_routed", "imputed_cov", "imputed_var_base"), routed_sum, base_sum)
            ratio, lo, hi = ratio_of_means_ci(g["routed_sum"], g["base_sum"], n_boot=n_boot, seed=seed, extra_var=extra)
            rows.append(
                {
                    "period": period,
                    "period_type": period_type,
                    "model": model,
                    "objective": objective,
                    "policy": policy,
                    "baseline_provider": next((baseline[i] for i in positions if baseline[i] is not None), None),
                    "requests_routed": routed,
                    "requests_excluded": excluded,
                    "requests_imputed": imputed,
                    "baseline_value": baseline_value,
                    "routed_value": routed_value,
                    "change_pct": 100 * (ratio - 1),
                    "ci_low": 100 * (lo - 1),
                    "ci_high": 100 * (hi - 1),
                    "n_days": len(positions),
                    **_tokens_per_s(g, objective, n_boot, seed),
                }
            )
    out = pl.DataFrame(rows, schema=COUNTERFACTUAL_SCHEMA).with_columns(
        pl.when(pl.col(c).is_finite()).then(pl.col(c)).otherwise(None).alias(c)
        for c in (
            "baseline_value",
            "routed_value",
            "change_pct",
            "ci_low",
            "ci_high",
            *(k for k in COUNTERFACTUAL_SCHEMA if k.startswith("tokens_per_s")),
        )
    )
    return out.sort(
        ["period_type", "period", "model", "objective", "policy"], descending=[True, False, False, False, False]
    )


def _total(values) -> float:
    """The sum of a column (a polars Series or an array), nulls as 0."""
    return float(np.nansum(np.asarray(values, dtype=float)))


def imputation_var(g, columns: tuple[str, str, str], num: float, den: float) -> float:
    """The variance the estimated cache hits add to the ratio num / den of a period's day sums
    (sql/core/core_routing__daily.sql, imputed_var_*): by the delta method,
    (var_num - 2 rho cov + rho^2 var_den) / den^2 with rho = num / den. 0 without a denominator.
    `g`: the period's days, a frame or a mapping of column to values."""
    if not den:
        return 0.0
    var_num, cov, var_den = (_total(g[c]) for c in columns)
    rho = num / den
    return max((var_num - 2 * rho * cov + rho * rho * var_den) / (den * den), 0.0)


def _tokens_per_s(g: dict, objective: str, n_boot: int, seed: int) -> dict:
    """Throughput as the traffic's total: weighted output tokens over the decode seconds they
    take (tokens / each group's decode tok/s), at the baseline and routed, and its change with
    the same paired day-bootstrap (the ratio of totals is base seconds over routed seconds).
    Null for cost."""
    none = dict.fromkeys(k for k in COUNTERFACTUAL_SCHEMA if k.startswith("tokens_per_s"))
    if objective != "throughput":
        return none
    tokens, routed_s, base_s = (_total(g[c]) for c in ("output_tokens", "routed_decode_s", "base_decode_s"))
    if not (routed_s > 0 and base_s > 0):
        return none
    # the ratio is base seconds over routed seconds: numerator and denominator swap sides
    extra = imputation_var(g, ("imputed_var_base_s", "imputed_cov_s", "imputed_var_routed_s"), base_s, routed_s)
    ratio, lo, hi = ratio_of_means_ci(
        g["base_decode_s"], g["routed_decode_s"], n_boot=n_boot, seed=seed, extra_var=extra
    )
    return {
        "tokens_per_s_baseline": tokens / base_s,
        "tokens_per_s_routed": tokens / routed_s,
        "tokens_per_s_change_pct": 100 * (ratio - 1),
        "tokens_per_s_change_pct_ci_low": 100 * (lo - 1),
        "tokens_per_s_change_pct_ci_high": 100 * (hi - 1),
    }
