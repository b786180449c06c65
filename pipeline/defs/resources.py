"""Resources: where the drop and the warehouse are. Both come from configuration (run
config in the UI or the CLI's --raw/--warehouse), defaulting to SERVICELENS_RAW_DIR /
SERVICELENS_WAREHOUSE and then to data/raw and data/warehouse.duckdb; how many published
generations to keep from SERVICELENS_KEEP_GENERATIONS (default 3)."""

import os
from pathlib import Path

import dagster as dg
from dagster_duckdb import DuckDBResource

from pipeline.lib.cli_checks import glob_problem
from pipeline.lib.generations import DEFAULT_KEEP, Store
from pipeline.lib.plan import parse_day_spans
from pipeline.paths import DEFAULT_RAW_DIR, DEFAULT_WAREHOUSE


class ServicelensPaths(dg.ConfigurableResource):
    """The raw drop folder, the warehouse file, DuckDB's memory cap per asset, and how many
    published generations of the warehouse to keep for comparison and rollback."""

    raw_dir: str = str(DEFAULT_RAW_DIR)
    warehouse: str = str(DEFAULT_WAREHOUSE)
    memory_limit: str = "3GB"
    keep_generations: int = DEFAULT_KEEP
    # The days a run builds within its partition range ("2025-10-10,2025-12-01..2025-12-03"):
    # Dagster runs a contiguous range, a plan's days may be scattered over it. Empty: every
    # day of the range (a backfill from the UI).
    build_days: str = ""
    # Days whose only change is new request files repeating rows already loaded: their new rows
    # are counted (audit, quarantine), nothing of them is rebuilt (pipeline/lib/plan.py).
    recount_days: str = ""

    def days_to_build(self, partition_keys) -> list[str]:
        """The run's days: its partition keys, less those outside `build_days` when set."""
        keys = list(partition_keys)
        if not self.build_days:
            return keys
        wanted = parse_day_spans(self.build_days)
        return [k for k in keys if k in wanted]

    def days_to_recount(self) -> list[str]:
        """Not bound to the run's range: a range stretched over scattered days costs Dagster a
        materialization per partition and asset, while a recount costs only its new rows."""
        return sorted(parse_day_spans(self.recount_days))

    @property
    def raw(self) -> Path:
        return _plain(Path(self.raw_dir), "raw_dir")

    @property
    def warehouse_file(self) -> Path:
        return _plain(Path(self.warehouse), "warehouse")

    @property
    def store(self) -> Store:
        """The warehouse's generations (pipeline/lib/generations/)."""
        return Store(self.warehouse_file)

    @property
    def root(self) -> Path:
        """The working Parquet every asset reads and writes. Readers never see it: they see
        the published generation, a snapshot of it taken once a whole run has succeeded."""
        return self.store.work


def _plain(path: Path, field: str) -> Path:
    """`path`, or a clear failure for a path the record cannot be read under (a run from the UI
    with such a path would otherwise fail in whichever step first globs it)."""
    problem = glob_problem(path, f"the paths resource's {field}")
    if problem:
        raise dg.Failure(description=problem)
    return path


def default_paths() -> ServicelensPaths:
    return ServicelensPaths(
        raw_dir=os.environ.get("SERVICELENS_RAW_DIR", str(DEFAULT_RAW_DIR)),
        warehouse=os.environ.get("SERVICELENS_WAREHOUSE", str(DEFAULT_WAREHOUSE)),
        keep_generations=int(os.environ.get("SERVICELENS_KEEP_GENERATIONS", DEFAULT_KEEP)),
    )


@dg.definitions
def resources() -> dg.Definitions:
    paths = default_paths()
    return dg.Definitions(
        resources={
            "paths": paths,
            # For reading the published warehouse from the UI or a notebook; the pipeline's own
            # assets never open it (the `warehouse` asset writes a new generation's file).
            "duckdb": DuckDBResource(database=paths.warehouse, connection_config={"access_mode": "READ_ONLY"}),
        }
    )
