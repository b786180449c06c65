"""Resources: where the drop and the warehouse are. Both come from configuration (run
config in the UI or the CLI's --raw/--warehouse), defaulting to SERVICELENS_RAW_DIR /
SERVICELENS_WAREHOUSE and then to data/raw and data/warehouse.duckdb."""


import os
from pathlib import Path

import dagster as dg
from dagster_duckdb import DuckDBResource

from pipeline.paths import DEFAULT_RAW_DIR, DEFAULT_WAREHOUSE, parquet_root


class ServicelensPaths(dg.ConfigurableResource):
    """The raw drop folder, the warehouse file, and DuckDB's memory cap per asset."""

    raw_dir: str = str(DEFAULT_RAW_DIR)
    warehouse: str = str(DEFAULT_WAREHOUSE)
    memory_limit: str = "3GB"

    @property
    def raw(self) -> Path:
        return Path(self.raw_dir)

    @property
    def warehouse_file(self) -> Path:
        return Path(self.warehouse)

    @property
    def root(self) -> Path:
        """Parquet beside the warehouse file: the system of record."""
        return parquet_root(Path(self.warehouse))


def default_paths() -> ServicelensPaths:
    return ServicelensPaths(
        raw_dir=os.environ.get("SERVICELENS_RAW_DIR", str(DEFAULT_RAW_DIR)),
        warehouse=os.environ.get("SERVICELENS_WAREHOUSE", str(DEFAULT_WAREHOUSE)),
    )


@dg.definitions
def resources() -> dg.Definitions:
    paths = default_paths()
    return dg.Definitions(
        resources={
            "paths": paths,
            # For reading the published warehouse (checks, later marts); the file itself is
            # written only by the `warehouse` asset, via a temporary file and a rename.
            "duckdb": DuckDBResource(database=paths.warehouse, connection_config={"access_mode": "READ_ONLY"}),
        }
    )
