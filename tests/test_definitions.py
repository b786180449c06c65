"""The Dagster definitions load, with the expected graph, and dependencies stay sane."""

from __future__ import annotations

import dagster as dg
from packaging.version import Version

from pipeline.lib.contract import DATASETS


def test_definitions_load_with_every_asset_and_the_job():
    from pipeline.definitions import defs

    d = defs()
    dg.Definitions.validate_loadable(d)
    graph = d.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    expected = (
        {f"raw_{n}" for n in DATASETS}
        | {f"stg_{n}" for n in DATASETS}
        | {"parsed_requests", "parsed_latency_probes", "parsed_compat_probes"}
        | {"ingest_audit", "quarantine", "warehouse"}
        | {"core_demand__daily", "family_demand", "concentration", "concentration_lorenz"}
        | {"core_tokens__daily", "task_regimes", "task_regimes_histogram", "version_inertia", "version_inertia_summary"}
        | {"supply_use", "supply_use_summary"}
        | {"core_requests__hourly", "service_timeseries", "service_objects", "service_diurnal", "error_matrix"}
        | {
            "provider_dispersion",
            "price_anchoring",
            "service_pareto",
            "service_changes",
            "service_metric_daily",
            "vendor_verification",
            "context_limit_behaviour",
        }
        | {
            "routing_decisions",
            "routing_policies",
            "routing_cost",
            "routing_throughput",
            "routing_counterfactual",
            "routing_totals",
            "routing_staleness",
            "replay_validation",
            "provider_capacity",
            "routing_capacity",
            "routing_recommendations",
            "routing_sensitivity",
        }
        | {"key_figures", "run_parameters", "ingest_summary", "quarantine_reasons", "period_facts"}
        | {"error_class_rates", "error_type_shares", "provider_scorecard", "request_rate_ranking"}
        | {"context_limit_by_provider", "multi_provider_models", "dispersion_summary", "pareto_by_provider"}
        | {"provider_tool_calls", "tool_call_verdicts", "suite_similarity", "routing_policy_summary"}
        | {"successor_releases", "half_life_summary", "application_regimes", "application_token_density"}
        | {"family_demand_tail", "service_change_summary", "provider_leaderboard"}
        | {"quarterly_report", "published_warehouse"}
    )
    assert keys == expected
    groups = {k.to_user_string(): graph.get(k).group_name for k in graph.get_all_asset_keys()}
    assert {groups[f"raw_{n}"] for n in DATASETS} == {"raw"}
    assert {groups[f"stg_{n}"] for n in DATASETS} == {"staging"}
    assert groups["warehouse"] == "marts"
    assert groups["quarterly_report"] == "report"
    assert {groups[k] for k in ("core_demand__daily", "family_demand", "concentration", "concentration_lorenz")} == {
        "marts"
    }
    # the warehouse publishes every mart, so it must come after them
    wh_parents = {p.to_user_string() for p in graph.get(dg.AssetKey("warehouse")).parent_keys}
    assert {"family_demand", "concentration", "concentration_lorenz", "ingest_audit", "quarantine"} <= wh_parents
    assert {"service_objects", "provider_dispersion", "vendor_verification", "service_pareto"} <= wh_parents
    assert {"routing_decisions", "routing_policies", "routing_counterfactual"} <= wh_parents
    # publishing comes last: after the warehouse file and the report written from it
    assert {p.to_user_string() for p in graph.get(dg.AssetKey("published_warehouse")).parent_keys} == {
        "warehouse",
        "quarterly_report",
    }
    assert {groups["published_warehouse"]} == {"report"}
    job_keys = {k.to_user_string() for k in d.resolve_job_def("servicelens_all").asset_layer.executable_asset_keys}
    assert job_keys == keys
    # the DuckDB resource and the paths resource read one configured warehouse path
    res = d.resources
    assert res["duckdb"].database == res["paths"].warehouse


def test_staging_depends_on_what_it_references():
    from pipeline.definitions import defs

    graph = defs().resolve_asset_graph()
    # references are checked while each file is read (the parse cache), so the parse needs them
    parents = {p.to_user_string() for p in graph.get(dg.AssetKey("parsed_requests")).parent_keys}
    assert parents == {"raw_requests", "stg_models", "stg_endpoints"}
    assert {p.to_user_string() for p in graph.get(dg.AssetKey("stg_requests")).parent_keys} == {"parsed_requests"}


def test_the_time_series_and_their_aggregates_are_partitioned_by_day():
    from pipeline.definitions import defs
    from pipeline.defs.partitions import DAYS

    d = defs()
    graph = d.resolve_asset_graph()
    partitioned = {k.to_user_string() for k in graph.get_all_asset_keys() if graph.get(k).partitions_def == DAYS}
    assert partitioned == {
        "stg_requests",
        "stg_latency_probes",
        "stg_compat_probes",
        "core_demand__daily",
        "core_tokens__daily",
        "core_requests__hourly",
        "routing_decisions",
    }
    # everything else is unpartitioned: dimensions, the parse cache, the marts
    others = {graph.get(k).partitions_def for k in graph.get_all_asset_keys() if k.to_user_string() not in partitioned}
    assert others == {None}
    # the CLI's two runs: what decides the days, then the days and everything after them
    prepare = {k.to_user_string() for k in d.resolve_job_def("servicelens_prepare").asset_layer.executable_asset_keys}
    assert prepare == {f"raw_{n}" for n in DATASETS} | {"stg_models", "stg_endpoints", "stg_fx_rates", "stg_prices"} | {
        "parsed_requests",
        "parsed_latency_probes",
        "parsed_compat_probes",
    }
    build = {k.to_user_string() for k in d.resolve_job_def("servicelens_build").asset_layer.executable_asset_keys}
    assert prepare | build == {k.to_user_string() for k in graph.get_all_asset_keys()} and not prepare & build


def test_duckdb_is_below_2():
    # duckdb 2.0 breaks dagster-duckdb (no .arrow()/.pl() on execute results): a silent
    # upgrade must fail here, not in a user's run.
    import duckdb

    assert Version(duckdb.__version__) < Version("2")
