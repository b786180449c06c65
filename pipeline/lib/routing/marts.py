"""The routing marts from the per-day partials: marts.routing_counterfactual with its paired
day-bootstrap intervals, marts.routing_policies, and the entry points that run it all."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from pathlib import Path

import polars as pl

from pipeline.lib.duck import connect
from pipeline.lib.parquet_io import frame_to_parquet
from pipeline.lib.routing.layout import day_dir, folder_days, partial_dir, staged_days
from pipeline.lib.routing.replay import ReplayResult, _drop_pass, _passes, _replay_pass, _setup, has_table, replay_days
from pipeline.lib.routing.settings import CONTRACT_POLICIES, RoutingParams, Scenario
from pipeline.lib.stats import ratio_of_means_ci
from pipeline.paths import marts_file
from pipeline.sql import load_sql


def read_partials(root: Path, name: str) -> pl.DataFrame:
    """Every day's rows of a partial table (`daily`, `policy_daily`, `groups`), in date order,
    with their `date`; empty (no columns) when no day has been replayed."""
    folder = partial_dir(root, name)
    frames = [
        pl.read_parquet(f).with_columns(pl.lit(d).alias("date"))
        for d in folder_days(folder)
        for f in sorted(day_dir(folder, d).glob("*.parquet"))
    ]
    frames = [f for f in frames if f.height]
    if not frames:
        return pl.DataFrame()
    df = pl.concat(frames, how="vertical_relaxed")
    return df.select("date", *[c for c in df.columns if c != "date"])


DAILY_SCHEMA = {
    "date": pl.Date,
    "month": pl.String,
    "quarter": pl.String,
    "model": pl.String,
    "objective": pl.String,
    "policy": pl.String,
    "baseline_provider": pl.String,
    "routed": pl.Float64,
    "excluded": pl.Float64,
    "imputed": pl.Float64,
    "routed_sum": pl.Float64,
    "base_sum": pl.Float64,
    "output_tokens": pl.Float64,
    "routed_decode_s": pl.Float64,
    "base_decode_s": pl.Float64,
    "imputed_var_routed": pl.Float64,
    "imputed_cov": pl.Float64,
    "imputed_var_base": pl.Float64,
    "imputed_var_routed_s": pl.Float64,
    "imputed_cov_s": pl.Float64,
    "imputed_var_base_s": pl.Float64,
}


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


def counterfactual(daily: pl.DataFrame, params: RoutingParams = RoutingParams()) -> pl.DataFrame:
    """marts.routing_counterfactual from the per-day sums: per period, model, objective and
    contract policy, weighted baseline and routed values, change in percent and a paired
    bootstrap interval that resamples days (the same days on both sides)."""
    rows = []
    # days in date order: the day sums arrive in whatever order the batches' aggregations
    # produced them, and the same seed must resample the same days on every run
    daily = daily.sort("date", maintain_order=True)
    for period_col, period_type in (("quarter", "quarter"), ("month", "month")):
        if not daily.height:
            break
        for (period, model, objective, policy), g in daily.group_by(
            [period_col, "model", "objective", "policy"], maintain_order=True
        ):
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
            ratio, lo, hi = ratio_of_means_ci(
                g["routed_sum"].to_numpy(),
                g["base_sum"].to_numpy(),
                n_boot=params.n_boot,
                seed=params.seed,
                extra_var=extra,
            )
            rows.append(
                {
                    "period": period,
                    "period_type": period_type,
                    "model": model,
                    "objective": objective,
                    "policy": policy,
                    "baseline_provider": g["baseline_provider"].drop_nulls().first(),
                    "requests_routed": routed,
                    "requests_excluded": excluded,
                    "requests_imputed": imputed,
                    "baseline_value": baseline_value,
                    "routed_value": routed_value,
                    "change_pct": 100 * (ratio - 1),
                    "ci_low": 100 * (lo - 1),
                    "ci_high": 100 * (hi - 1),
                    "n_days": g.height,
                    **_tokens_per_s(g, objective, params),
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


ALL_MODELS = "(all models)"
TOTALS_SUMS = [k for k, v in DAILY_SCHEMA.items() if v == pl.Float64]


def totals(daily: pl.DataFrame, params: RoutingParams = RoutingParams()) -> pl.DataFrame:
    """marts.routing_totals: the counterfactual of every model's requests together, per period,
    objective and contract policy, with the same paired day-bootstrap interval. A day's sums are
    added over models first, so the bootstrap resamples days, not (day, model) rows; the cache-hit
    variance terms add too (different requests). Cost is the total over models; throughput the
    requests-weighted mean, as per model. `models` counts the models with routed requests."""
    if not daily.height:
        return pl.DataFrame(schema={**COUNTERFACTUAL_SCHEMA, "models": pl.Int64}).drop("baseline_provider")
    keys = ["date", "month", "quarter", "objective", "policy"]
    per_day = (
        daily.group_by(keys, maintain_order=True)
        .agg(pl.col(TOTALS_SUMS).sum(), baseline_provider=pl.lit(None, pl.String))
        .with_columns(model=pl.lit(ALL_MODELS))
        .select(list(DAILY_SCHEMA))
    )
    out = counterfactual(per_day, params).drop("baseline_provider", "model")
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
        pl.col("models").fill_null(0).cast(pl.Int64)
    )


def build_totals(root: Path, params: RoutingParams = RoutingParams()) -> pl.DataFrame:
    """marts.routing_totals from every day's core_routing__daily."""
    return totals(read_daily(root), params)


def imputation_var(g: pl.DataFrame, columns: tuple[str, str, str], num: float, den: float) -> float:
    """The variance the estimated cache hits add to the ratio num / den of a period's day sums
    (sql/core/core_routing__daily.sql, imputed_var_*): by the delta method,
    (var_num - 2 rho cov + rho^2 var_den) / den^2 with rho = num / den. 0 without a denominator."""
    if not den:
        return 0.0
    var_num, cov, var_den = (float(g[c].fill_null(0).sum()) for c in columns)
    rho = num / den
    return max((var_num - 2 * rho * cov + rho * rho * var_den) / (den * den), 0.0)


def _tokens_per_s(g: pl.DataFrame, objective: str, params: RoutingParams) -> dict:
    """Throughput as the traffic's total: weighted output tokens over the decode seconds they
    take (tokens / each group's decode tok/s), at the baseline and routed, and its change with
    the same paired day-bootstrap (the ratio of totals is base seconds over routed seconds).
    Null for cost."""
    none = dict.fromkeys(k for k in COUNTERFACTUAL_SCHEMA if k.startswith("tokens_per_s"))
    if objective != "throughput":
        return none
    tokens, routed_s, base_s = (
        float(g[c].fill_null(0).sum()) for c in ("output_tokens", "routed_decode_s", "base_decode_s")
    )
    if not (routed_s > 0 and base_s > 0):
        return none
    # the ratio is base seconds over routed seconds: numerator and denominator swap sides
    extra = imputation_var(g, ("imputed_var_base_s", "imputed_cov_s", "imputed_var_routed_s"), base_s, routed_s)
    ratio, lo, hi = ratio_of_means_ci(
        g["base_decode_s"].fill_null(0).to_numpy(),
        g["routed_decode_s"].fill_null(0).to_numpy(),
        n_boot=params.n_boot,
        seed=params.seed,
        extra_var=extra,
    )
    return {
        "tokens_per_s_baseline": tokens / base_s,
        "tokens_per_s_routed": tokens / routed_s,
        "tokens_per_s_change_pct": 100 * (ratio - 1),
        "tokens_per_s_change_pct_ci_low": 100 * (lo - 1),
        "tokens_per_s_change_pct_ci_high": 100 * (hi - 1),
    }


POLICY_DAILY_SCHEMA = {
    "date": pl.Date,
    "month": pl.String,
    "quarter": pl.String,
    "model": pl.String,
    "policy": pl.String,
    "ttft_ms": pl.Float64,
    "routed": pl.Float64,
    "excluded": pl.Float64,
    "cost_sum": pl.Float64,
    "tps_sum": pl.Float64,
    "tps_weight": pl.Float64,
    "success_sum": pl.Float64,
}


def policy_summary(policy_daily: pl.DataFrame, scenario: str) -> pl.DataFrame:
    """marts.routing_policies from the per-day pieces (sql/marts/routing_policies.sql)."""
    con = connect()
    try:
        if not policy_daily.height:
            policy_daily = pl.DataFrame(schema=POLICY_DAILY_SCHEMA)
        # single-threaded over the pieces in a fixed order: the same sums, bit for bit, however
        # the days were replayed
        con.execute("set threads = 1")
        con.register("policy_daily", policy_daily.sort(["date", "model", "policy", "ttft_ms"], nulls_last=True))
        return con.execute(load_sql("marts/routing_policies"), {"scenario": scenario}).pl()
    finally:
        con.close()


def read_daily(root: Path) -> pl.DataFrame:
    """Every replayed day's contract sums (core/core_routing__daily), in date order."""
    daily = read_partials(root, "daily")
    return daily.select(list(DAILY_SCHEMA)) if daily.height else pl.DataFrame(schema=DAILY_SCHEMA)


def build_policies(root: Path, scenario: str = "observed") -> pl.DataFrame:
    """marts/routing_policies.parquet from every day's core_routing__policy_daily."""
    policies = policy_summary(read_partials(root, "policy_daily"), scenario)
    frame_to_parquet(policies, marts_file(root, "routing_policies"))
    return policies


def build_replay(
    root: Path,
    scenario: Scenario = Scenario(),
    params: RoutingParams = RoutingParams(),
    out_root: Path | None = None,
    progress: Callable[[str], None] | None = None,
    days: Iterable[dt.date] | None = None,
    write_decisions: bool = False,
) -> tuple[ReplayResult, pl.DataFrame]:
    """The replay behind the routing marts (the asset routing_decisions): replay_days, then
    marts/routing_policies from all days' partials. Returns the replay and the policy summary."""
    out_root = Path(out_root or root)
    run = replay_days(root, days, scenario, params, out_root, write_decisions, progress)
    return run, build_policies(out_root, scenario.name)


def build_counterfactual(
    root: Path,
    objectives: tuple[str, ...] = ("cost", "throughput"),
    params: RoutingParams = RoutingParams(),
    policies: tuple[str, ...] | None = None,
) -> pl.DataFrame:
    """The contract's counterfactual rows for `objectives` (and contract `policies`, oracle /
    causal; default both), from every day's core_routing__daily."""
    daily = read_daily(root).filter(pl.col("objective").is_in(list(objectives)))
    if policies is not None:
        daily = daily.filter(pl.col("policy").is_in(list(policies)))
    return counterfactual(daily, params)


def build_routing(
    root: Path,
    scenario: Scenario = Scenario(),
    params: RoutingParams = RoutingParams(),
    out_root: Path | None = None,
    progress: Callable[[str], None] | None = None,
    days: Iterable[dt.date] | None = None,
    write_decisions: bool = False,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Everything at once (the CLI, the benchmark and the tests): replay `days` (default all),
    then both marts from every day's partials: marts.routing_policies and
    marts.routing_counterfactual."""
    out_root = Path(out_root or root)
    _, policies = build_replay(root, scenario, params, out_root, progress, days, write_decisions)
    cf = build_counterfactual(out_root, params=params)
    frame_to_parquet(cf, marts_file(out_root, "routing_counterfactual"))
    return cf, policies


def simulate(
    root: Path,
    model: str,
    policy: str,
    scenario: Scenario = Scenario(),
    params: RoutingParams = RoutingParams(),
    out_dir: Path | None = None,
    progress: Callable[[str], None] | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """`servicelens simulate`: replay one model (its requests and probes only) under a scenario and
    summarise it: the rows of marts.routing_policies for that model, and the contract
    counterfactual of `policy` when it implements one (cost_oracle, cheapest, throughput_oracle,
    fastest; no bootstrap runs for the others). With out_dir, everything a replay writes goes
    there, the per-request decisions and both marts included; without, nothing is written (the
    day sums stay in memory). Returns (counterfactual, policies)."""
    params = RoutingParams(**{**params.__dict__, "models": (model,)})
    contract = {v: k for k, v in CONTRACT_POLICIES.items()}
    if out_dir is not None:
        out_dir = Path(out_dir)
        replay_days(root, None, scenario, params, out_dir, write_decisions=True, progress=progress)
        policies = build_policies(out_dir, scenario.name)
        daily = read_daily(out_dir)
    else:
        con = connect(memory_limit=params.memory_limit)
        try:
            models = _setup(con, Path(root), scenario, params)
            days, pieces = staged_days(Path(root)), []
            for batch in _passes(Path(root), days, params.chunk_rows):
                if progress:
                    progress(f"{batch[0]}..{batch[-1]} ({len(batch)} days)")
                _replay_pass(con, Path(root), batch, scenario, params, models)
                if has_table(con, "groups"):
                    pieces.append(
                        (
                            con.execute(load_sql("core/core_routing__daily")).pl(),
                            con.execute(load_sql("core/core_routing__policy_daily")).pl(),
                        )
                    )
                _drop_pass(con)
        finally:
            con.close()
        daily = (
            pl.concat([d for d, _ in pieces], how="vertical_relaxed") if pieces else pl.DataFrame(schema=DAILY_SCHEMA)
        )
        policy_daily = (
            pl.concat([p for _, p in pieces], how="vertical_relaxed")
            if pieces
            else pl.DataFrame(schema=POLICY_DAILY_SCHEMA)
        )
        policies = policy_summary(policy_daily, scenario.name)
    if policy in contract:
        objective, kind = contract[policy]
        cf = counterfactual(daily.filter((pl.col("objective") == objective) & (pl.col("policy") == kind)), params)
    else:
        cf = pl.DataFrame(schema=COUNTERFACTUAL_SCHEMA)
    if out_dir is not None:
        frame_to_parquet(cf, marts_file(out_dir, "routing_counterfactual"))
    return cf, policies
