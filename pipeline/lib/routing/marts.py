"""The routing marts from the per-day partials: reading them, marts.routing_policies, and the
entry points that run it all. The counterfactual and the all-model totals, with their paired
day-bootstrap intervals, are pipeline/lib/marts/routing_counterfactual.py and routing_totals.py."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from pathlib import Path

import polars as pl

from pipeline.lib.duck import connect
from pipeline.lib.marts.routing_counterfactual import COUNTERFACTUAL_SCHEMA, routing_counterfactual
from pipeline.lib.marts.routing_totals import routing_totals
from pipeline.lib.parquet_io import frame_to_parquet
from pipeline.lib.routing.layout import day_dir, folder_days, partial_dir, staged_days
from pipeline.lib.routing.replay import ReplayResult, _drop_pass, _passes, _replay_pass, _setup, has_table, replay_days
from pipeline.lib.routing.settings import CONTRACT_POLICIES, RoutingParams, Scenario
from pipeline.paths import marts_file
from pipeline.sql import load_sql

_FILE = "__partial_file"  # the column read_partials carries each row's file in


def read_partials(root: Path, name: str, days: Callable[[dt.date], bool] | None = None) -> pl.DataFrame:
    """Every day's rows of a partial table (`daily`, `policy_daily`, `groups`), or of the days
    `days` keeps, in date order, with their `date`; empty (no columns) when no such day has been
    replayed."""
    folder = partial_dir(root, name)
    files = [
        (d, f)
        for d in folder_days(folder)
        if days is None or days(d)
        for f in sorted(day_dir(folder, d).glob("*.parquet"))
    ]
    if not files:
        return pl.DataFrame()
    try:
        # one scan of every day's file, not a read per file (~1 ms each): 1.5-4x faster per
        # partial at 10M (BENCHMARKS.md, 2026-12-06 18:35)
        df = pl.scan_parquet([str(f) for _, f in files], hive_partitioning=False, include_file_paths=_FILE).collect()
    except pl.exceptions.PolarsError:  # days whose files differ in types: relaxed below
        return _read_partials_relaxed(files)
    if not df.height:
        return pl.DataFrame()
    day = pl.col(_FILE).replace_strict({str(f): d for d, f in files}, return_dtype=pl.Date).alias("date")
    return df.select(day, pl.exclude(_FILE))


def _read_partials_relaxed(files: list[tuple]) -> pl.DataFrame:
    """read_partials for (day, file) pairs whose files do not share one schema (a partial written
    by an older code version beside new ones): each file apart, concatenated with types relaxed."""
    frames = [pl.read_parquet(f).with_columns(pl.lit(d).alias("date")) for d, f in files]
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


def counterfactual(daily: pl.DataFrame, params: RoutingParams = RoutingParams()) -> pl.DataFrame:
    """marts.routing_counterfactual's rows from per-day sums (pipeline/lib/marts/routing_counterfactual.py)."""
    return routing_counterfactual(daily, params.n_boot, params.seed)


def build_totals(root: Path, params: RoutingParams = RoutingParams()) -> pl.DataFrame:
    """marts.routing_totals from every day's core_routing__daily (pipeline/lib/marts/routing_totals.py)."""
    return routing_totals(read_daily(root), params.n_boot, params.seed)


def build_staleness(root: Path, params: RoutingParams = RoutingParams()) -> pl.DataFrame:
    """marts.routing_staleness from every day's core_routing__policy_daily
    (pipeline/lib/marts/routing_staleness.py)."""
    from pipeline.lib.marts.routing_staleness import routing_staleness

    return routing_staleness(read_partials(root, "policy_daily"), params.n_boot, params.seed)


def read_requests_hourly(root: Path) -> pl.DataFrame:
    """core_requests__hourly, every day: the hours' logged requests, client errors and rate limits."""
    from pipeline.paths import core_glob

    columns = ["hour", "date", "provider", "model", "requests", "client_errors", "rate_limits", "rate_limits_billed"]
    return pl.read_parquet(core_glob(root, "core_requests__hourly"), columns=columns, hive_partitioning=False)


def build_provider_capacity(root: Path, params: RoutingParams = RoutingParams()) -> pl.DataFrame:
    """marts.provider_capacity from core_requests__hourly (pipeline/lib/marts/routing_capacity.py)."""
    from pipeline.lib.marts.provider_capacity import provider_capacity

    return provider_capacity(read_requests_hourly(root), params.n_boot, params.seed)


def build_routing_capacity(root: Path, params: RoutingParams = RoutingParams()) -> pl.DataFrame:
    """marts.routing_capacity from every day's core_routing__capacity, core_requests__hourly and
    marts.provider_capacity."""
    from pipeline.lib.marts.routing_capacity import capacity_day_sums, routing_capacity

    capacity = read_partials(root, "capacity")
    if not capacity.height:
        return routing_capacity(pl.DataFrame(), params.n_boot, params.seed)
    fit = pl.read_parquet(marts_file(root, "provider_capacity"))
    days = capacity_day_sums(capacity, read_requests_hourly(root), fit)
    return routing_capacity(days, params.n_boot, params.seed)


def build_replay_validation(root: Path, params: RoutingParams = RoutingParams()) -> pl.DataFrame:
    """marts.replay_validation from every day's core_routing__validation
    (pipeline/lib/marts/replay_validation.py)."""
    from pipeline.lib.marts.replay_validation import replay_validation

    return replay_validation(read_partials(root, "validation"), params.n_boot, params.seed)


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
        replay_days(
            root, None, scenario, params, out_dir, write_decisions=True, progress=progress, reuse_cache_rates=True
        )
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
                _replay_pass(con, Path(root), batch, scenario, params, models, reuse_cache_rates=True, validation=False)
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


def build_recommendations(root: Path, params=None) -> pl.DataFrame:
    """marts.routing_recommendations from the replay's per-application rows of the training and
    test windows (core_routing__application_daily), the staged models, endpoints, prices and
    probes (core_routing__provider_checks), marts.vendor_verification (the tool-call floor) and
    core_tokens__daily (the applications' token regimes over the training window); see
    pipeline/lib/marts/routing_recommendations.py. ValueError when the windows are inconsistent."""
    from pipeline.lib.duck import staged_glob
    from pipeline.lib.marts.routing_recommendations import (
        SCHEMA,
        RecommendParams,
        application_regimes,
        resolve,
        routing_recommendations,
    )
    from pipeline.paths import core_dir

    params = params or RecommendParams()
    root = Path(root)
    folder = partial_dir(root, "application_daily")
    days = folder_days(folder)
    if not days:
        return pl.DataFrame(schema=SCHEMA)
    windows = resolve(params, days)
    train_start, train_end, test_start, test_end = windows
    rows = read_partials(root, "application_daily", lambda d: train_start <= d <= test_end)
    if not rows.height:
        return pl.DataFrame(schema=SCHEMA)
    train_days = [d for d in staged_days(root) if train_start <= d <= train_end]
    day = dt.timedelta(days=1)
    con = connect()
    try:
        months = sorted(
            {f"{train_start + dt.timedelta(days=i):%Y-%m}" for i in range((train_end - train_start).days + 1)}
        )
        objects = marts_file(root, "service_objects")
        if not objects.exists():
            raise FileNotFoundError(f"{objects} missing: build marts.service_objects first")
        checks = con.execute(
            load_sql("core/core_routing__provider_checks"),
            {
                "models": staged_glob(root, "models"),
                "endpoints": staged_glob(root, "endpoints"),
                "prices": staged_glob(root, "prices"),
                "service_objects": str(objects),
                "months": months,
                "train_until": train_end + day,
                "price_at": test_end + day,
            },
        ).pl()
        failing: set[tuple[str, str]] = set()
        verification = marts_file(root, "vendor_verification")
        if verification.exists():
            failing = {
                (m, p)
                for m, p in con.execute(
                    "select distinct model, provider from read_parquet($f) where suite = 'tool_calls' "
                    "and period_type = 'month' and list_contains($months, period) and verdict = 'fail'",
                    {"f": str(verification), "months": months},
                ).fetchall()
            }
        token_files = [
            str(f)
            for d in train_days
            for f in sorted((core_dir(root, "core_tokens__daily") / f"day={d.isoformat()}").glob("*.parquet"))
        ]
        tokens = (
            con.execute(
                "select application, side, tokens, weight from read_parquet($f) where side in ('input', 'output')",
                {"f": token_files},
            ).pl()
            if token_files
            else pl.DataFrame()
        )
    finally:
        con.close()
    capacity = {}
    if params.capacity_floor:
        from pipeline.lib.marts.provider_capacity import provider_capacity
        from pipeline.lib.marts.routing_recommendations import capacity_reasons

        # fitted on the training window only: what an analyst knew when the order was learned
        if any(core_dir(root, "core_requests__hourly").rglob("*.parquet")):
            hourly = read_requests_hourly(root).filter(pl.col("date").is_between(train_start, train_end))
            capacity = capacity_reasons(provider_capacity(hourly, params.n_boot, params.seed))
    return routing_recommendations(rows, checks, failing, application_regimes(tokens), windows, params, capacity)
