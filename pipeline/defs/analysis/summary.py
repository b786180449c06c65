"""Report-ready marts: the headline figures with their intervals, and the settings of the run."""

import dagster as dg

from pipeline.defs.resources import ServicelensPaths
from pipeline.defs.schemas import described
from pipeline.defs.thumbnails import number, safe_metadata
from pipeline.lib.key_figures import INPUTS, build_key_figures
from pipeline.lib.parquet_io import frame_to_parquet
from pipeline.lib.run_parameters import build_run_parameters
from pipeline.paths import marts_file


@dg.asset(group_name="marts", deps=sorted(set(INPUTS.values())), kinds={"duckdb", "parquet"})
def key_figures(paths: ServicelensPaths) -> dg.MaterializeResult:
    """One row per period x figure: the report's headline numbers (demand concentration,
    half-life, price dispersion, faults, tool-call verdicts, routing totals) with their 95 %
    intervals where the source mart has one."""
    df = build_key_figures(paths.root)
    quarters = df.filter(df["period_type"] == "quarter")
    figures = {
        f"{r['period']} {r['figure']}": number(r["value"], ",.4g")
        + (f" [{number(r['ci_low'], ',.4g')}, {number(r['ci_high'], ',.4g')}]" if r["ci_low"] is not None else "")
        for r in quarters.iter_rows(named=True)
    }
    return dg.MaterializeResult(metadata=safe_metadata({"dagster/row_count": df.height, **figures}))


@dg.asset(group_name="marts", deps=["routing_sensitivity", "routing_decisions"], kinds={"parquet"})
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


SUMMARY_ASSETS = [key_figures, run_parameters]


@dg.definitions
def summary_defs() -> dg.Definitions:
    return dg.Definitions(assets=described(SUMMARY_ASSETS))
