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


def core_dir(root: Path, name: str) -> Path:
    """core/<name>/: a day-partitioned core aggregate (day=YYYY-MM-DD/ folders, or data.parquet
    holding only the columns when no day has rows)."""
    return Path(root) / "core" / name


def core_glob(root: Path, name: str) -> str:
    """The files of a day-partitioned core aggregate, for read_parquet."""
    d = core_dir(root, name)
    return str(d / "data.parquet") if (d / "data.parquet").exists() else str(d / "day=*" / "*.parquet")


def staged_day_files(root: Path, dataset: str, days) -> list[str]:
    """The staged Parquet files of a time-series dataset on `days` (YYYY-MM-DD strings)."""
    base = staging_dir(root, dataset)
    return [str(p) for d in sorted(days) for p in sorted((base / f"date={d}").glob("*.parquet"))]


def staged_days(root: Path, dataset: str) -> list[str]:
    """The days a time-series dataset has staged rows on."""
    base = staging_dir(root, dataset)
    return sorted(p.name.removeprefix("date=") for p in base.glob("date=*") if any(p.glob("*.parquet")))
