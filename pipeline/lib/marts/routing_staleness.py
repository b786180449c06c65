"""marts.routing_staleness: how much staleness cost (issue 16). Per period, model (and all models
together) and objective, a provider order frozen at the quarter's start (the order a gateway
configured once) against the same rule re-decided every bucket, so after every price, speed or
availability change, on the same requests:

    cost:       frozen_cheapest (list-price order of the quarter's start) vs cheapest_list_price
    throughput: frozen_fastest (speed order of the quarter's first day) vs fastest

Pure: a frame in (core_routing__policy_daily's rows), a frame out.

staleness_pct = 100 x (frozen / re-deciding - 1) of the objective's value: for cost, how much more
the frozen order paid (positive: staleness cost money); for throughput, how much slower it decoded
(negative: staleness cost speed). Its 95 % interval resamples days (the same days on both sides:
both policies serve the same requests each day)."""

from __future__ import annotations

import numpy as np
import polars as pl

from pipeline.lib.marts.routing_totals import ALL_MODELS
from pipeline.lib.stats import INTERVAL_LEVEL, N_BOOT, SEED, resample_indices

# objective -> (the re-deciding policy, the frozen policy, the value's sum, its weight)
PAIRS = {
    "cost": ("cheapest_list_price", "frozen_cheapest", "cost_sum", None),
    "throughput": ("fastest", "frozen_fastest", "tps_sum", "tps_weight"),
}

SCHEMA = {
    "period": pl.String,
    "period_type": pl.String,
    "model": pl.String,
    "objective": pl.String,
    "redeciding_policy": pl.String,
    "frozen_policy": pl.String,
    "requests_routed": pl.Float64,
    "n_days": pl.Int64,
    "redeciding_value": pl.Float64,
    "frozen_value": pl.Float64,
    "redeciding_change_pct": pl.Float64,
    "frozen_change_pct": pl.Float64,
    "staleness_pct": pl.Float64,
    "staleness_ci_low": pl.Float64,
    "staleness_ci_high": pl.Float64,
}


def _value(num: np.ndarray, den: np.ndarray | None) -> np.ndarray:
    """A total (den None) or a weighted mean, along the last axis."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return num.sum(axis=-1) if den is None else num.sum(axis=-1) / den.sum(axis=-1)


def _staleness(g: pl.DataFrame, weighted: bool, n_boot: int, seed: int) -> tuple[float, float, float]:
    """100 (frozen / re-deciding - 1) and its percentile interval over resampled days."""
    cols = ("f_num", "f_den", "r_num", "r_den") if weighted else ("f_num", "r_num")
    a = {c: g[c].to_numpy().astype(float) for c in cols}
    with np.errstate(divide="ignore", invalid="ignore"):  # 0 / 0 (nothing billed): no figure, null below
        point = _value(a["f_num"], a.get("f_den")) / _value(a["r_num"], a.get("r_den")) - 1
    idx = resample_indices(seed, g.height, n_boot)
    with np.errstate(divide="ignore", invalid="ignore"):
        boot = _value(a["f_num"][idx], a["f_den"][idx] if weighted else None) / _value(
            a["r_num"][idx], a["r_den"][idx] if weighted else None
        )
    boot = boot[np.isfinite(boot)] - 1
    if not boot.size:
        return 100 * point, float("nan"), float("nan")
    tail = 100 * (1 - INTERVAL_LEVEL) / 2
    lo, hi = np.percentile(boot, [tail, 100 - tail])
    return 100 * point, 100 * float(lo), 100 * float(hi)


def _day_frame(per_day: pl.DataFrame, objective: str) -> pl.DataFrame:
    """One row per (day, model): the re-deciding, frozen and official sums of the objective."""
    redeciding, frozen, num, den = PAIRS[objective]
    side = {}
    for tag, policy in (("r", redeciding), ("f", frozen), ("o", "official")):
        cols = [pl.col(num).alias(f"{tag}_num")] + ([pl.col(den).alias(f"{tag}_den")] if den else [])
        side[tag] = per_day.filter(pl.col("policy") == policy).select(
            "date", "month", "quarter", "model", *cols, *([pl.col("routed")] if tag == "r" else [])
        )
    keys = ["date", "month", "quarter", "model"]
    return side["r"].join(side["f"], on=keys).join(side["o"], on=keys).sort("date")


def routing_staleness(policy_daily: pl.DataFrame, n_boot: int = N_BOOT, seed: int = SEED) -> pl.DataFrame:
    """One row per period, model (and ALL_MODELS) and objective whose policies were both replayed."""
    needed = {p for pair in PAIRS.values() for p in pair[:2]} | {"official"}
    if not policy_daily.height or not needed <= set(policy_daily["policy"].unique()):
        return pl.DataFrame(schema=SCHEMA)
    sums = ["routed", "cost_sum", "tps_sum", "tps_weight"]
    per_model = policy_daily.group_by("date", "month", "quarter", "model", "policy").agg(pl.col(sums).sum())
    everything = per_model.group_by("date", "month", "quarter", "policy").agg(pl.col(sums).sum())
    per_day = pl.concat([per_model, everything.with_columns(model=pl.lit(ALL_MODELS)).select(per_model.columns)])
    rows = []
    for objective, (redeciding, frozen, _num, den) in PAIRS.items():
        days = _day_frame(per_day, objective)
        for period_col, period_type in (("quarter", "quarter"), ("month", "month")):
            for (period, model), g in days.group_by([period_col, "model"], maintain_order=True):
                g = g.filter(pl.col("routed") > 0)
                if not g.height:  # nothing routed (every request excluded): nothing to compare
                    continue
                value = {
                    t: float(_value(g[f"{t}_num"].to_numpy(), g[f"{t}_den"].to_numpy() if den else None)) for t in "rfo"
                }
                stale, lo, hi = _staleness(g, den is not None, n_boot, seed)
                rows.append(
                    {
                        "period": period,
                        "period_type": period_type,
                        "model": model,
                        "objective": objective,
                        "redeciding_policy": redeciding,
                        "frozen_policy": frozen,
                        "requests_routed": float(g["routed"].sum()),
                        "n_days": g.height,
                        "redeciding_value": value["r"],
                        "frozen_value": value["f"],
                        "redeciding_change_pct": 100 * (value["r"] / value["o"] - 1) if value["o"] else None,
                        "frozen_change_pct": 100 * (value["f"] / value["o"] - 1) if value["o"] else None,
                        "staleness_pct": stale,
                        "staleness_ci_low": lo,
                        "staleness_ci_high": hi,
                    }
                )
    out = pl.DataFrame(rows, schema=SCHEMA) if rows else pl.DataFrame(schema=SCHEMA)
    # no inf or nan is published
    floats = [c for c, t in SCHEMA.items() if t == pl.Float64]
    out = out.with_columns(pl.when(pl.col(c).is_finite()).then(pl.col(c)).alias(c) for c in floats)
    return out.sort("period_type", "period", "model", "objective", descending=[True, False, False, False])
