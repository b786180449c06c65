"""The warehouse file: marts built from staged Parquet, and the one DuckDB file analysts open.

The DuckDB file holds real tables (not views over Parquet), so it opens anywhere and a
copy of it is a complete snapshot; the one exception is the per-request routing record
(requests x policies), a view reading its Parquet folder in place. The file is written into
a new generation (pipeline/lib/generations/), which readers see only once the whole run,
report included, has succeeded.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from pipeline.lib.contract import DATASETS
from pipeline.lib.duck import connect, lit
from pipeline.lib.parquet_io import replacing, sql_to_parquet
from pipeline.lib.parse_cache import TS_DATASETS
from pipeline.lib.record_sources import local_record_sources
from pipeline.lib.registry import comment_statements
from pipeline.paths import SQL_DIR, ingest_dir, marts_file
from pipeline.sql import load_sql

INGEST_MARTS = ("ingest_audit", "quarantine")


def build_ingest_mart(root: Path, table: str) -> int:
    """Union the per-dataset audit or quarantine files into marts/<table>.parquet; returns rows."""
    part = "audit" if table == "ingest_audit" else "quarantine"
    files = [str(ingest_dir(root, d) / f"{part}.parquet") for d in DATASETS]
    files = [f for f in files if Path(f).exists()]
    if not files:
        raise FileNotFoundError(f"no staged datasets under {root}: run the staging assets first")
    return sql_to_parquet(f"marts/{table}", {"files": files}, marts_file(root, table)).height


def write_warehouse_file(root: Path, db: Path, scratch: Path | None = None) -> dict[str, int]:
    """Write every staged table (schema `staging`) and every mart (schema `marts`) of the
    Parquet record at `root` into a new DuckDB file `db` (written beside it and renamed into
    place). Views over Parquet read `root` by its absolute path: `root` is a generation's own
    folder, which never changes, so an old warehouse file never shows a newer run's rows.
    Returns rows per table."""
    counts: dict[str, int] = {}
    root = Path(root).resolve()
    with replacing(Path(db)) as tmp:
        con = connect(Path(scratch or root.parent / ".duckdb_tmp"))
        try:
            con.execute(f"attach {lit(str(tmp))} as wh")  # ATTACH takes no parameters
            # one transaction: a commit per statement (a thousand, with the comments) cost ~1 s
            con.execute("begin transaction")
            con.execute("create schema wh.staging")
            con.execute("create schema wh.marts")
            # the dimensions are copied in; the time series (10^8 rows a quarter) are views over the
            # generation's own day-partitioned Parquet, so writing the file costs the same every day
            sources = local_record_sources(root)
            for name, glob in sources.staged.items():
                if name in TS_DATASETS:
                    con.execute(
                        f"create view wh.staging.{name} as select * from read_parquet({lit(glob)}, hive_partitioning = true, union_by_name = true)"
                    )
                else:
                    con.execute(
                        f"create table wh.staging.{name} as select * from read_parquet($s, hive_partitioning = true, union_by_name = true)",
                        {"s": glob},
                    )
                counts[f"staging.{name}"] = con.execute(f"select count(*) from wh.staging.{name}").fetchone()[0]
            for name, path in sources.mart_files.items():
                con.execute(
                    f"create table wh.marts.{name} as select * from read_parquet($s, hive_partitioning = false, union_by_name = true)",
                    {"s": path},
                )
                counts[f"marts.{name}"] = con.execute(f"select count(*) from wh.marts.{name}").fetchone()[0]
            # per-request tables (routing_decisions: requests x policies) stay in Parquet, too big
            # to copy into the file: a view reads them in place (CREATE VIEW takes no parameters)
            for name, glob in sources.mart_folders.items():
                con.execute(
                    f"create view wh.marts.{name} as select * from read_parquet({lit(glob)}, hive_partitioning = true)"
                )
                counts[f"marts.{name}"] = con.execute(f"select count(*) from wh.marts.{name}").fetchone()[0]
            # views over the marts (sql/views/<name>.sql), where the marts they read are present
            con.execute("use wh")
            for view in sorted(SQL_DIR.joinpath("views").glob("*.sql")):
                try:
                    con.execute(f"create view marts.{view.stem} as {load_sql('views/' + view.stem)}")
                except duckdb.CatalogException:
                    continue  # its source mart is not in this warehouse
            # every table, view and column says what it is (pipeline/registry/)
            for statement in comment_statements(con):
                con.execute(statement)
            con.execute("commit")
            con.execute("use memory")
            con.execute("detach wh")
        finally:
            con.close()
    return counts
