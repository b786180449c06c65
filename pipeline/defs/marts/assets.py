"""marts.ingest_audit, marts.quarantine, the warehouse generation and its publication."""

from pathlib import Path

import dagster as dg
import duckdb

from pipeline.defs.analysis.demand import DEMAND_ASSETS
from pipeline.defs.analysis.routing import ROUTING_ASSETS
from pipeline.defs.analysis.service import SERVICE_ASSETS
from pipeline.defs.analysis.summary import SUMMARY_ASSETS
from pipeline.defs.analysis.verification import VERIFICATION_ASSETS
from pipeline.defs.resources import ServicelensPaths
from pipeline.defs.schemas import described, table_asset
from pipeline.lib.contract import DATASETS
from pipeline.lib.generations import (
    WarehouseBusy,
    finish_generation,
    pending_reports,
    publish,
    snapshot,
    start_generation,
)
from pipeline.lib.labels import text
from pipeline.lib.parse_cache import TS_DATASETS
from pipeline.lib.plan import day_inputs, drop_fingerprint, signatures
from pipeline.lib.warehouse import build_ingest_mart, write_warehouse_file
from pipeline.paths import marts_file

STAGING = [f"stg_{d}" for d in DATASETS]
# The warehouse publishes every marts/<name>.parquet, so it comes after every analysis mart
# (the core_* aggregates live elsewhere and are not published).
ANALYSIS_MARTS = [
    k
    for a in (*DEMAND_ASSETS, *SERVICE_ASSETS, *VERIFICATION_ASSETS, *ROUTING_ASSETS, *SUMMARY_ASSETS)
    for k in a.keys
    if not k.to_user_string().startswith("core_")
]


@table_asset("ingest_audit")
def ingest_audit(paths: ServicelensPaths) -> dg.MaterializeResult:
    """One row per (dataset, source_file): rows_read = rows_loaded + rows_quarantined + rows_duplicate."""
    n = build_ingest_mart(paths.root, "ingest_audit")
    return dg.MaterializeResult(
        metadata={"dagster/row_count": n, "path": dg.MetadataValue.path(str(marts_file(paths.root, "ingest_audit")))}
    )


@table_asset("quarantine")
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
        dg.AssetCheckSpec(
            REFS_KNOWN,
            asset="warehouse",
            blocking=True,
            description="every request's model is in models and its provider in endpoints",
        ),
        dg.AssetCheckSpec(
            OFFICIAL_KNOWN,
            asset="warehouse",
            description="every model's official_provider has an endpoint of it (the routing baseline)",
        ),
    ],
)
def warehouse(context: dg.AssetExecutionContext, paths: ServicelensPaths) -> dg.MaterializeResult:
    """A new generation of the warehouse: a snapshot of the working Parquet and the DuckDB file
    analysts open (schemas `staging` and `marts`). Readers see it only when
    `published_warehouse` makes it current, after the report has been written from it."""
    store = paths.store
    name = start_generation(store, context.run.run_id)
    files = snapshot(paths.root, store.gen_parquet(name))
    db = store.gen_db(name)
    counts = write_warehouse_file(store.gen_parquet(name), db, scratch=paths.root / ".tmp" / f"warehouse-{name}")
    con = duckdb.connect(str(db), read_only=True)
    try:
        unknown = (
            con.execute(
                "select count(*) from staging.requests r "
                "where r.model not in (select model from staging.models) "
                "or r.provider not in (select distinct provider from staging.endpoints)"
            ).fetchone()[0]
            if "staging.requests" in counts and "staging.endpoints" in counts
            else 0
        )
        orphan = (
            [
                m
                for (m,) in con.execute(
                    "select m.model from staging.models m anti join staging.endpoints e "
                    "on e.model = m.model and e.provider = m.official_provider order by 1"
                ).fetchall()
            ]
            if "staging.models" in counts and "staging.endpoints" in counts
            else []
        )
    finally:
        con.close()
    if unknown == 0:
        inputs = day_inputs(paths.root)
        # only a generation that passed its blocking check may be published
        # the day signatures it was built from: the next run rebuilds only the days that differ
        finish_generation(
            store,
            name,
            {
                "run_id": context.run.run_id,
                "raw_dir": str(paths.raw),
                "rows": counts,
                "files": files,
                "day_signatures": signatures(paths.root, inputs),
                "day_inputs": inputs,
                "drop_fingerprint": drop_fingerprint(paths.root),
            },
        )
    return dg.MaterializeResult(
        metadata={
            "generation": name,
            "path": dg.MetadataValue.path(str(db)),
            **{f"rows {k}": v for k, v in counts.items()},
        },
        check_results=[
            dg.AssetCheckResult(check_name=REFS_KNOWN, passed=unknown == 0, metadata={"unknown_refs": unknown}),
            dg.AssetCheckResult(
                check_name=OFFICIAL_KNOWN,
                passed=not orphan,
                severity=dg.AssetCheckSeverity.WARN,
                metadata={"models": ", ".join(text(m) for m in orphan[:20]) or "none"},
            ),
        ],
    )


@dg.asset(group_name="report", deps=[warehouse, "quarterly_report"], kinds={"duckdb"})
def published_warehouse(context: dg.AssetExecutionContext, paths: ServicelensPaths) -> dg.MaterializeResult:
    """What readers see: the generation the `warehouse` asset built becomes current in one
    rename of a symlink (the DuckDB file, its views and the Parquet beside it change together),
    after every other step, the report included, has succeeded. Its report is copied into
    place, generations beyond the last `keep_generations` and leftovers of killed runs are
    removed. Refuses, changing nothing, while another process holds the warehouse open for
    writing."""
    store = paths.store
    name = store.pending()
    if name is None:
        raise dg.Failure("no complete generation to publish: materialize `warehouse` first")
    try:
        result = publish(store, name, keep=paths.keep_generations, reports=pending_reports(store, name))
    except WarehouseBusy as exc:
        raise dg.Failure(str(exc), allow_retries=False) from exc
    if result["pruned"]:
        context.log.info(f"removed generations {', '.join(result['pruned'])}")
    meta = {
        "generation": name,
        "previous generation": result["previous"] or "none",
        "warehouse": dg.MetadataValue.path(str(paths.warehouse_file)),
        "generations kept": len(store.listing()),
    }
    for folder in result["reports"]:
        for label, file in (("html", "report.html"), ("pdf", "report.pdf")):
            if (Path(folder) / file).exists():
                meta[f"report {label}"] = dg.MetadataValue.path(str(Path(folder) / file))
    return dg.MaterializeResult(metadata=meta)


# The unpartitioned first part of a run: the inventory, the dimensions and the parse cache. What
# it found (the days whose inputs changed) decides the partitions the build runs for.
PREPARE = dg.AssetSelection.groups("raw") | dg.AssetSelection.assets(
    *[f"stg_{d}" for d in DATASETS if d not in TS_DATASETS], *[f"parsed_{d}" for d in TS_DATASETS]
)
prepare_job = dg.define_asset_job(
    "servicelens_prepare",
    selection=PREPARE,
    description="The drop's inventory, its dimensions staged, and every new or changed time-series file read once into the "
    "parse cache: what a build needs to know which days changed.",
)
build_job = dg.define_asset_job(
    "servicelens_build",
    selection=dg.AssetSelection.all() - PREPARE,
    description="The days given (a partition range) staged and aggregated, then every mart from the per-day partials, the "
    "warehouse generation, the report, and the publish.",
)
everything_job = dg.define_asset_job(
    "servicelens_all",
    selection=dg.AssetSelection.all(),
    description="Ingest the drop and publish the warehouse: raw -> staging -> marts -> warehouse -> report -> published, for "
    "the days given (a partition range; `servicelens run` picks the days that changed).",
)


@dg.definitions
def marts_defs() -> dg.Definitions:
    return dg.Definitions(
        assets=described([ingest_audit, quarantine, warehouse, published_warehouse]),
        jobs=[prepare_job, build_job, everything_job],
    )
