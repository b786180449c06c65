"""Demand marts (issue 3): rebuilt from staged requests, never re-ingesting."""

import dagster as dg
import polars as pl

from pipeline.defs.partitions import partitioned
from pipeline.defs.resources import ServicelensPaths
from pipeline.defs.schemas import described, table_asset, table_specs
from pipeline.defs.thumbnails import bars, name, number, safe_metadata
from pipeline.lib.demand import (
    build_concentration,
    build_demand_daily,
    build_family_demand,
    build_supply_use,
    build_task_regimes,
    build_tokens_daily,
    build_version_inertia,
)
from pipeline.paths import core_dir, marts_file

SHARES_SUM_TO_ONE = "shares_sum_to_one"


def _pct(share: float | None) -> float | None:
    return None if share is None else 100 * share


def _round(x: float | None, digits: int) -> float | None:
    """x rounded, None (null metadata) when missing or not finite."""
    import math

    return round(x, digits) if x is not None and math.isfinite(x) else None


@table_asset("core_demand__daily", **partitioned())
def core_demand__daily(context: dg.AssetExecutionContext, paths: ServicelensPaths) -> dg.MaterializeResult:
    """One row per date x family x model x provider: sample-weighted requests and tokens
    (input + output), one partition per UTC day. The base of every demand mart."""
    days = paths.days_to_build(context.partition_keys)
    n = build_demand_daily(paths.root, days) if days else 0
    return dg.MaterializeResult(
        metadata={"rows written": n, "path": dg.MetadataValue.path(str(core_dir(paths.root, "core_demand__daily")))}
    )


@table_asset(
    "family_demand",
    check_specs=[
        dg.AssetCheckSpec(
            SHARES_SUM_TO_ONE, asset="family_demand", description="request and token shares sum to 1 in every period"
        )
    ],
)
def family_demand(paths: ServicelensPaths) -> dg.MaterializeResult:
    """One row per period x family (quarters and months): weighted requests and tokens,
    their shares of the period, and the rank by requests."""
    df = build_family_demand(paths.root)
    sums = df.group_by("period").agg(pl.col("request_share").sum(), pl.col("token_share").sum())
    worst = (
        float(max((sums["request_share"] - 1).abs().max(), (sums["token_share"] - 1).abs().max())) if df.height else 0.0
    )
    quarter = df.filter(pl.col("period_type") == "quarter").sort("rank")
    top = {
        f"top family {r['period']}": f"{name(r['family'])} {number(_pct(r['request_share']), '.1f')} %"
        for r in quarter.filter(pl.col("rank") == 1).iter_rows(named=True)
    }
    return dg.MaterializeResult(
        metadata=safe_metadata(
            {
                "dagster/row_count": df.height,
                **top,
                "path": dg.MetadataValue.path(str(marts_file(paths.root, "family_demand"))),
                **bars(quarter, "family", "request_share", "request share by family", latest="period"),
            }
        ),
        check_results=[
            dg.AssetCheckResult(check_name=SHARES_SUM_TO_ONE, passed=worst < 1e-9, metadata={"max_deviation": worst})
        ],
    )


@dg.multi_asset(group_name="marts", specs=table_specs("concentration", "concentration_lorenz"))
def concentration_marts(paths: ServicelensPaths):
    conc, curve = build_concentration(paths.root)
    q = conc.filter(
        (pl.col("period_type") == "quarter") & (pl.col("level") == "family") & (pl.col("measure") == "requests")
    )
    figures = {}
    for r in q.iter_rows(named=True):
        figures |= {
            f"{r['period']} family top-1": _round(r["top1_share"], 4),
            f"{r['period']} family top-5": f"{number(r['top5_share'], '.3f')} [{number(r['top5_ci_low'], '.3f')}, {number(r['top5_ci_high'], '.3f')}]",
            f"{r['period']} family Gini": f"{number(r['gini'], '.3f')} [{number(r['gini_ci_low'], '.3f')}, {number(r['gini_ci_high'], '.3f')}]",
            f"{r['period']} family HHI": _round(r["hhi"], 4),
        }
    yield dg.MaterializeResult(
        asset_key="concentration", metadata=safe_metadata({"dagster/row_count": conc.height, **figures})
    )
    yield dg.MaterializeResult(asset_key="concentration_lorenz", metadata={"dagster/row_count": curve.height})


@table_asset("core_tokens__daily", **partitioned())
def core_tokens__daily(context: dg.AssetExecutionContext, paths: ServicelensPaths) -> dg.MaterializeResult:
    """One row per day x application x side (input/output) x token count, plus the joint
    log2-binned (input, output) counts: the summed weight 1 / sample_rate, one partition per UTC
    day. A distinct-value count table: months and quarters are its sums, so the token quantiles
    and the 2-D histogram stay exact without reading the requests again."""
    days = paths.days_to_build(context.partition_keys)
    n = build_tokens_daily(paths.root, days) if days else 0
    return dg.MaterializeResult(metadata={"rows written": n})


@dg.multi_asset(group_name="marts", specs=table_specs("task_regimes", "task_regimes_histogram"))
def task_regime_marts(paths: ServicelensPaths):
    regimes, n_hist = build_task_regimes(paths.root)
    quarter = regimes.filter(pl.col("period_type") == "quarter")
    figures = {
        f"{r['period']} {name(r['application'])}": f"{r['regime']}: input p50 {number(r['input_p50'], ',')}, output p50 {number(r['output_p50'], ',')}, "
        f"output share {number(r['output_share'], '.2f')}"
        for r in quarter.iter_rows(named=True)
    }
    yield dg.MaterializeResult(
        asset_key="task_regimes", metadata=safe_metadata({"dagster/row_count": regimes.height, **figures})
    )
    yield dg.MaterializeResult(asset_key="task_regimes_histogram", metadata={"dagster/row_count": n_hist})


@dg.multi_asset(group_name="marts", specs=table_specs("version_inertia", "version_inertia_summary"))
def version_inertia_marts(paths: ServicelensPaths):
    inertia, summary = build_version_inertia(paths.root)
    pairs = (
        inertia.select("old_model", "new_model", "release_date", "pre_release_old_share", "half_life_days")
        .unique()
        .sort("release_date")
    )

    def said(r: dict) -> str:
        if r["pre_release_old_share"] is None:
            return "no pre-release days in the data: shares only, no half-life"
        return "no half-life in the data" if r["half_life_days"] is None else f"half-life {r['half_life_days']} d"

    figures = {
        f"{name(r['old_model'])} -> {name(r['new_model'])} ({r['release_date']})": said(r)
        for r in pairs.iter_rows(named=True)
    }
    yield dg.MaterializeResult(
        asset_key="version_inertia", metadata=safe_metadata({"dagster/row_count": inertia.height, **figures})
    )
    top = summary.sort("superseded_share_last_7_days", descending=True).head(3)
    yield dg.MaterializeResult(
        asset_key="version_inertia_summary",
        metadata=safe_metadata(
            {
                "dagster/row_count": summary.height,
                **{
                    f"{r['period']} {name(r['family'])} still on superseded": f"{number(_pct(r['superseded_share_last_7_days']), '.1f')} %"
                    for r in top.iter_rows(named=True)
                },
            }
        ),
    )


@dg.multi_asset(group_name="marts", specs=table_specs("supply_use", "supply_use_summary"))
def supply_use_marts(paths: ServicelensPaths):
    supply, summary = build_supply_use(paths.root)
    figures = {
        f"{r['period']} breadth vs adoption rho": (
            f"{number(r['spearman_rho'])} [{number(r['rho_ci_low'])}, {number(r['rho_ci_high'])}] "
            f"over {r['n_models']} models"
        )
        for r in summary.filter(pl.col("period_type") == "quarter").iter_rows(named=True)
    }
    quarters = supply.filter(pl.col("period_type") == "quarter")
    widest = {
        f"{period} widest listing": f"{name(part.row(0, named=True)['model'])}: {number(part.row(0, named=True)['listing_breadth'], '.1f')} providers"
        for (period,), part in quarters.sort("listing_breadth", descending=True).group_by(
            ["period"], maintain_order=True
        )
    }
    yield dg.MaterializeResult(
        asset_key="supply_use", metadata=safe_metadata({"dagster/row_count": supply.height, **widest})
    )
    yield dg.MaterializeResult(
        asset_key="supply_use_summary", metadata=safe_metadata({"dagster/row_count": summary.height, **figures})
    )


DEMAND_ASSETS = [
    core_demand__daily,
    family_demand,
    concentration_marts,
    core_tokens__daily,
    task_regime_marts,
    version_inertia_marts,
    supply_use_marts,
]


@dg.definitions
def demand_defs() -> dg.Definitions:
    return dg.Definitions(assets=described(DEMAND_ASSETS))
