"""Counterfactual routing (issue 5): replay the logged requests under routing policies.

Three steps, all set-based in one DuckDB connection (no Python loop per request):
1. `segments` (sql/core/core_routing__segments.sql): every model's candidates with endpoint
   state and price in force, per stretch of time in which nothing changes;
2. `buckets` (sql/core/core_routing__buckets.sql): availability, median throughput and TTFT per
   provider, model and time bucket, from the latency probes;
3. per batch of days: `routed_requests`, `slots`, `choices` and `outcomes`
   (sql/core/core_routing__{requests,slots,choices,outcomes}.sql): one row per request with every
   policy's choice, cost, throughput, TTFT and expected success.
The marts are summaries of `outcomes`: routing_counterfactual (the contract's objectives and
oracle/causal policies with paired day-bootstrap intervals), routing_policies (the gateway
policies), and routing_outcomes (Parquet, one row per request; the warehouse view
marts.routing_decisions shows it per request and policy).
"""

from __future__ import annotations

import datetime as dt
import shutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import polars as pl

from pipeline.lib.ingest import connect, staged_glob, swap_dir
from pipeline.lib.parquet_io import frame_to_parquet
from pipeline.lib.stats import ratio_of_means_ci
from pipeline.paths import core_file, marts_file
from pipeline.sql import load_sql

POLICIES = (
    "official",
    "cost_oracle",
    "throughput_oracle",
    "cheapest",
    "fastest",
    "lowest_p90_ttft",
    "sort_price_with_retries",
    "price_weighted_balance",
)
# The contract's (objective, policy) -> the policy column that implements it. `causal` chooses
# with the previous bucket, which is what a live gateway sorting by price or speed does.
CONTRACT_POLICIES = {
    ("cost", "oracle"): "cost_oracle",
    ("cost", "causal"): "cheapest",
    ("throughput", "oracle"): "throughput_oracle",
    ("throughput", "causal"): "fastest",
}


@dataclass(frozen=True)
class Scenario:
    """A what-if. The defaults replay what happened."""

    name: str = "observed"
    down_provider: str | None = None
    down_start: dt.datetime | None = None
    down_end: dt.datetime | None = None
    rate_limit_factor: float = 1.0
    price_asof: dt.datetime | None = None


@dataclass(frozen=True)
class RoutingParams:
    bucket_minutes: int = 60
    min_success: float = 0.9
    n_boot: int = 1000
    seed: int = 0
    models: tuple[str, ...] | None = field(default=None)
    # requests replayed per batch of days: bounds memory (about 1.5 GB per million at 8 policies)
    chunk_rows: int = 1_000_000
    memory_limit: str = "2GB"


def _ts(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


def parse_scenario(text: str | None) -> Scenario:
    """`observed` (default); `provider_down:PROVIDER:START:END` (ISO dates or times, END
    exclusive); `rate_limits_x2` or `rate_limits_xF`; `prices_asof:DATE` (re-cost the same
    traffic at the prices in force at DATE)."""
    if not text or text == "observed":
        return Scenario()
    kind, _, rest = text.partition(":")
    try:
        if kind == "provider_down":
            provider, start, end = rest.split(":", 2) if rest.count(":") == 2 else (None, None, None)
            if provider is None:
                raise ValueError
            return Scenario(text, down_provider=provider, down_start=_ts(start), down_end=_ts(end))
        if kind.startswith("rate_limits_x"):
            factor = float(kind.removeprefix("rate_limits_x"))
            if factor < 0:
                raise ValueError
            return Scenario(text, rate_limit_factor=factor)
        if kind == "prices_asof":
            return Scenario(text, price_asof=_ts(rest))
    except ValueError:
        pass
    raise ValueError(
        f"unknown scenario {text!r}: use observed, provider_down:PROVIDER:START:END, rate_limits_x2 (any factor), "
        "or prices_asof:YYYY-MM-DD"
    )


def _inputs(root: Path) -> dict[str, str]:
    return {name: staged_glob(root, name) for name in ("requests", "models", "endpoints", "prices", "latency_probes")}


def routable_models(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Models with at least two providers that had an endpoint and a price at some time."""
    return [m for (m,) in con.execute(
        "select model from segments group by model having count(distinct provider) >= 2 order by model"
    ).fetchall()]


def _chunks(file_rows: list[tuple[str, int]], max_rows: int) -> list[tuple[str, list[str]]]:
    """Consecutive days of staged request files (hive `date=` folders) batched up to about
    `max_rows` requests: memory is bounded by a batch, never by the quarter, and batches are
    large enough that per-query overhead does not dominate."""
    days: dict[str, list[tuple[str, int]]] = {}
    for f, n in sorted(file_rows):
        day = next((part.removeprefix("date=") for part in Path(f).parts if part.startswith("date=")), "all")
        days.setdefault(day, []).append((f, n))
    chunks, files, rows, first = [], [], 0, None
    for day, entries in sorted(days.items()):
        n = sum(k for _, k in entries)
        if files and rows + n > max_rows:
            chunks.append((first, files))
            files, rows, first = [], 0, None
        first = first or day
        files += [f for f, _ in entries]
        rows += n
    if files:
        chunks.append((first, files))
    return chunks


@dataclass
class RoutingRun:
    """What a replay leaves behind: per-day sums for the counterfactual and the additive pieces of
    the policy summary (polars frames), and the models replayed."""

    models: list[str]
    daily: pl.DataFrame
    policy_daily: pl.DataFrame
    requests: int


def replay(root: Path, scenario: Scenario = Scenario(), params: RoutingParams = RoutingParams(),
           decisions_dir: Path | None = None, progress: Callable[[str], None] | None = None) -> RoutingRun:
    """Replay every staged request of the routable models under every policy, one batch of days
    at a time. With decisions_dir, the per-request outcomes are written there (a folder per batch).

    The small shared tables (segments, buckets, files) are built once and kept as Parquet in a
    scratch folder; each batch runs in a fresh DuckDB that loads them, so what DuckDB caches for
    one batch is released before the next."""
    files = _inputs(root)
    scratch = Path(root) / ".tmp_duckdb" / f"routing-{uuid.uuid4().hex[:8]}"
    scratch.mkdir(parents=True)
    shared = ("segments", "bucket_state", "request_files")

    def open_con() -> duckdb.DuckDBPyConnection:
        return connect(temp_dir=scratch / "spill", memory_limit=params.memory_limit)

    def table(con: duckdb.DuckDBPyConnection, name: str, sql: str, values: dict | None = None) -> None:
        con.execute(f"create or replace temp table {name} as {load_sql(sql)}", values or {})

    try:
        con = open_con()
        try:
            table(con, "segments", "core/core_routing__segments",
                  {"endpoints": files["endpoints"], "prices": files["prices"], "price_asof": scenario.price_asof})
            table(con, "buckets", "core/core_routing__buckets", {"probes": files["latency_probes"], "bucket_minutes": params.bucket_minutes})
            table(con, "bucket_state", "core/core_routing__bucket_state",
                  {"down_provider": scenario.down_provider, "down_start": scenario.down_start, "down_end": scenario.down_end,
                   "rate_limit_factor": scenario.rate_limit_factor})
            con.execute(
                "create or replace temp table request_files as "
                "select file, cast(row_number() over (order by file) as bigint) as file_index from glob($g)",
                {"g": files["requests"]},
            )
            file_rows = con.execute("select file_name, num_rows from parquet_file_metadata($g)", {"g": files["requests"]}).fetchall()
            models = routable_models(con)
            for name in shared:
                con.execute(f"copy {name} to $out (format parquet)", {"out": str(scratch / f"{name}.parquet")})
        finally:
            con.close()
        if params.models is not None:
            models = [m for m in models if m in params.models]
        daily, policy_daily, n = [], [], 0
        for day, day_files in _chunks(file_rows, params.chunk_rows):
            if progress:
                progress(f"{day} ({len(day_files)} files)")
            con = open_con()
            try:
                for name in shared:
                    con.execute(f"create temp table {name} as select * from read_parquet($f)", {"f": str(scratch / f"{name}.parquet")})
                table(con, "routed_requests", "core/core_routing__requests",
                      {"requests": day_files, "models": files["models"], "model_filter": models, "bucket_minutes": params.bucket_minutes})
                table(con, "slots", "core/core_routing__slots", {"bucket_minutes": params.bucket_minutes})
                table(con, "choices", "core/core_routing__choices", {"min_success": params.min_success})
                table(con, "outcomes", "core/core_routing__outcomes")
                # the batch's outcomes under the name the warehouse view reads, so the long form
                # is defined once (sql/views/routing_decisions.sql)
                con.execute("create schema if not exists marts")
                con.execute("create or replace view marts.routing_outcomes as select * from outcomes")
                con.execute(f"create or replace temp view decisions as {load_sql('views/routing_decisions')}")
                n += con.execute("select count(*) from outcomes").fetchone()[0]
                if decisions_dir is not None:
                    # one wide row per request (the long view is sql/views/routing_decisions.sql):
                    # a fifth of the bytes and the time of writing eight rows per request
                    con.execute("copy (select * exclude (key, month, quarter) from outcomes) to $out "
                                "(format parquet, compression zstd, compression_level 1, per_thread_output true)",
                                {"out": str(Path(decisions_dir) / f"batch-{day}")})
                daily.append(con.execute(load_sql("core/core_routing__daily")).pl())
                policy_daily.append(con.execute(load_sql("core/core_routing__policy_daily")).pl())
            finally:
                con.close()
        return RoutingRun(models, _concat(daily), _concat(policy_daily), n)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _concat(frames: list[pl.DataFrame]) -> pl.DataFrame:
    frames = [f for f in frames if f.height]
    return pl.concat(frames, how="vertical_relaxed") if frames else pl.DataFrame()


DAILY_SCHEMA = {
    "date": pl.Date, "month": pl.String, "quarter": pl.String, "model": pl.String, "objective": pl.String, "policy": pl.String,
    "baseline_provider": pl.String, "routed": pl.Float64, "excluded": pl.Float64, "routed_sum": pl.Float64, "base_sum": pl.Float64,
}
COUNTERFACTUAL_SCHEMA = {
    "period": pl.String, "period_type": pl.String, "model": pl.String, "objective": pl.String, "policy": pl.String,
    "baseline_provider": pl.String, "requests_routed": pl.Float64, "requests_excluded": pl.Float64,
    "baseline_value": pl.Float64, "routed_value": pl.Float64, "change_pct": pl.Float64, "ci_low": pl.Float64,
    "ci_high": pl.Float64, "n_days": pl.Int64,
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
        for (period, model, objective, policy), g in daily.group_by([period_col, "model", "objective", "policy"], maintain_order=True):
            routed, excluded = float(g["routed"].sum()), float(g["excluded"].sum())
            base_sum, routed_sum = float(g["base_sum"].sum()), float(g["routed_sum"].sum())
            if objective == "cost":
                baseline_value, routed_value = base_sum, routed_sum
            else:  # weighted means over the same requests
                baseline_value = base_sum / routed if routed else float("nan")
                routed_value = routed_sum / routed if routed else float("nan")
            # the same resampled days on both sides: a ratio of day sums
            ratio, lo, hi = ratio_of_means_ci(g["routed_sum"].to_numpy(), g["base_sum"].to_numpy(), n_boot=params.n_boot, seed=params.seed)
            rows.append({
                "period": period, "period_type": period_type, "model": model, "objective": objective, "policy": policy,
                "baseline_provider": g["baseline_provider"].drop_nulls().first(), "requests_routed": routed, "requests_excluded": excluded,
                "baseline_value": baseline_value, "routed_value": routed_value, "change_pct": 100 * (ratio - 1),
                "ci_low": 100 * (lo - 1), "ci_high": 100 * (hi - 1), "n_days": g.height,
            })
    out = pl.DataFrame(rows, schema=COUNTERFACTUAL_SCHEMA).with_columns(
        pl.when(pl.col(c).is_nan()).then(None).otherwise(pl.col(c)).alias(c)
        for c in ("baseline_value", "routed_value", "change_pct", "ci_low", "ci_high")
    )
    return out.sort(["period_type", "period", "model", "objective", "policy"], descending=[True, False, False, False, False])


def policy_summary(policy_daily: pl.DataFrame, scenario: str) -> pl.DataFrame:
    con = connect()
    try:
        if not policy_daily.height:
            policy_daily = pl.DataFrame(schema={"date": pl.Date, "month": pl.String, "quarter": pl.String, "model": pl.String,
                                                "policy": pl.String, "ttft_ms": pl.Float64, "routed": pl.Float64,
                                                "excluded": pl.Float64, "cost_sum": pl.Float64, "tps_sum": pl.Float64,
                                                "tps_weight": pl.Float64, "success_sum": pl.Float64})
        con.register("policy_daily", policy_daily)
        return con.execute(load_sql("marts/routing_policies"), {"scenario": scenario}).pl()
    finally:
        con.close()


def build_replay(root: Path, scenario: Scenario = Scenario(), params: RoutingParams = RoutingParams(),
                 out_root: Path | None = None, progress: Callable[[str], None] | None = None) -> tuple[RoutingRun, pl.DataFrame]:
    """The replay behind the routing marts: marts/routing_outcomes/ (one row per request with every
    policy's outcome; the warehouse shows it long as marts.routing_decisions), marts/routing_policies,
    and core/core_routing__daily (the per-day sums the counterfactual and its bootstrap read).
    Returns the run and the policy summary."""
    out_root = Path(out_root or root)
    decisions_dir = out_root / "marts" / "routing_outcomes"
    tmp = decisions_dir.with_name(f".{decisions_dir.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    run = replay(root, scenario, params, decisions_dir=tmp, progress=progress)
    policies = policy_summary(run.policy_daily, scenario.name)
    # the decisions folder is replaced as a whole, then the two marts (each atomically)
    swap_dir(tmp, decisions_dir)
    frame_to_parquet(run.daily if run.daily.height else pl.DataFrame(schema=DAILY_SCHEMA), core_file(out_root, "core_routing__daily"))
    frame_to_parquet(policies, marts_file(out_root, "routing_policies"))
    return run, policies


def build_counterfactual(root: Path, objectives: tuple[str, ...] = ("cost", "throughput"), params: RoutingParams = RoutingParams()) -> pl.DataFrame:
    """The contract's counterfactual rows for `objectives`, from core/core_routing__daily."""
    daily = pl.read_parquet(core_file(root, "core_routing__daily"))
    return counterfactual(daily.filter(pl.col("objective").is_in(objectives)), params)


def build_routing(root: Path, scenario: Scenario = Scenario(), params: RoutingParams = RoutingParams(),
                  out_root: Path | None = None, progress: Callable[[str], None] | None = None) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Everything at once (the CLI and the tests): the replay, then marts.routing_counterfactual."""
    out_root = Path(out_root or root)
    run, policies = build_replay(root, scenario, params, out_root, progress)
    cf = counterfactual(run.daily, params)
    frame_to_parquet(cf, marts_file(out_root, "routing_counterfactual"))
    return cf, policies
