"""Counterfactual routing (issue 5; issue 13 "routing at scale"): the replay of the logged requests
under every policy, by groups of requests every policy treats alike, and the contract's
counterfactual per objective. pipeline.lib.routing.replay_days takes a list of days, so the replay
can run per daily partition; the marts are merged from every day's partials."""

import datetime as dt

import dagster as dg
import polars as pl

from pipeline.defs.partitions import partitioned
from pipeline.defs.resources import ServicelensPaths
from pipeline.defs.schemas import described, table_asset
from pipeline.defs.thumbnails import name, number, safe_metadata
from pipeline.lib.marts.routing_totals import ALL_MODELS
from pipeline.lib.parquet_io import frame_to_parquet
from pipeline.lib.periods import quarter_rows
from pipeline.lib.routing import (
    RoutingParams,
    build_counterfactual,
    build_policies,
    partial_dir,
    replay_days,
)
from pipeline.paths import core_file, marts_file

REPLAY_DEPS = ["stg_requests", "stg_models", "stg_endpoints", "stg_prices", "stg_latency_probes"]
# the public study's headline cases, shown in the metadata when present
HEADLINES = {"cost": "qwen3-32b", "throughput": "deepseek-v3.2"}


class RoutingConfig(dg.Config):
    bucket_minutes: int = 60
    min_success: float = 0.9
    # a provider is down in a bucket only when its probes show success below min_success at this
    # one-sided confidence (Wilson upper bound); 0: the contract's point rule
    availability_confidence: float = 0.95
    # also write the per-request decisions as Parquet (marts/routing_decisions/date=.../): one row
    # per request and policy, 800M rows for 100M requests; by default the warehouse view
    # marts.routing_decisions computes them on demand from the grouped decisions
    write_decisions: bool = False


@dg.asset(
    name="routing_decisions",
    group_name="marts",
    deps=REPLAY_DEPS,
    kinds={"duckdb", "parquet"},
    description="The grouped decisions (marts.routing_groups, one partition per UTC day): one row per group of requests "
    "that every policy treats alike (slot, fit mask, cost order, sample rate) with each policy's provider, effective "
    "prices, decode throughput, TTFT and success probability, and the per-day partials the routing marts merge. Per "
    "request: the warehouse view marts.routing_decisions (on demand), or Parquet with write_decisions.",
    **partitioned(),
)
def routing_decisions(
    context: dg.AssetExecutionContext, config: RoutingConfig, paths: ServicelensPaths
) -> dg.MaterializeResult:
    params = RoutingParams(
        bucket_minutes=config.bucket_minutes,
        min_success=config.min_success,
        availability_confidence=config.availability_confidence,
    )
    days = [dt.date.fromisoformat(d) for d in paths.days_to_build(context.partition_keys)]
    if not days:  # the plan only recounted days: no day's replay changed
        return dg.MaterializeResult(metadata={"days": 0})
    run = replay_days(
        paths.root,
        days,
        params=params,
        write_decisions=config.write_decisions,
        progress=lambda span: context.log.info(f"routing: replaying {span}"),
    )
    return dg.MaterializeResult(
        metadata={
            "requests replayed": run.requests,
            "groups": run.groups,
            "days": len(run.days),
            "models": len(run.models),
            "path": dg.MetadataValue.path(str(partial_dir(paths.root, "groups"))),
        }
    )


@table_asset("routing_policies")
def routing_policies(paths: ServicelensPaths) -> dg.MaterializeResult:
    policies = build_policies(paths.root)
    best = (
        quarter_rows(policies)
        .filter(
            (pl.col("policy") != "official")
            & pl.col("cost_change_pct").is_not_null()
            & pl.col("tps_change_pct").is_not_null()
        )
        .sort("cost_change_pct")
        .head(3)
    )
    return dg.MaterializeResult(
        metadata=safe_metadata(
            {
                "dagster/row_count": policies.height,
                **{
                    f"{r['period']} {name(r['model'])} {name(r['policy'])}": (
                        f"cost {number(r['cost_change_pct'], '+.1f')} %, "
                        f"throughput {number(r['tps_change_pct'], '+.1f')} %"
                    )
                    for r in best.iter_rows(named=True)
                },
            }
        )
    )


def _objective_asset(objective: str):
    @table_asset(f"core_routing__{objective}")
    def _asset(paths: ServicelensPaths) -> dg.MaterializeResult:
        df = build_counterfactual(paths.root, (objective,))
        frame_to_parquet(df, core_file(paths.root, f"core_routing__{objective}"))
        figures = {
            f"{r['period']} {name(r['model'])} {name(r['policy'])}": (
                f"{number(r['change_pct'], '+.1f')} % [{number(r['ci_low'], '+.1f')}, {number(r['ci_high'], '+.1f')}]"
            )
            for r in quarter_rows(df).filter(pl.col("model") == HEADLINES[objective]).iter_rows(named=True)
            if r["change_pct"] is not None
        }
        return dg.MaterializeResult(
            metadata=safe_metadata({"dagster/row_count": df.height, "models": df["model"].n_unique(), **figures})
        )

    return _asset


routing_cost = _objective_asset("cost")
routing_throughput = _objective_asset("throughput")


@table_asset("routing_counterfactual")
def routing_counterfactual(paths: ServicelensPaths) -> dg.MaterializeResult:
    """marts.routing_counterfactual (contract): per period, model, objective and policy (oracle /
    causal), the baseline official provider, requests routed and excluded (weighted), baseline and
    routed values, change in percent and its 95 % paired day-bootstrap interval."""
    df = pl.concat([pl.read_parquet(core_file(paths.root, f"core_routing__{o}")) for o in ("cost", "throughput")])
    df = df.sort(
        ["period_type", "period", "model", "objective", "policy"], descending=[True, False, False, False, False]
    )
    frame_to_parquet(df, marts_file(paths.root, "routing_counterfactual"))
    return dg.MaterializeResult(metadata={"dagster/row_count": df.height})


@table_asset("routing_totals")
def routing_totals(paths: ServicelensPaths) -> dg.MaterializeResult:
    """marts.routing_totals: the contract counterfactual of every model's requests together, per
    period, objective and policy, with its 95 % paired day-bootstrap interval."""
    from pipeline.lib.routing.marts import build_totals

    df = build_totals(paths.root)
    frame_to_parquet(df, marts_file(paths.root, "routing_totals"))
    figures = {
        f"{r['period']} {r['objective']} {r['policy']}, all models": (
            f"{number(r['change_pct'], '+.1f')} % [{number(r['ci_low'], '+.1f')}, {number(r['ci_high'], '+.1f')}]"
        )
        for r in quarter_rows(df).iter_rows(named=True)
    }
    return dg.MaterializeResult(metadata=safe_metadata({"dagster/row_count": df.height, **figures}))


@table_asset("routing_staleness")
def routing_staleness(paths: ServicelensPaths) -> dg.MaterializeResult:
    from pipeline.lib.routing.marts import build_staleness

    df = build_staleness(paths.root)
    frame_to_parquet(df, marts_file(paths.root, "routing_staleness"))
    totals = quarter_rows(df).filter(pl.col("model") == ALL_MODELS)
    figures = {
        f"{r['period']} {r['objective']}: frozen vs re-deciding, all models": (
            f"{number(r['staleness_pct'], '+.1f')} % [{number(r['staleness_ci_low'], '+.1f')}, "
            f"{number(r['staleness_ci_high'], '+.1f')}]"
        )
        for r in totals.iter_rows(named=True)
    }
    return dg.MaterializeResult(metadata=safe_metadata({"dagster/row_count": df.height, **figures}))


@table_asset("replay_validation")
def replay_validation(paths: ServicelensPaths) -> dg.MaterializeResult:
    from pipeline.lib.routing.marts import build_replay_validation

    df = build_replay_validation(paths.root)
    frame_to_parquet(df, marts_file(paths.root, "replay_validation"))
    figures = {}
    q = quarter_rows(df).filter(pl.col("gap_pct").is_not_null() & (pl.col("requests_logged") >= 100))
    for metric in ("ttft_ms", "decode_tps", "failure_rate"):
        part = q.filter(pl.col("metric") == metric)
        if part.height:
            r = part.sort(pl.col("gap_pct").abs(), descending=True).row(0, named=True)
            figures[f"largest {metric} gap"] = (
                f"{name(r['provider'])} / {name(r['model'])} {r['period']}: logs {number(r['gap_pct'], '+.1f')} % "
                f"[{number(r['gap_pct_ci_low'], '+.1f')}, {number(r['gap_pct_ci_high'], '+.1f')}] vs the replay's probes"
            )
    return dg.MaterializeResult(metadata=safe_metadata({"dagster/row_count": df.height, **figures}))


class RecommendationsConfig(dg.Config):
    """The analyst's constraints and windows for marts.routing_recommendations (defaults:
    pipeline/lib/marts/routing_recommendations.py RecommendParams). Days as YYYY-MM-DD, inclusive;
    empty: the quarter of the last replayed day, its first two months to train, its last to test."""

    train_start: str = ""
    train_end: str = ""
    test_start: str = ""
    test_end: str = ""
    max_ttft_p90_ms: float | None = 2000.0
    min_probe_success: float = 0.95
    tool_call_floor: bool = True
    quantization_floor: bool = True
    capacity_floor: bool = True

    def params(self):
        from pipeline.lib.marts.routing_recommendations import RecommendParams

        day = lambda s: dt.date.fromisoformat(s) if s else None  # noqa: E731
        return RecommendParams(
            train_start=day(self.train_start),
            train_end=day(self.train_end),
            test_start=day(self.test_start),
            test_end=day(self.test_end),
            max_ttft_p90_ms=self.max_ttft_p90_ms,
            min_probe_success=self.min_probe_success,
            tool_call_floor=self.tool_call_floor,
            quantization_floor=self.quantization_floor,
            capacity_floor=self.capacity_floor,
        )


@table_asset("routing_recommendations")
def routing_recommendations(config: RecommendationsConfig, paths: ServicelensPaths) -> dg.MaterializeResult:
    from pipeline.lib.routing.marts import build_recommendations

    df = build_recommendations(paths.root, config.params())
    frame_to_parquet(df, marts_file(paths.root, "routing_recommendations"))
    figures = {
        f"{name(r['model'])} {r['objective']}: {', '.join(r['providers'])}": (
            f"realised {number(r['realised_change_pct'], '+.1f')} % [{number(r['realised_change_pct_ci_low'], '+.1f')}, "
            f"{number(r['realised_change_pct_ci_high'], '+.1f')}], oracle {number(r['oracle_change_pct'], '+.1f')} %"
        )
        for r in df.filter(
            (pl.col("segment_kind") == "model") & pl.col("model").is_in(list(HEADLINES.values()))
        ).iter_rows(named=True)
    }
    return dg.MaterializeResult(metadata=safe_metadata({"dagster/row_count": df.height, **figures}))


@table_asset("provider_capacity")
def provider_capacity(paths: ServicelensPaths) -> dg.MaterializeResult:
    from pipeline.lib.routing.marts import build_provider_capacity

    df = build_provider_capacity(paths.root)
    frame_to_parquet(df, marts_file(paths.root, "provider_capacity"))
    limited = df.filter(pl.col("capacity_limited")).sort("slope_per_1k", descending=True)
    figures = {
        f"{name(r['provider'])} / {name(r['model'])}": (
            f"429 share +{number(r['slope_per_1k'], '.3f')} per 1,000 requests an hour "
            f"[{number(r['slope_per_1k_ci_low'], '.3f')}, {number(r['slope_per_1k_ci_high'], '.3f')}]"
        )
        for r in limited.head(5).iter_rows(named=True)
    }
    return dg.MaterializeResult(
        metadata=safe_metadata(
            {"dagster/row_count": df.height, "capacity-limited service objects": limited.height, **figures}
        )
    )


@table_asset("routing_capacity")
def routing_capacity(paths: ServicelensPaths) -> dg.MaterializeResult:
    from pipeline.lib.routing.marts import build_routing_capacity

    df = build_routing_capacity(paths.root)
    frame_to_parquet(df, marts_file(paths.root, "routing_capacity"))
    figures = {
        f"{r['period']} {name(r['model'])} {r['objective']} {r['policy']}": (
            f"{number(r['change_pct'], '+.1f')} % without, {number(r['capacity_change_pct'], '+.1f')} % with the capacity model"
        )
        for r in quarter_rows(df)
        .filter(pl.col("model").is_in(list(HEADLINES.values())) & pl.col("policy").is_in(["cheapest", "fastest"]))
        .iter_rows(named=True)
    }
    return dg.MaterializeResult(metadata=safe_metadata({"dagster/row_count": df.height, **figures}))


@table_asset("routing_sensitivity")
def routing_sensitivity(paths: ServicelensPaths) -> dg.MaterializeResult:
    from pipeline.lib.routing.sensitivity import build_sensitivity

    df = build_sensitivity(paths.root)
    frame_to_parquet(df, marts_file(paths.root, "routing_sensitivity"))
    figures = {}
    if df.height:
        q = quarter_rows(df).filter((pl.col("policy") == "oracle") & pl.col("change_pct").is_not_null())
        for objective, model in HEADLINES.items():
            part = q.filter((pl.col("objective") == objective) & (pl.col("model") == model))
            if part.height:
                figures[f"{name(model)} {objective}: change across settings"] = (
                    f"{number(part['change_pct'].min(), '+.1f')} % to {number(part['change_pct'].max(), '+.1f')} % over {part.height} settings"
                )
    return dg.MaterializeResult(metadata=safe_metadata({"dagster/row_count": df.height, **figures}))


ROUTING_ASSETS = [
    routing_decisions,
    routing_policies,
    routing_cost,
    routing_throughput,
    routing_counterfactual,
    routing_totals,
    routing_staleness,
    replay_validation,
    provider_capacity,
    routing_capacity,
    routing_recommendations,
    routing_sensitivity,
]


@dg.definitions
def routing_defs() -> dg.Definitions:
    return dg.Definitions(assets=described(ROUTING_ASSETS))
