"""The replay: passes over the request files of whole days, every pass a chain of DuckDB tables
(sql/core/core_routing__*.sql), each day's partials written as it finishes."""

from __future__ import annotations

import datetime as dt
import shutil
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import duckdb

from pipeline.lib.duck import connect, lit, staged_glob
from pipeline.lib.parquet_io import replacing
from pipeline.lib.routing import cache_rates
from pipeline.lib.routing.layout import (
    MAX_CANDIDATES,
    PARTIALS,
    SEGMENTS_MART,
    day_dir,
    day_files,
    folder_days,
    partial_dir,
    replace_dir,
    staged_days,
    write_day_frames,
)
from pipeline.lib.routing.settings import RoutingParams, Scenario, availability_z
from pipeline.paths import core_file, marts_file, staging_dir
from pipeline.sql import load_sql


def routable_models(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Models with at least two providers that had an endpoint and a price at some time."""
    return [
        m
        for (m,) in con.execute(
            "select model from segments group by model having count(distinct provider) >= 2 order by model"
        ).fetchall()
    ]


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
    files = day_files(root, "requests", days)
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
    _frozen_orders(con, root)
    widest = con.execute("select max(n_providers) from segment_lists").fetchone()[0] or 0
    if widest > MAX_CANDIDATES:
        raise ValueError(
            f"a segment has {widest} candidate providers; the replay handles at most {MAX_CANDIDATES} per model"
        )
    return models


def _frozen_orders(con: duckdb.DuckDBPyConnection, root: Path) -> None:
    """The temp table frozen_orders (core_routing__frozen_orders): the provider lists the frozen
    policies keep all quarter. From every staged day's quarter, whichever days a pass replays, so a
    day's decisions do not depend on which days are replayed with it."""
    probe_files = day_files(root, "latency_probes", folder_days(staging_dir(root, "latency_probes")))
    if probe_files:
        # a view, not a table: the orders read the probes of t0's day only, and a scan that
        # filters them costs a fifth of copying the quarter's probes first (0.06 s against 0.37 s
        # at 10M); a view takes no parameters, so the paths are quoted literals
        con.execute(
            "create or replace temp view frozen_probes as select model, provider, ts, status, decode_tps "
            f"from read_parquet([{', '.join(lit(f) for f in probe_files)}], hive_partitioning = true)"
        )
    else:
        con.execute(
            "create or replace temp table frozen_probes (model varchar, provider varchar, ts timestamp, "
            "status varchar, decode_tps double)"
        )
    quarters = sorted({dt.date(d.year, 3 * ((d.month - 1) // 3) + 1, 1) for d in staged_days(root)})
    make_table(con, "frozen_orders", "core/core_routing__frozen_orders", {"quarter_starts": quarters})
    con.execute(f"drop {'view' if probe_files else 'table'} frozen_probes")


def replay_days(
    root: Path,
    days: Iterable[dt.date] | None = None,
    scenario: Scenario = Scenario(),
    params: RoutingParams = RoutingParams(),
    out_root: Path | None = None,
    write_decisions: bool = False,
    progress: Callable[[str], None] | None = None,
    reuse_cache_rates: bool = False,
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
    segment of the replayed models, what that view needs) each time. reuse_cache_rates: read the
    cache rates `root` already publishes (see cache_rates.published_files), for a replay into another
    out_root of a built warehouse's record.

    The marts are not touched: build_policies and build_counterfactual read every day's partials."""
    from pipeline.lib.routing.sensitivity import sensitivity_pass  # it builds on this module

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
            n, g = _replay_pass(con, root, batch, scenario, params, models, reuse_cache_rates)
            n_requests, n_groups = n_requests + n, n_groups + g
            _write_pass(con, batch, tmp, write_decisions)
            if n:  # the headline models again under other availability rules and bucket sizes
                write_day_frames(sensitivity_pass(con, root, batch, scenario, params, models), tmp["sensitivity"])
            for name in (*PARTIALS, *(("decisions",) if write_decisions else ())):
                final = partial_dir(out_root, name)
                for d in batch:
                    new = day_dir(tmp[name], d)
                    if new.exists() or day_dir(final, d).exists():
                        replace_dir(new if new.exists() else None, day_dir(final, d))
            _drop_pass(con)
        if full:  # days no longer staged
            for name in (*PARTIALS, "decisions"):
                for d in set(folder_days(partial_dir(out_root, name))) - set(days):
                    replace_dir(None, day_dir(partial_dir(out_root, name), d))
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
    "failure_billing",
    "request_groups_fine",
    "pieces",
    "buckets",
    "bucket_state",
    "slots",
    "request_groups",
    "groups",
    "validation",
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
    probe_files = day_files(root, "latency_probes", {d + dt.timedelta(days=k) for d in days for k in (-1, 0, 1)})
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
    reuse_cache_rates: bool = False,
    validation: bool = True,
) -> tuple[int, int]:
    """One pass over the request files of `days`: the temporary tables up to `groups` (the grouped
    decisions) and `validation` (unless told not to: a replay that only sums the days, as
    `simulate` in memory, never reads it). With reuse_cache_rates, the cache rates `root`
    publishes for these days are read instead of computed again, where
    cache_rates.published_files finds them. Returns (requests, groups)."""
    request_files = day_files(root, "requests", days)
    if not request_files or not models:
        return 0, 0
    slot_tables(con, root, days, scenario, params, models)
    cache_values = {"requests": request_files, "min_reporting": params.cache_min_reporting}
    published = cache_rates.published_files(root, days, params) if reuse_cache_rates else None
    if published:
        cache_rates.load_published(con, published, cache_values)
    else:
        make_table(con, "cache_rates", cache_rates.SQL, cache_values)
    make_table(
        con,
        "failure_billing",
        "core/core_routing__failure_billing",
        {"requests": request_files, "min_reporting": params.failure_min_reporting},
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
    if validation:
        make_table(
            con,
            "validation",
            "core/core_routing__validation",
            {"bucket_minutes": params.bucket_minutes, "model_filter": models},
        )
    n_requests = con.execute("select sum(logged_requests) from request_groups").fetchone()[0]
    n_groups = con.execute("select count(*) from groups").fetchone()[0]
    return int(n_requests or 0), int(n_groups or 0)


def _write_pass(
    con: duckdb.DuckDBPyConnection, days: list[dt.date], tmp: dict[str, Path], write_decisions: bool
) -> None:
    """The pass's partials as hive folders (one per day) under the `tmp` folders."""
    if not has_table(con, "groups"):
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
    copy("select * from validation", tmp["validation"])
    copy(load_sql("core/core_routing__capacity"), tmp["capacity"])
    copy(load_sql("core/core_routing__application_daily"), tmp["application_daily"])
    if write_decisions:
        # the warehouse view's own SQL, over this pass's requests and groups
        con.execute("create schema if not exists staging")
        con.execute("create schema if not exists marts")
        con.execute("create or replace view staging.requests as select * from pass_requests")
        con.execute("create or replace view marts.routing_segments as select * from segment_lists")
        con.execute("create or replace view marts.routing_groups as select * from groups")
        con.execute("create or replace view marts.routing_cache_rates as select * from cache_rates")
        copy(load_sql("views/routing_decisions"), tmp["decisions"])


def has_table(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    return bool(con.execute("select count(*) from duckdb_tables() where table_name = $t", {"t": table}).fetchone()[0])


def _drop_pass(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("drop view if exists pass_requests")
    for name in PASS_TABLES:
        con.execute(f"drop table if exists {name}")
