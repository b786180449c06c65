"""Counterfactual routing (issue 5; issue 13, "routing at scale"): replay the logged requests
under routing policies, by groups of requests that every policy treats alike.

Within a slot (model, segment of unchanged endpoints and prices, time bucket) every policy's choice
depends only on which candidates fit a request (its fit mask) and, for the price-ranked policies,
on the order of what the request costs on each candidate, which is linear in its tokens. So the
requests are counted per (day, slot, sample rate, fit mask, cost order) with exact integer token
sums, each policy decides once per group, and outcomes follow by linearity (cost = effective
prices x weighted token sums; throughput, TTFT and success are constant per group). All
set-based in DuckDB, one pass over the requests (sql/core/core_routing__*.sql):

    segments -> segment_lists -> pieces (+ bucket_state from the probes) -> slots
    requests x pieces -> request_groups -> decisions -> groups -> daily, policy_daily

`replay_days` recomputes a list of days and replaces, atomically per day, the per-day partials
under the working root:

    core/core_routing__daily/date=D/        per-day sums of the contract counterfactual (bootstrap unit)
    core/core_routing__policy_daily/date=D/ additive pieces of marts.routing_policies (p90 TTFT weights too)
    marts/routing_groups/date=D/            the grouped decisions (published; one row per group x policy)
    marts/routing_segments.parquet          each segment's candidates as lists (published; what the
                                            view marts.routing_decisions needs to place a request)
    marts/routing_decisions/date=D/         per-request decisions, only when asked (write_decisions)

and the marts (routing_policies, routing_counterfactual) are rebuilt from every day's partials in
date order, so a mart built after replaying one day again is the one a full rebuild gives.
"""

from __future__ import annotations

import ctypes
import datetime as dt
import math
import os
import shutil
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from statistics import NormalDist

import duckdb
import polars as pl

from pipeline.lib.duck import connect, lit, staged_glob
from pipeline.lib.parquet_io import frame_to_parquet, replacing
from pipeline.lib.stats import ratio_of_means_ci
from pipeline.paths import core_file, marts_file, staging_dir
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
    # down only when the bucket's probes show success below min_success at this one-sided
    # confidence (Wilson); 0: the contract's point rule (success rate >= min_success)
    availability_confidence: float = 0.95
    # models whose headline figures are also replayed under other availability rules, thresholds
    # and bucket sizes (marts.routing_sensitivity): the public study's headline cases
    sensitivity_models: tuple[str, ...] = ("qwen3-32b", "deepseek-v3.2")
    # cache hits a log does not show are estimated from the day's requests that report them, in
    # the finest cell (model x application, model, application, the day) with at least this many
    cache_min_reporting: int = 10
    n_boot: int = 1000
    seed: int = 0
    models: tuple[str, ...] | None = field(default=None)
    # requests replayed per pass over the request files (whole days): bounds memory, which grows
    # with the number of groups (about 60k per million requests on the sample world), not requests
    chunk_rows: int = 30_000_000
    memory_limit: str = "2GB"


def availability_z(confidence: float) -> float:
    """The one-sided normal quantile of the availability rule; 0 for the point rule."""
    if not 0 <= confidence < 1:
        raise ValueError(f"availability confidence must be in [0, 1), got {confidence}")
    return NormalDist().inv_cdf(confidence) if confidence > 0.5 else 0.0


SCENARIO_FORMS = (
    "observed, provider_down:PROVIDER:START:END, rate_limits_xF (e.g. rate_limits_x2) or prices_asof:YYYY-MM-DD"
)


def _ts(text: str, what: str, scenario: str) -> dt.datetime:
    """An ISO date or time as a naive UTC datetime (the warehouse's timestamps are naive UTC)."""
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"scenario {scenario!r}: {what} {text!r} is not a date (YYYY-MM-DD) or time (YYYY-MM-DDTHH:MM)"
        ) from None
    return value.astimezone(dt.UTC).replace(tzinfo=None) if value.tzinfo else value


def _window(span: str, scenario: str) -> tuple[dt.datetime, dt.datetime]:
    """START:END, where either may be a time with colons of its own (2025-11-01T06:00:2025-11-02):
    the first split at a colon where both sides parse."""
    cuts = [i for i, ch in enumerate(span) if ch == ":"]
    if not cuts:
        raise ValueError(
            f"unknown scenario {scenario!r}: use provider_down:PROVIDER:START:END, e.g. provider_down:fireworks:2025-12-08:2025-12-15"
        )
    for i in cuts:
        try:
            return _ts(span[:i], "START", scenario), _ts(span[i + 1 :], "END", scenario)
        except ValueError:
            continue
    start, end = span[: cuts[0]], span[cuts[0] + 1 :]  # no split parses: name the first side that does not
    return _ts(start, "START", scenario), _ts(end, "END", scenario)


def parse_scenario(text: str | None) -> Scenario:
    """`observed` (default); `provider_down:PROVIDER:START:END` (ISO dates or times, END
    exclusive, after START); `rate_limits_x2` or `rate_limits_xF` (F >= 0); `prices_asof:DATE`
    (re-cost the same traffic at the prices in force at DATE). Raises ValueError with one line
    saying what is wrong. Whether the provider, model and dates exist in a warehouse is checked
    against its data by the CLI (pipeline/lib/cli_checks.py)."""
    if not text or text == "observed":
        return Scenario()
    kind, sep, rest = text.partition(":")
    if kind == "provider_down":
        provider, _, span = rest.partition(":")
        if not provider.strip() or not span:
            raise ValueError(
                f"unknown scenario {text!r}: use provider_down:PROVIDER:START:END, e.g. provider_down:fireworks:2025-12-08:2025-12-15"
            )
        start, end = _window(span, text)
        if end <= start:
            raise ValueError(
                f"scenario {text!r}: END {end:%Y-%m-%d %H:%M} must be after START {start:%Y-%m-%d %H:%M} (END is exclusive)"
            )
        return Scenario(text, down_provider=provider.strip(), down_start=start, down_end=end)
    if kind.startswith("rate_limits_x") and not sep:
        factor_text = kind.removeprefix("rate_limits_x")
        try:
            factor = float(factor_text)
        except ValueError:
            factor = float("nan")
        if not math.isfinite(factor) or factor < 0:
            raise ValueError(
                f"scenario {text!r}: the factor after rate_limits_x must be a number >= 0, e.g. rate_limits_x2"
            )
        return Scenario(text, rate_limit_factor=factor)
    if kind == "prices_asof":
        return Scenario(text, price_asof=_ts(rest, "DATE", text))
    raise ValueError(f"unknown scenario {text!r}: use {SCENARIO_FORMS}")


def routable_models(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Models with at least two providers that had an endpoint and a price at some time."""
    return [
        m
        for (m,) in con.execute(
            "select model from segments group by model having count(distinct provider) >= 2 order by model"
        ).fetchall()
    ]


# ------------------------------------------------------------------------------------ layout

# per-day partials under the working root, one hive folder per day (date=YYYY-MM-DD)
PARTIALS = {
    "daily": ("core", "core_routing__daily"),
    "policy_daily": ("core", "core_routing__policy_daily"),
    "groups": ("marts", "routing_groups"),
    "sensitivity": ("core", "core_routing__sensitivity"),  # pipeline/lib/routing_sensitivity.py
    "cache_rates": ("marts", "routing_cache_rates"),  # published: what the view routing_decisions imputes with
}
DECISIONS = ("marts", "routing_decisions")  # per-request decisions, only when asked for
SEGMENTS_MART = "routing_segments"  # marts/routing_segments.parquet
MAX_CANDIDATES = 62  # a fit mask is a BIGINT


def partial_dir(root: Path, name: str) -> Path:
    """The folder of one per-day partial table: `daily`, `policy_daily`, `groups`, `decisions`."""
    return Path(root).joinpath(*(DECISIONS if name == "decisions" else PARTIALS[name]))


def _day_dir(folder: Path, day: dt.date) -> Path:
    return folder / f"date={day.isoformat()}"


def _folder_days(folder: Path) -> list[dt.date]:
    days = []
    if folder.is_dir():
        for p in folder.iterdir():
            if p.is_dir() and p.name.startswith("date="):
                try:
                    days.append(dt.date.fromisoformat(p.name.removeprefix("date=")))
                except ValueError:
                    continue
    return sorted(days)


def staged_days(root: Path) -> list[dt.date]:
    """The days with staged requests (their hive `date=` folders), in order."""
    folder = staging_dir(root, "requests")
    return [d for d in _folder_days(folder) if any(_day_dir(folder, d).glob("*.parquet"))]


def _day_files(root: Path, dataset: str, days: Iterable[dt.date]) -> list[str]:
    folder = staging_dir(root, dataset)
    return [str(f) for d in sorted(set(days)) for f in sorted(_day_dir(folder, d).glob("*.parquet"))]


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one atomic step (Linux renameat2 with RENAME_EXCHANGE); False where
    the platform or file system cannot."""
    try:
        fn = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return False
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    at_fdcwd, rename_exchange = -100, 2
    return fn(at_fdcwd, os.fsencode(str(a)), at_fdcwd, os.fsencode(str(b)), rename_exchange) == 0


def replace_dir(new: Path | None, target: Path) -> None:
    """Put the finished folder `new` where `target` is, atomically: a reader sees the old folder
    or the new one, never neither (the two are exchanged in one rename, then the old one is
    removed; where exchange is unsupported, two renames). new=None removes `target`."""
    target.parent.mkdir(parents=True, exist_ok=True)
    if new is not None and target.exists() and _exchange(new, target):
        shutil.rmtree(new, ignore_errors=True)  # `new` now names the old folder
        return
    old = target.with_name(f".{target.name}.old-{uuid.uuid4().hex[:8]}")
    if target.exists():
        target.rename(old)
    if new is not None:
        new.rename(target)
    shutil.rmtree(old, ignore_errors=True)


# ------------------------------------------------------------------------------------ replay

EMPTY_BUCKETS = (
    "create or replace temp table buckets (model varchar, provider varchar, bucket timestamp, probes bigint, "
    "success_rate double, rate_limit_rate double, decode_tps_p50 double, ttft_p50_ms double, ttft_p90_ms double)"
)


@dataclass
class ReplayResult:
    """What replay_days did: the models replayed, the days recomputed, how many of their
    requests were replayed and into how many groups."""

    models: list[str]
    days: list[dt.date]
    requests: int
    groups: int


def _passes(root: Path, days: list[dt.date], max_rows: int) -> list[list[dt.date]]:
    """Consecutive days batched up to about `max_rows` staged requests per pass over the files."""
    files = _day_files(root, "requests", days)
    rows: dict[dt.date, int] = dict.fromkeys(days, 0)
    if files:
        con = connect()
        try:
            for f, n in con.execute(
                "select file_name, num_rows from parquet_file_metadata($f)", {"f": files}
            ).fetchall():
                day = next((p.removeprefix("date=") for p in Path(f).parts if p.startswith("date=")), None)
                if day is not None:
                    rows[dt.date.fromisoformat(day)] = rows.get(dt.date.fromisoformat(day), 0) + n
        finally:
            con.close()
    passes: list[list[dt.date]] = [[]]
    total = 0
    for d in days:
        if passes[-1] and total + rows[d] > max_rows:
            passes.append([])
            total = 0
        passes[-1].append(d)
        total += rows[d]
    return [p for p in passes if p]


def _setup(con: duckdb.DuckDBPyConnection, root: Path, scenario: Scenario, params: RoutingParams) -> list[str]:
    """The small shared tables of a replay (segments, segment_lists); returns the models replayed."""
    files = {name: staged_glob(root, name) for name in ("models", "endpoints", "prices")}
    con.execute(
        f"create temp table segments as {load_sql('core/core_routing__segments')}",
        {"endpoints": files["endpoints"], "prices": files["prices"], "price_asof": scenario.price_asof},
    )
    models = routable_models(con)
    if params.models is not None:
        models = [m for m in models if m in params.models]
    con.execute(
        f"create temp table segment_lists as {load_sql('core/core_routing__segment_lists')}",
        {"models": files["models"], "model_filter": models, "bucket_minutes": params.bucket_minutes},
    )
    widest = con.execute("select max(n_providers) from segment_lists").fetchone()[0] or 0
    if widest > MAX_CANDIDATES:
        raise ValueError(
            f"a segment has {widest} candidate providers; the replay handles at most {MAX_CANDIDATES} per model"
        )
    return models


def replay_days(
    root: Path,
    days: Iterable[dt.date] | None = None,
    scenario: Scenario = Scenario(),
    params: RoutingParams = RoutingParams(),
    out_root: Path | None = None,
    write_decisions: bool = False,
    progress: Callable[[str], None] | None = None,
) -> ReplayResult:
    """Replay the staged requests of `days` (None: every staged day) under every policy and
    replace those days' partials under `out_root` (default `root`), each day's folder atomically.
    A day's partials depend only on its own requests, the probes of its buckets and the bucket
    before (at midnight: the day before's probes, never its requests) and the drop's endpoints and
    prices, so replaying one day again gives the same bits as replaying it with all the others.
    A full replay (days=None) also removes the partials of days no longer staged. With
    write_decisions, the per-request decisions of those days are written too (marts/
    routing_decisions/); without, that folder is removed (the warehouse then computes them on
    demand: the view marts.routing_decisions). Writes marts/routing_segments.parquet (every
    segment of the replayed models, what that view needs) each time.

    The marts are not touched: build_policies and build_counterfactual read every day's partials."""
    from pipeline.lib.routing_sensitivity import sensitivity_pass  # it builds on this module

    root = Path(root)
    out_root = Path(out_root or root)
    full = days is None
    days = staged_days(root) if days is None else sorted(set(days))
    # scratch beside the outputs, never under `root`: that may be a published generation
    scratch = out_root / ".tmp_duckdb" / f"routing-{uuid.uuid4().hex[:8]}"
    scratch.mkdir(parents=True)
    tmp = {
        name: partial_dir(out_root, name).with_name(f".{partial_dir(out_root, name).name}.tmp-{uuid.uuid4().hex[:8]}")
        for name in (*PARTIALS, "decisions")
    }
    say = progress or (lambda _msg: None)
    con = connect(temp_dir=scratch / "spill", memory_limit=params.memory_limit)
    try:
        models = _setup(con, root, scenario, params)
        with replacing(marts_file(out_root, SEGMENTS_MART)) as out:
            con.execute(
                "copy (select * from segment_lists order by model, seg_start) to $out (format parquet)",
                {"out": str(out)},
            )
        n_requests = n_groups = 0
        for batch in _passes(root, days, params.chunk_rows):
            say(f"{batch[0]}..{batch[-1]} ({len(batch)} days)")
            n, g = _replay_pass(con, root, batch, scenario, params, models)
            n_requests, n_groups = n_requests + n, n_groups + g
            _write_pass(con, batch, tmp, write_decisions)
            if n:  # the headline models again under other availability rules and bucket sizes
                write_day_frames(sensitivity_pass(con, root, batch, scenario, params, models), tmp["sensitivity"])
            for name in (*PARTIALS, *(("decisions",) if write_decisions else ())):
                final = partial_dir(out_root, name)
                for d in batch:
                    new = _day_dir(tmp[name], d)
                    if new.exists() or _day_dir(final, d).exists():
                        replace_dir(new if new.exists() else None, _day_dir(final, d))
            _drop_pass(con)
        if full:  # days no longer staged
            for name in (*PARTIALS, "decisions"):
                for d in set(_folder_days(partial_dir(out_root, name))) - set(days):
                    replace_dir(None, _day_dir(partial_dir(out_root, name), d))
        if not write_decisions and partial_dir(out_root, "decisions").exists():
            replace_dir(None, partial_dir(out_root, "decisions"))
        # the layout before issue 13: one wide row per request, one file of day sums
        if (out_root / "marts" / "routing_outcomes").exists():
            replace_dir(None, out_root / "marts" / "routing_outcomes")
        core_file(out_root, "core_routing__daily").unlink(missing_ok=True)
        return ReplayResult(models, days, n_requests, n_groups)
    finally:
        con.close()
        shutil.rmtree(scratch, ignore_errors=True)
        for t in tmp.values():
            shutil.rmtree(t, ignore_errors=True)


def make_table(con: duckdb.DuckDBPyConnection, name: str, sql: str, values: dict | None = None) -> None:
    """(Re)create the pass table `name` from sql/<sql>.sql with bound values."""
    con.execute(f"create or replace temp table {name} as select * from ({load_sql(sql)})", values or {})


def slot_values(params: RoutingParams) -> dict:
    """The values core_routing__slots binds: bucket size and the availability rule."""
    return {
        "bucket_minutes": params.bucket_minutes,
        "min_success": params.min_success,
        "availability_z": availability_z(params.availability_confidence),
    }


PASS_TABLES = (
    "cache_rates",
    "request_groups_fine",
    "pieces",
    "buckets",
    "bucket_state",
    "slots",
    "request_groups",
    "groups",
)


def slot_tables(
    con: duckdb.DuckDBPyConnection,
    root: Path,
    days: list[dt.date],
    scenario: Scenario,
    params: RoutingParams,
    models: list[str],
) -> None:
    """The pass tables that do not read requests: pieces, buckets (from the probes), bucket_state
    (after the scenario) and slots (availability at the params' rule), at the params' bucket size."""
    bm = params.bucket_minutes
    make_table(con, "pieces", "core/core_routing__pieces", {"days": days, "bucket_minutes": bm})
    # own buckets and the buckets before: the probes of the day before (and after, for buckets
    # that straddle midnight)
    probe_files = _day_files(root, "latency_probes", {d + dt.timedelta(days=k) for d in days for k in (-1, 0, 1)})
    if probe_files:
        make_table(
            con,
            "buckets",
            "core/core_routing__buckets",
            {"probes": probe_files, "bucket_minutes": bm, "model_filter": models},
        )
    else:
        con.execute(EMPTY_BUCKETS)
    make_table(
        con,
        "bucket_state",
        "core/core_routing__bucket_state",
        {
            "down_provider": scenario.down_provider,
            "down_start": scenario.down_start,
            "down_end": scenario.down_end,
            "rate_limit_factor": scenario.rate_limit_factor,
        },
    )
    make_table(con, "slots", "core/core_routing__slots", slot_values(params))


def _replay_pass(
    con: duckdb.DuckDBPyConnection,
    root: Path,
    days: list[dt.date],
    scenario: Scenario,
    params: RoutingParams,
    models: list[str],
) -> tuple[int, int]:
    """One pass over the request files of `days`: the temporary tables up to `groups` (the grouped
    decisions). Returns (requests, groups)."""
    request_files = _day_files(root, "requests", days)
    if not request_files or not models:
        return 0, 0
    slot_tables(con, root, days, scenario, params, models)
    make_table(
        con,
        "cache_rates",
        "core/core_routing__cache_rates",
        {"requests": request_files, "min_reporting": params.cache_min_reporting},
    )
    make_table(
        con,
        "request_groups",
        "core/core_routing__request_groups",
        {"requests": request_files, "model_filter": models, "bucket_minutes": params.bucket_minutes},
    )
    make_table(con, "groups", "core/core_routing__groups")
    con.execute(
        "create or replace temp view pass_requests as select * from read_parquet("
        + "["
        + ", ".join(lit(f) for f in request_files)
        + "], hive_partitioning = true)"
    )  # no parameters in a view
    n_requests = con.execute("select sum(logged_requests) from request_groups").fetchone()[0]
    n_groups = con.execute("select count(*) from groups").fetchone()[0]
    return int(n_requests or 0), int(n_groups or 0)


def _write_pass(
    con: duckdb.DuckDBPyConnection, days: list[dt.date], tmp: dict[str, Path], write_decisions: bool
) -> None:
    """The pass's partials as hive folders (one per day) under the `tmp` folders."""
    if not _has(con, "groups"):
        return

    def copy(sql: str, out: Path) -> None:
        out.parent.mkdir(parents=True, exist_ok=True)
        con.execute(
            f"copy ({sql}) to $out (format parquet, partition_by (date), overwrite_or_ignore true)", {"out": str(out)}
        )

    copy(load_sql("core/core_routing__daily"), tmp["daily"])
    copy(load_sql("core/core_routing__policy_daily"), tmp["policy_daily"])
    copy("select * from groups", tmp["groups"])
    copy("select * from cache_rates", tmp["cache_rates"])
    if write_decisions:
        # the warehouse view's own SQL, over this pass's requests and groups
        con.execute("create schema if not exists staging")
        con.execute("create schema if not exists marts")
        con.execute("create or replace view staging.requests as select * from pass_requests")
        con.execute("create or replace view marts.routing_segments as select * from segment_lists")
        con.execute("create or replace view marts.routing_groups as select * from groups")
        con.execute("create or replace view marts.routing_cache_rates as select * from cache_rates")
        copy(load_sql("views/routing_decisions"), tmp["decisions"])


def write_day_frames(df: pl.DataFrame, folder: Path) -> None:
    """A frame with a `date` column as one hive folder per day under `folder` (date in the path)."""
    for (day,), part in df.group_by(["date"]):
        out = _day_dir(folder, day)
        out.mkdir(parents=True, exist_ok=True)
        part.drop("date").write_parquet(out / "part-0.parquet")


def _has(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    return bool(con.execute("select count(*) from duckdb_tables() where table_name = $t", {"t": table}).fetchone()[0])


def _drop_pass(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("drop view if exists pass_requests")
    for name in PASS_TABLES:
        con.execute(f"drop table if exists {name}")


# ------------------------------------------------------------------------------------ marts


def read_partials(root: Path, name: str) -> pl.DataFrame:
    """Every day's rows of a partial table (`daily`, `policy_daily`, `groups`), in date order,
    with their `date`; empty (no columns) when no day has been replayed."""
    folder = partial_dir(root, name)
    frames = [
        pl.read_parquet(f).with_columns(pl.lit(d).alias("date"))
        for d in _folder_days(folder)
        for f in sorted(_day_dir(folder, d).glob("*.parquet"))
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
                if _has(con, "groups"):
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
