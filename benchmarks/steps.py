"""The measured steps, each run in its own process by run_bench (so peak RSS is per step).

python -m benchmarks.steps floor  RAW DB     # bare DuckDB: read every file of the drop into tables
python -m benchmarks.steps ingest RAW ROOT   # servicelens staging of every dataset (no Dagster)
python -m benchmarks.steps demand_floor ROOT -      # one hand-written query: marts.family_demand's content
python -m benchmarks.steps demand_scan_floor ROOT - # bare DuckDB: the request scans all demand marts need
python -m benchmarks.steps family_shares ROOT -     # the pipeline's path to it (core_demand__daily + family_demand)
python -m benchmarks.steps demand ROOT -            # every demand mart (issue 3) from the staged data
python -m benchmarks.steps service_floor ROOT -     # one DuckDB quantile query over the staged probes
python -m benchmarks.steps service ROOT -           # every service-object mart (issue 4)
python -m benchmarks.steps routing_floor ROOT -     # bare DuckDB: the requests by model and hour, the probes' bucket medians
python -m benchmarks.steps routing ROOT -           # every policy replayed on every request, grouped (issues 5, 13)
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path


def floor(raw: Path, db: Path) -> dict:
    """The least work that reads the same files into DuckDB tables: no validation, no
    dedupe, no partitioned write. One statement per dataset and format."""
    import duckdb

    from pipeline.lib.contract import DATASETS
    from pipeline.lib.ingest import discover

    db.unlink(missing_ok=True)
    con = duckdb.connect(str(db))
    rows = 0
    for name in DATASETS:
        files = discover(raw, name)
        for fmt, reader in (
            ("parquet", "read_parquet(?, union_by_name = true)"),
            ("csv", "read_csv(?, union_by_name = true, all_varchar = true, ignore_errors = true)"),
            ("jsonl", "read_json(?, format = 'newline_delimited', ignore_errors = true)"),
        ):
            paths = [str(f.path) for f in files if f.fmt == fmt]
            if paths:
                table = f"{name}_{fmt}"
                con.execute(f"create table {table} as select * from {reader}", [paths])
                rows += con.execute(f"select count(*) from {table}").fetchone()[0]
    con.close()
    return {"rows": rows}


def ingest(raw: Path, root: Path) -> dict:
    """What the pipeline's ingest assets do on a first build: the dimensions staged whole, each
    time series parsed into the per-file cache, then staged by day (issue 13)."""
    import duckdb

    from pipeline.lib.contract import DATASETS
    from pipeline.lib.ingest import stage_dataset
    from pipeline.lib.parse_cache import TS_DATASETS, update_parse_cache
    from pipeline.lib.staging import stage_days
    from pipeline.paths import ingest_dir

    read, parse_s = 0, 0.0
    for spec in DATASETS.values():
        if spec.name in TS_DATASETS:
            started = time.perf_counter()
            update_parse_cache(spec, raw, root)
            parse_s += time.perf_counter() - started
            stage_days(spec, root)
            audit = ingest_dir(root, spec.name) / "audit.parquet"
            read += duckdb.execute(f"select coalesce(sum(rows_read), 0) from read_parquet('{audit}')").fetchone()[0]
        else:
            read += stage_dataset(spec, raw, root).rows_read
    return {"rows": int(read), "parse_s": parse_s}


def demand_floor(root: Path, _unused: Path) -> dict:
    """One hand-written query computing the same family shares as marts.family_demand
    (quarters and months, weighted requests and tokens, shares) straight from the staged Parquet.
    It aggregates the requests per model and day before joining families and rolling days up to
    periods: the fastest single query found (joining families to every request first took 1.6x
    as long; a union of two period aggregations over the raw rows, 4x)."""
    import duckdb

    from pipeline.lib.duck import parquet_glob
    from pipeline.paths import staging_dir

    con = duckdb.connect()
    rows = con.execute(
        """
        with per_model as (
            select model, date, sum(1.0 / sample_rate) as requests, sum((input_tokens + output_tokens) / sample_rate) as tokens
            from read_parquet($r, hive_partitioning = true)
            group by all
        ),
        d as (
            select m.family, p.date, sum(p.requests) as requests, sum(p.tokens) as tokens
            from per_model p join read_parquet($m) m using (model)
            group by all
        ),
        p as (
            select family, strftime(date, '%Y') || 'Q' || quarter(date) as period, sum(requests) as requests, sum(tokens) as tokens
            from d group by all
            union all
            select family, strftime(date, '%Y-%m') as period, sum(requests), sum(tokens) from d group by all
        )
        select period, family, requests, tokens,
               requests / sum(requests) over (partition by period), tokens / sum(tokens) over (partition by period)
        from p
        """,
        {"r": parquet_glob(staging_dir(root, "requests")), "m": parquet_glob(staging_dir(root, "models"))},
    ).fetchall()
    return {"rows": len(rows)}


def demand_scan_floor(root: Path, _unused: Path) -> dict:
    """The request scans every demand mart needs, as bare DuckDB statements into temporary tables:
    weighted requests and tokens per day, model and provider, and the weighted token-count
    distributions per month and application (exact input and output counts, 2-D log2 bins).
    Nothing downstream of the scans (shares, bootstrap, quantiles, inertia, supply): the least
    work that reads what all the marts are computed from."""
    import duckdb

    from pipeline.lib.duck import parquet_glob
    from pipeline.paths import staging_dir

    con = duckdb.connect()
    r = parquet_glob(staging_dir(root, "requests"))
    con.execute(
        """
        create temp table daily as
        select date, model, provider, sum(1.0 / sample_rate) as requests, sum((input_tokens + output_tokens) / sample_rate) as tokens
        from read_parquet($r, hive_partitioning = true)
        group by all
        """,
        {"r": r},
    )
    con.execute(
        """
        create temp table token_counts as
        select date_trunc('month', date) as month, application, input_tokens, output_tokens, input_bin, output_bin, sum(w) as weight
        from (
            select date, application, input_tokens, output_tokens, 1.0 / sample_rate as w,
                   case when input_tokens = 0 then -1 else cast(floor(log2(input_tokens)) as integer) end as input_bin,
                   case when output_tokens = 0 then -1 else cast(floor(log2(output_tokens)) as integer) end as output_bin
            from read_parquet($r, hive_partitioning = true)
        )
        group by grouping sets ((month, application, input_tokens), (month, application, output_tokens),
                                (month, application, input_bin, output_bin))
        """,
        {"r": r},
    )
    return {
        "rows": con.execute("select (select count(*) from daily) + (select count(*) from token_counts)").fetchone()[0]
    }


def family_shares(root: Path, _unused: Path) -> dict:
    """The pipeline's path to the same table: core_demand__daily, then family_demand."""
    from pipeline.lib import demand as d

    d.build_demand_daily(root)
    return {"rows": d.build_family_demand(root).height}


def demand(root: Path, _unused: Path) -> dict:
    from pipeline.lib import demand as d

    d.build_demand_daily(root)
    d.build_family_demand(root)
    d.build_concentration(root)
    d.build_tokens_daily(root)
    d.build_task_regimes(root)
    d.build_version_inertia(root)
    d.build_supply_use(root)
    return {"rows": 0}


def service_floor(root: Path, _unused: Path) -> dict:
    """One DuckDB quantile query over the staged probes: the latency percentiles of
    marts.service_objects (TTFT p50/p90/p99, decode p50/p90, end-to-end p50) per provider x
    model for the quarter and each month, nothing else."""
    import duckdb

    from pipeline.lib.duck import parquet_glob
    from pipeline.paths import staging_dir

    rows = (
        duckdb.connect()
        .execute(
            """
        select coalesce(q, m) as period, provider, model,
               quantile_cont(ttft_ms, [0.5, 0.9, 0.99]), quantile_cont(decode_tps, [0.5, 0.9]), quantile_cont(e2e_tps, 0.5)
        from (select *, strftime(date, '%Y') || 'Q' || quarter(date) as q, strftime(date, '%Y-%m') as m
              from read_parquet($p, hive_partitioning = true))
        group by grouping sets ((q, provider, model), (m, provider, model))
        """,
            {"p": parquet_glob(staging_dir(root, "latency_probes"))},
        )
        .fetchall()
    )
    return {"rows": len(rows)}


def service(root: Path, _unused: Path) -> dict:
    from pipeline.lib import service as s
    from pipeline.lib import verification as v

    s.build_requests_hourly(root)
    s.build_service_timeseries(root)
    s.build_service_objects(root)
    s.build_service_diurnal(root)
    s.build_error_matrix(root)
    s.build_provider_dispersion(root)
    v.build_vendor_verification(root)
    v.build_context_limit_behaviour(root)
    s.build_service_pareto(root)
    return {"rows": 0}


def routing_floor(root: Path, _unused: Path) -> dict:
    """The least work that reads what the replay reads, as bare DuckDB queries: the staged
    requests' routing columns (model, ts, sample_rate, the three token counts, the three flags)
    grouped by model and hour bucket with the weighted sums the replay keeps per group, and the
    staged probes' availability, median throughput and TTFT per model, provider and hour (the
    replay's core_routing__buckets). Reported apart (`requests_s`, `probes_s`) and together."""
    import duckdb

    from pipeline.lib.duck import parquet_glob
    from pipeline.paths import staging_dir

    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    started = time.perf_counter()
    groups = con.execute(
        """
        select count(*) from (
            select model, time_bucket(interval 60 minute, ts) as bucket, count(*) as requests, sum(1.0 / sample_rate) as w,
                   sum((input_tokens - least(coalesce(cached_input_tokens, 0), input_tokens)) / sample_rate) as wu,
                   sum(least(coalesce(cached_input_tokens, 0), input_tokens) / sample_rate) as wc,
                   sum(output_tokens / sample_rate) as wo,
                   count(*) filter (where tools), count(*) filter (where json_mode), count(*) filter (where stream)
            from read_parquet($r, hive_partitioning = true)
            group by all
        )
        """,
        {"r": parquet_glob(staging_dir(root, "requests"))},
    ).fetchone()[0]
    requests_s = time.perf_counter() - started
    started = time.perf_counter()
    buckets = con.execute(
        """
        select count(*) from (
            select model, provider, time_bucket(interval 60 minute, ts) as bucket, avg((status = 'ok')::double),
                   quantile_cont(decode_tps, 0.5), quantile_cont(ttft_ms, [0.5, 0.9])
            from read_parquet($p, hive_partitioning = true)
            group by all
        )
        """,
        {"p": parquet_glob(staging_dir(root, "latency_probes"))},
    ).fetchone()[0]
    probes_s = time.perf_counter() - started
    return {"rows": groups + buckets, "requests_s": requests_s, "probes_s": probes_s}


def routing(root: Path, _unused: Path) -> dict:
    """Every policy replayed on every request (issue 13: grouped), the per-day partials and both
    marts, as the asset and `make run` build them."""
    from pipeline.lib.routing import build_routing

    cf, _ = build_routing(root)
    return {"rows": cf.height}


if __name__ == "__main__":
    step, a, b = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    # "seconds" is the work after the libraries are loaded: the process wall time run_bench
    # measures also holds interpreter start and imports (~0.6 s with polars), the same for
    # every step whatever its data size.
    import duckdb  # noqa: F401
    import numpy  # noqa: F401
    import polars  # noqa: F401
    import pyarrow  # noqa: F401  (polars and DuckDB load it lazily on first .pl())

    import pipeline.lib.demand
    import pipeline.lib.ingest
    import pipeline.lib.routing
    import pipeline.lib.service  # noqa: F401

    started = time.perf_counter()
    steps = {
        "floor": floor,
        "ingest": ingest,
        "demand_floor": demand_floor,
        "demand_scan_floor": demand_scan_floor,
        "family_shares": family_shares,
        "demand": demand,
        "service_floor": service_floor,
        "service": service,
        "routing_floor": routing_floor,
        "routing": routing,
    }
    out = steps[step](a, b)
    out["seconds"] = time.perf_counter() - started
    print(json.dumps(out))
