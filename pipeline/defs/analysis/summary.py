"""Report-ready marts: one asset per mart the registry declares with `factory: sql` (built from
other marts by sql/marts/<name>.sql), and the settings of the run."""

import dagster as dg

from pipeline.defs.resources import ServicelensPaths
from pipeline.defs.schemas import described, table_asset
from pipeline.defs.thumbnails import safe_metadata
from pipeline.lib.marts.run_parameters import build_run_parameters
from pipeline.lib.parquet_io import frame_to_parquet
from pipeline.lib.registry import output
from pipeline.lib.sql_marts import build_sql_mart, sql_marts
from pipeline.paths import marts_file


def _sql_mart_asset(name: str) -> dg.AssetsDefinition:
    entry = output(name)

    @dg.asset(
        name=name,
        group_name="marts",
        deps=sorted({output(mart).asset for _, mart in entry.reads}),
        kinds={"duckdb", "parquet"},
        description=entry.description,
    )
    def _asset(paths: ServicelensPaths) -> dg.MaterializeResult:
        df = build_sql_mart(paths.root, name)
        return dg.MaterializeResult(
            metadata={"dagster/row_count": df.height, "path": dg.MetadataValue.path(str(marts_file(paths.root, name)))}
        )

    return _asset


@table_asset("run_parameters")
def run_parameters(paths: ServicelensPaths) -> dg.MaterializeResult:
    """One row per setting the run's figures were computed with (interval level, resamples,
    seeds, thresholds, the replay's bucket and availability rule)."""
    df = build_run_parameters(paths.root)
    frame_to_parquet(df, marts_file(paths.root, "run_parameters"))
    return dg.MaterializeResult(
        metadata=safe_metadata(
            {"dagster/row_count": df.height, **{r["name"]: r["value"] for r in df.iter_rows(named=True)}}
        )
    )


SUMMARY_ASSETS = [*(_sql_mart_asset(n) for n in sql_marts()), run_parameters]


@dg.definitions
def summary_defs() -> dg.Definitions:
    return dg.Definitions(assets=described(SUMMARY_ASSETS))
