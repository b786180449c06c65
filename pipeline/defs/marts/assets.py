"""marts.ingest_audit, marts.quarantine and the published DuckDB warehouse file."""


import dagster as dg
from dagster_duckdb import DuckDBResource

from pipeline.defs.analysis.demand import DEMAND_ASSETS
from pipeline.defs.analysis.routing import ROUTING_ASSETS
from pipeline.defs.analysis.service import SERVICE_ASSETS
from pipeline.defs.analysis.verification import VERIFICATION_ASSETS
from pipeline.defs.resources import ServicelensPaths
from pipeline.lib.contract import DATASETS
from pipeline.lib.warehouse import build_ingest_mart, publish_warehouse
from pipeline.paths import marts_file

STAGING = [f"stg_{d}" for d in DATASETS]
# The warehouse publishes every marts/<name>.parquet, so it comes after every analysis mart
# (the core_* aggregates live elsewhere and are not published).
ANALYSIS_MARTS = [k for a in (*DEMAND_ASSETS, *SERVICE_ASSETS, *VERIFICATION_ASSETS, *ROUTING_ASSETS) for k in a.keys if not k.to_user_string().startswith("core_")]


@dg.asset(group_name="marts", deps=STAGING, kinds={"duckdb", "parquet"})
def ingest_audit(paths: ServicelensPaths) -> dg.MaterializeResult:
    """One row per (dataset, source_file): rows_read = rows_loaded + rows_quarantined + rows_duplicate."""
    n = build_ingest_mart(paths.root, "ingest_audit")
    return dg.MaterializeResult(
        metadata={"dagster/row_count": n, "path": dg.MetadataValue.path(str(marts_file(paths.root, "ingest_audit")))}
    )


@dg.asset(group_name="marts", deps=STAGING, kinds={"duckdb", "parquet"})
def quarantine(paths: ServicelensPaths) -> dg.MaterializeResult:
    """One row per rejected input row: dataset, source_file, row_number, reason, raw."""
    n = build_ingest_mart(paths.root, "quarantine")
    return dg.MaterializeResult(
        metadata={"dagster/row_count": n, "path": dg.MetadataValue.path(str(marts_file(paths.root, "quarantine")))}
    )


REFS_KNOWN = "requests_reference_known_models_and_providers"
OFFICIAL_KNOWN = "official_providers_have_endpoints"


@dg.asset(
    group_name="marts",
    deps=[ingest_audit, quarantine, *STAGING, *ANALYSIS_MARTS],
    kinds={"duckdb"},
    check_specs=[
        dg.AssetCheckSpec(REFS_KNOWN, asset="warehouse", description="every request's model is in models and its provider in endpoints"),
        dg.AssetCheckSpec(
            OFFICIAL_KNOWN,
            asset="warehouse",
            description="every model's official_provider has an endpoint of it (the routing baseline)",
        ),
    ],
)
def warehouse(paths: ServicelensPaths, duckdb: DuckDBResource) -> dg.MaterializeResult:
    """The DuckDB file analysts open: schemas `staging` and `marts`, replaced atomically."""
    counts = publish_warehouse(paths.root, paths.warehouse_file)
    with duckdb.get_connection() as con:
        unknown = con.execute(
            "select count(*) from staging.requests r "
            "where r.model not in (select model from staging.models) "
            "or r.provider not in (select distinct provider from staging.endpoints)"
        ).fetchone()[0]
        orphan = [
            m
            for (m,) in con.execute(
                "select m.model from staging.models m anti join staging.endpoints e "
                "on e.model = m.model and e.provider = m.official_provider order by 1"
            ).fetchall()
        ]
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(paths.warehouse_file)),
            **{f"rows {k}": v for k, v in counts.items()},
        },
        check_results=[
            dg.AssetCheckResult(check_name=REFS_KNOWN, passed=unknown == 0, metadata={"unknown_refs": unknown}),
            dg.AssetCheckResult(
                check_name=OFFICIAL_KNOWN,
                passed=not orphan,
                severity=dg.AssetCheckSeverity.WARN,
                metadata={"models": ", ".join(orphan[:20]) or "none"},
            ),
        ],
    )


everything_job = dg.define_asset_job(
    "servicelens_all",
    selection=dg.AssetSelection.all(),
    description="Ingest the drop and publish the warehouse: raw -> staging -> marts.",
)


@dg.definitions
def marts_defs() -> dg.Definitions:
    return dg.Definitions(assets=[ingest_audit, quarantine, warehouse], jobs=[everything_job])
