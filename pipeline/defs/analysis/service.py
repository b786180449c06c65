"""Service-object marts (issue 4): prices, latency, reliability and dispersion per provider x model."""

import dagster as dg
import polars as pl

from pipeline.defs.partitions import partitioned
from pipeline.defs.resources import ServicelensPaths
from pipeline.defs.schemas import described, table_asset, table_specs
from pipeline.defs.thumbnails import bars, histogram, name, number, safe_metadata
from pipeline.lib.periods import quarter_rows
from pipeline.lib.service import (
    build_error_matrix,
    build_provider_dispersion,
    build_requests_hourly,
    build_service_changes,
    build_service_diurnal,
    build_service_metric_daily,
    build_service_objects,
    build_service_pareto,
    build_service_timeseries,
)


@table_asset("core_requests__hourly", **partitioned())
def core_requests__hourly(context: dg.AssetExecutionContext, paths: ServicelensPaths) -> dg.MaterializeResult:
    """One row per hour x provider x model: weighted requests, errors by type and class
    (client, rate limit, provider fault) and billed tokens, one partition per UTC day. The
    additive base of the service marts."""
    days = paths.days_to_build(context.partition_keys)
    return dg.MaterializeResult(
        metadata={"days built": len(days), "rows written": build_requests_hourly(paths.root, days) if days else 0}
    )


@table_asset("service_timeseries")
def service_timeseries(paths: ServicelensPaths) -> dg.MaterializeResult:
    """One row per hour x provider x model: probe success rate, TTFT p50/p90, decode and
    end-to-end throughput p50, weighted requests and error rates. The routing simulator's buckets."""
    df = build_service_timeseries(paths.root)
    figures = {}
    probed = df.filter(pl.col("probes") > 0)
    if probed.height:
        r = probed.sort("probe_success_rate").row(0, named=True)
        figures["worst hour"] = (
            f"{name(r['provider'])} / {name(r['model'])} {r['hour']:%Y-%m-%d %H:00}: {number(100 * r['probe_success_rate'], '.0f')} % of probes ok"
        )
    return dg.MaterializeResult(metadata=safe_metadata({"dagster/row_count": df.height, **figures}))


@table_asset("service_objects")
def service_objects(paths: ServicelensPaths) -> dg.MaterializeResult:
    """One row per period x provider x model: prices in force (USD, time-weighted and last, blended
    at the model's token mix), endpoint state, TTFT p50/p90/p99, decode p50/p90 and end-to-end p50
    throughput, probe success and daily uptime, request error and rate-limit rates."""
    df = build_service_objects(paths.root)
    q = quarter_rows(df).filter(pl.col("probes") > 0)
    figures = {}
    for (period,), part in q.group_by(["period"]):
        figures[f"{period} service objects probed"] = part.height
        timed = part.filter(pl.col("decode_tps_p50").is_not_null())  # null: no successful probe, or not finite
        if timed.height:
            fast, slow = (
                timed.sort("decode_tps_p50", descending=True).row(0, named=True),
                timed.sort("decode_tps_p50").row(0, named=True),
            )
            figures[f"{period} decode p50 range"] = (
                f"{number(slow['decode_tps_p50'], '.0f')} tok/s ({name(slow['provider'])} / {name(slow['model'])}) to "
                f"{number(fast['decode_tps_p50'], '.0f')} tok/s ({name(fast['provider'])} / {name(fast['model'])})"
            )
    return dg.MaterializeResult(
        metadata=safe_metadata(
            {
                "dagster/row_count": df.height,
                **figures,
                **histogram(q, "decode_tps_p50", "decode p50 per provider x model", unit="tok/s", latest="period"),
            }
        )
    )


@table_asset("service_diurnal")
def service_diurnal(paths: ServicelensPaths) -> dg.MaterializeResult:
    """One row per period x provider x model x UTC hour of day: the daily profile of TTFT,
    decode throughput and probe success."""
    return dg.MaterializeResult(metadata={"dagster/row_count": build_service_diurnal(paths.root).height})


@table_asset("error_matrix")
def error_matrix(paths: ServicelensPaths) -> dg.MaterializeResult:
    """One row per period x provider x source (requests / probes) x error type: errors,
    attempts, rate, and whether the error is held against the provider."""
    df = build_error_matrix(paths.root)
    held = (
        quarter_rows(df)
        .filter(pl.col("held_against_provider") & (pl.col("source") == "requests"))
        .group_by("period", "provider")
        .agg(pl.col("rate").sum())
        .sort("rate", descending=True)
        .head(3)
    )
    figures = {
        f"{r['period']} {name(r['provider'])} request errors held against it": f"{number(None if r['rate'] is None else 100 * r['rate'])} %"
        for r in held.iter_rows(named=True)
    }
    return dg.MaterializeResult(metadata=safe_metadata({"dagster/row_count": df.height, **figures}))


@dg.multi_asset(group_name="marts", specs=table_specs("provider_dispersion", "price_anchoring"))
def dispersion_marts(paths: ServicelensPaths):
    dispersion, anchoring = build_provider_dispersion(paths.root)
    figures = {
        f"{r['period']} {r['performance_attribute']} cv / price cv": (
            f"{number(r['dispersion_ratio'])} [{number(r['ratio_ci_low'])}, {number(r['ratio_ci_high'])}] "
            f"over {r['n_models']} models"
        )
        for r in quarter_rows(anchoring).iter_rows(named=True)
    }
    yield dg.MaterializeResult(asset_key="provider_dispersion", metadata={"dagster/row_count": dispersion.height})
    yield dg.MaterializeResult(
        asset_key="price_anchoring",
        metadata=safe_metadata(
            {
                "dagster/row_count": anchoring.height,
                **figures,
                **bars(
                    quarter_rows(anchoring),
                    "performance_attribute",
                    "dispersion_ratio",
                    "performance cv / price cv",
                    latest="period",
                    fmt=".1f",
                ),
            }
        ),
    )


@table_asset("service_metric_daily")
def service_metric_daily(paths: ServicelensPaths) -> dg.MaterializeResult:
    df = build_service_metric_daily(paths.root)
    series = df.select("provider", "model", "metric").unique().height if df.height else 0
    return dg.MaterializeResult(metadata={"dagster/row_count": df.height, "series": series})


OFFICIAL_UNCHANGED = "official_provider_unchanged"
LARGEST_SHOWN = 5  # changes named in the changelog's metadata


@table_asset(
    "service_changes",
    check_specs=[
        dg.AssetCheckSpec(
            OFFICIAL_UNCHANGED,
            asset="service_changes",
            description="warns when a model's official API changed (price, endpoint or a detected change of level): "
            "it is every comparison's baseline",
        )
    ],
)
def service_changes(paths: ServicelensPaths) -> dg.MaterializeResult:
    df = build_service_changes(paths.root)
    counts = df.group_by("metric").len().sort("len", descending=True)
    official = df.filter(pl.col("official") & (pl.col("metric") != "listing"))
    return dg.MaterializeResult(
        metadata=safe_metadata(
            {
                "dagster/row_count": df.height,
                **largest_changes(df, LARGEST_SHOWN),
                **{f"changes of {name(r['metric'])}": r["len"] for r in counts.iter_rows(named=True)},
            }
        ),
        check_results=[
            dg.AssetCheckResult(
                check_name=OFFICIAL_UNCHANGED,
                passed=official.height == 0,
                severity=dg.AssetCheckSeverity.WARN,
                metadata=safe_metadata(
                    {"official changes": official.height, **largest_changes(official, LARGEST_SHOWN)}
                ),
            )
        ],
    )


def largest_changes(df: pl.DataFrame, k: int) -> dict:
    """The k changes of the largest size (|change_pct|; exact events without one last), as
    'provider / model metric': 'date: before -> after (change)'."""
    top = (
        df.filter(pl.col("metric") != "listing")
        .with_columns(size=pl.col("change_pct").abs())
        .sort("size", descending=True, nulls_last=True)
        .head(k)
    )
    out = {}
    for r in top.iter_rows(named=True):
        before = name(r["before_text"]) if r["before_value"] is None else number(r["before_value"])
        after = name(r["after_text"]) if r["after_value"] is None else number(r["after_value"])
        pct = "" if r["change_pct"] is None else f" ({number(r['change_pct'], '+.0f')} %)"
        key = f"{r['changed_at']:%Y-%m-%d} {name(r['provider'])} / {name(r['model'])} {name(r['metric'])}"
        out[key] = f"{before} -> {after}{pct}"
    return out


@table_asset("service_pareto")
def service_pareto(paths: ServicelensPaths) -> dg.MaterializeResult:
    """One row per period x model (with two or more providers) x provider: blended price, decode
    p50, probe success rate, tool-call schema accuracy, and whether another provider dominates it."""
    df = build_service_pareto(paths.root)
    q = quarter_rows(df).filter(pl.col("dominated").is_not_null())
    figures = {
        f"{p} dominated service objects": f"{part['dominated'].sum()} of {part.height}"
        for (p,), part in q.group_by(["period"])
    }
    return dg.MaterializeResult(metadata=safe_metadata({"dagster/row_count": df.height, **figures}))


SERVICE_ASSETS = [
    core_requests__hourly,
    service_timeseries,
    service_objects,
    service_diurnal,
    error_matrix,
    dispersion_marts,
    service_pareto,
    service_metric_daily,
    service_changes,
]


@dg.definitions
def service_defs() -> dg.Definitions:
    return dg.Definitions(assets=described(SERVICE_ASSETS))
