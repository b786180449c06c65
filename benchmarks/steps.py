"""The measured steps, each run in its own process by run_bench (so peak RSS is per step).

    python -m benchmarks.steps floor  RAW DB     # bare DuckDB: read every file of the drop into tables
    python -m benchmarks.steps ingest RAW ROOT   # servicelens staging of every dataset (no Dagster)
    python -m benchmarks.steps demand_floor ROOT -      # one hand-written query: family shares over staged requests
    python -m benchmarks.steps demand ROOT -            # every demand mart (issue 3) from the staged data
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
    """The least work that answers the central demand question: family shares of the
    weighted requests, straight from the staged Parquet."""
    import duckdb

    from pipeline.lib.ingest import parquet_glob
    from pipeline.paths import staging_dir

    con = duckdb.connect()
    rows = con.execute(
        "select m.family, sum(1.0 / r.sample_rate) / sum(sum(1.0 / r.sample_rate)) over () as share "
        "from read_parquet($r, hive_partitioning = true) r join read_parquet($m) m using (model) group by all",
        {"r": parquet_glob(staging_dir(root, "requests")), "m": parquet_glob(staging_dir(root, "models"))},
    ).fetchall()
    return {"rows": len(rows)}


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


if __name__ == "__main__":
    step, a, b = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    started = time.perf_counter()
    out = {"floor": floor, "ingest": ingest, "demand_floor": demand_floor, "demand": demand}[step](a, b)
    out["seconds"] = time.perf_counter() - started
    print(json.dumps(out))
