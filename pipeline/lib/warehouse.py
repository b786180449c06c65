"""Publishing: marts built from staged Parquet, and the one DuckDB file analysts open.

The DuckDB file holds real tables (not views over Parquet), so it opens anywhere and a
copy of it is a complete snapshot. It is written beside the live file and renamed over
it only when complete: a run that dies midway leaves the previous warehouse intact.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

from pipeline.lib.contract import DATASETS
from pipeline.lib.ingest import connect, lit, parquet_glob
from pipeline.lib.parquet_io import sql_to_parquet
from pipeline.paths import ingest_dir, marts_file, staging_dir

INGEST_MARTS = ("ingest_audit", "quarantine")


def build_ingest_mart(root: Path, table: str) -> int:
    """Union the per-dataset audit or quarantine files into marts/<table>.parquet; returns rows."""
    part = "audit" if table == "ingest_audit" else "quarantine"
    files = [str(ingest_dir(root, d) / f"{part}.parquet") for d in DATASETS]
    files = [f for f in files if Path(f).exists()]
    if not files:
        raise FileNotFoundError(f"no staged datasets under {root}: run the staging assets first")
    return sql_to_parquet(f"marts/{table}", {"files": files}, marts_file(root, table)).height


def publish_warehouse(root: Path, warehouse: Path) -> dict[str, int]:
    """Write every staged table (schema `staging`) and every mart (schema `marts`) into a
    fresh DuckDB file and atomically replace `warehouse` with it. Returns rows per table."""
    warehouse = Path(warehouse)
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    tmp = warehouse.with_name(f".{warehouse.name}.{uuid.uuid4().hex[:8]}.tmp")
    counts: dict[str, int] = {}
    con = connect(Path(root) / ".tmp" / "duckdb")
    try:
        con.execute(f"attach {lit(str(tmp))} as wh")  # ATTACH takes no parameters
        con.execute("create schema wh.staging")
        con.execute("create schema wh.marts")
        for name in DATASETS:
            glob = parquet_glob(staging_dir(root, name))
            if glob is None:
                continue
            con.execute(
                f"create table wh.staging.{name} as select * from read_parquet($g, hive_partitioning = true, union_by_name = true)",
                {"g": glob},
            )
            counts[f"staging.{name}"] = con.execute(f"select count(*) from wh.staging.{name}").fetchone()[0]
        for mart in sorted((Path(root) / "marts").glob("*.parquet")):
            name = mart.stem
            con.execute(f"create table wh.marts.{name} as select * from read_parquet($p)", {"p": str(mart)})
            counts[f"marts.{name}"] = con.execute(f"select count(*) from wh.marts.{name}").fetchone()[0]
        con.execute("detach wh")
    except BaseException:
        con.close()
        tmp.unlink(missing_ok=True)
        raise
    con.close()
    os.replace(tmp, warehouse)
    return counts
