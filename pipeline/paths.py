"""Where things live. The only module that knows the on-disk layout.

    <raw>/                          a contract drop (input, never written)
    <warehouse>.duckdb              the published DuckDB file (replaced atomically)
    <warehouse>/                    Parquet beside it, the system of record:
        staging/<dataset>/date=YYYY-MM-DD/*.parquet   (or data.parquet for dimensions)
        ingest/<dataset>/{audit,quarantine}.parquet   per-dataset row accounting
        marts/<table>.parquet
"""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
SQL_DIR = REPO_ROOT / "sql"
DATA_DIR = REPO_ROOT / "data"
DEFAULT_RAW_DIR = DATA_DIR / "raw"
DEFAULT_WAREHOUSE = DATA_DIR / "warehouse.duckdb"


def parquet_root(warehouse: Path) -> Path:
    """The Parquet folder that sits beside a warehouse file: data/warehouse.duckdb -> data/warehouse/."""
    warehouse = Path(warehouse)
    return warehouse.with_suffix("") if warehouse.suffix else warehouse.with_name(warehouse.name + "_parquet")


def staging_dir(root: Path, dataset: str) -> Path:
    return Path(root) / "staging" / dataset


def ingest_dir(root: Path, dataset: str) -> Path:
    return Path(root) / "ingest" / dataset


def core_file(root: Path, name: str) -> Path:
    """core/<name>.parquet: the pipeline's own intermediate aggregates (not published)."""
    return Path(root) / "core" / f"{name}.parquet"


def marts_file(root: Path, table: str) -> Path:
    return Path(root) / "marts" / f"{table}.parquet"
