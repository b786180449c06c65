"""Report-ready marts: one asset per mart the registry declares with `factory: sql` (built from
other marts by sql/marts/<name>.sql), all made in one step so twenty small SQL files cost one
step of orchestration, and the settings of the run."""

import dagster as dg

from pipeline.defs.resources import ServicelensPaths
from pipeline.defs.schemas import described, table_asset, table_specs
from pipeline.defs.thumbnails import safe_metadata
from pipeline.lib.marts.run_parameters import build_run_parameters
from pipeline.lib.parquet_io import frame_to_parquet
from pipeline.lib.registry import output
from pipeline.lib.sql_marts import build_sql_mart, sql_marts
from pipeline.paths import marts_file

SQL_MARTS = sql_marts()


@dg.multi_asset(
    name="report_marts",
    group_name="marts",
    specs=[spec for name in SQL_MARTS for spec in table_specs(name)],
    can_subset=True,
)
def report_marts(context: dg.AssetExecutionContext, paths: ServicelensPaths):
    """Each selected mart from its SQL file, in an order where a mart comes after those it reads."""
    selected = {k.to_user_string() for k in context.selected_asset_keys}
    for name in SQL_MARTS:
        if output(name).asset not in selected:
            continue
        df = build_sql_mart(paths.root, name)
        yield dg.MaterializeResult(
            asset_key=output(name).asset,
            metadata={"dagster/row_count": df.height, "path": dg.MetadataValue.path(str(marts_file(paths.root, name)))},
        )


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


SUMMARY_ASSETS = [report_marts, run_parameters]


@dg.definitions
def summary_defs() -> dg.Definitions:
    return dg.Definitions(assets=described(SUMMARY_ASSETS))
