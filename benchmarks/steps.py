"""The measured steps, each run in its own process by run_bench (so peak RSS is per step).

    python -m benchmarks.steps floor  RAW DB     # bare DuckDB: read every file of the drop into tables
    python -m benchmarks.steps ingest RAW ROOT   # servicelens staging of every dataset (no Dagster)
    python -m benchmarks.steps demand_floor ROOT -      # one hand-written query: marts.family_demand's content
    python -m benchmarks.steps family_shares ROOT -     # the pipeline's path to it (core_demand__daily + family_demand)
    python -m benchmarks.steps demand ROOT -            # every demand mart (issue 3) from the staged data
    python -m benchmarks.steps service_floor ROOT -     # one DuckDB quantile query over the staged probes
    python -m benchmarks.steps service ROOT -           # every service-object mart (issue 4)
    python -m benchmarks.steps routing_floor ROOT -     # one DuckDB as-of join of the requests to their prices
    python -m benchmarks.steps routing ROOT -           # every policy replayed on every request (issue 5)
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
        for fmt, reader in (("parquet", "read_parquet(?, union_by_name = true)"),
                            ("csv", "read_csv(?, union_by_name = true, all_varchar = true, ignore_errors = true)"),
                            ("jsonl", "read_json(?, format = 'newline_delimited', ignore_errors = true)")):
            paths = [str(f.path) for f in files if f.fmt == fmt]
            if paths:
                table = f"{name}_{fmt}"
                con.execute(f"create table {table} as select * from {reader}", [paths])
                rows += con.execute(f"select count(*) from {table}").fetchone()[0]
    con.close()
    return {"rows": rows}


def ingest(raw: Path, root: Path) -> dict:
    from pipeline.lib.contract import DATASETS
    from pipeline.lib.ingest import stage_dataset

    read = 0
    for spec in DATASETS.values():
        read += stage_dataset(spec, raw, root).rows_read
    return {"rows": read}


def demand_floor(root: Path, _unused: Path) -> dict:
    """One hand-written query computing the same family shares as marts.family_demand
    (quarters and months, weighted requests and tokens, shares) straight from the staged Parquet.
    It aggregates per family and day first and rolls days up to periods: the fastest single
    query found (a union of two period aggregations over the raw rows took 4x longer)."""
    import duckdb

    from pipeline.lib.ingest import parquet_glob
    from pipeline.paths import staging_dir

    con = duckdb.connect()
    rows = con.execute(
        """
        with d as (
            select m.family, r.date, sum(1.0 / r.sample_rate) as requests,
                   sum((r.input_tokens + r.output_tokens) / r.sample_rate) as tokens
            from read_parquet($r, hive_partitioning = true) r join read_parquet($m) m using (model)
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
    d.build_tokens_monthly(root)
    d.build_task_regimes(root)
    d.build_version_inertia(root)
    d.build_supply_use(root)
    return {"rows": 0}


def service_floor(root: Path, _unused: Path) -> dict:
    """One DuckDB quantile query over the staged probes: the latency percentiles of
    marts.service_objects (TTFT p50/p90/p99, decode p50/p90, end-to-end p50) per provider x
    model for the quarter and each month, nothing else."""
    import duckdb

    from pipeline.lib.ingest import parquet_glob
    from pipeline.paths import staging_dir

    rows = duckdb.connect().execute(
        """
        select coalesce(q, m) as period, provider, model,
               quantile_cont(ttft_ms, [0.5, 0.9, 0.99]), quantile_cont(decode_tps, [0.5, 0.9]), quantile_cont(e2e_tps, 0.5)
        from (select *, strftime(date, '%Y') || 'Q' || quarter(date) as q, strftime(date, '%Y-%m') as m
              from read_parquet($p, hive_partitioning = true))
        group by grouping sets ((q, provider, model), (m, provider, model))
        """,
        {"p": parquet_glob(staging_dir(root, "latency_probes"))},
    ).fetchall()
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
    """One DuckDB as-of join of the same staged requests to the official provider's price in
    force at each request, summed: the least work that costs the traffic once."""
    import duckdb

    from pipeline.lib.ingest import parquet_glob
    from pipeline.paths import staging_dir

    total = duckdb.connect().execute(
        """
        select sum((r.input_tokens * p.input_usd_per_mtok + r.output_tokens * p.output_usd_per_mtok) / 1e6 / r.sample_rate)
        from read_parquet($r, hive_partitioning = true) r
        join read_parquet($m) m using (model)
        asof join read_parquet($p, hive_partitioning = true) p
            on p.provider = m.official_provider and p.model = r.model and r.ts >= p.snapshot_ts
        """,
        {"r": parquet_glob(staging_dir(root, "requests")), "m": parquet_glob(staging_dir(root, "models")),
         "p": parquet_glob(staging_dir(root, "prices"))},
    ).fetchone()[0]
    return {"rows": 1, "total_cost_usd": total}


def routing(root: Path, _unused: Path) -> dict:
    from pipeline.lib.routing import build_routing

    cf, _ = build_routing(root)
    return {"rows": cf.height}


if __name__ == "__main__":
    step, a, b = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    started = time.perf_counter()
    steps = {"floor": floor, "ingest": ingest, "demand_floor": demand_floor, "family_shares": family_shares, "demand": demand,
             "service_floor": service_floor, "service": service, "routing_floor": routing_floor, "routing": routing}
    out = steps[step](a, b)
    out["seconds"] = time.perf_counter() - started
    print(json.dumps(out))
