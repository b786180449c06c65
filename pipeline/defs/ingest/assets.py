"""raw_* and stg_* assets, one pair per contract dataset, and their contract checks.

raw_<dataset>:  the drop's files for that dataset (an inventory; the files stay where they are)
stg_<dataset>:  typed, validated, deduplicated rows in staging/<dataset>/ (hive-partitioned
                by date for time series), plus that dataset's audit and quarantine rows
"""


import dagster as dg
import polars as pl

from pipeline.defs.resources import ServicelensPaths
from pipeline.lib.checks import accounting_problems, duplicate_keys
from pipeline.lib.contract import DATASETS, Dataset
from pipeline.lib.ingest import discover, stage_dataset
from pipeline.paths import ingest_dir

KEYS_UNIQUE = "keys_unique"
ROWS_ACCOUNTED = "rows_accounted"


def _raw_asset(spec: Dataset) -> dg.AssetsDefinition:
    @dg.asset(
        name=f"raw_{spec.name}",
        group_name="raw",
        kinds={"parquet", "csv"},
        description=f"The drop's {spec.name} files (parquet / csv / jsonl, optionally hive-partitioned): one row per file.",
    )
    def _raw(context: dg.AssetExecutionContext, paths: ServicelensPaths) -> dg.MaterializeResult:
        files = discover(paths.raw, spec.name)
        if not files and not spec.optional:
            context.log.warning(f"no {spec.name} files under {paths.raw / spec.name}")
        inventory = pl.DataFrame(
            {
                "source_file": [f.rel for f in files],
                "file_format": [f.fmt for f in files],
                "bytes": [f.path.stat().st_size for f in files],
            },
            schema={"source_file": pl.String, "file_format": pl.String, "bytes": pl.Int64},
        )
        return dg.MaterializeResult(
            metadata={
                "files": len(files),
                "bytes": int(inventory["bytes"].sum()),
                "formats": ", ".join(sorted(set(inventory["file_format"]))) or "none",
                "folder": dg.MetadataValue.path(str(paths.raw / spec.name)),
            }
        )

    return _raw


def _stg_asset(spec: Dataset) -> dg.AssetsDefinition:
    deps = [f"raw_{spec.name}"] + [f"stg_{d}" for d in spec.depends_on]

    @dg.asset(
        name=f"stg_{spec.name}",
        group_name="staging",
        deps=deps,
        kinds={"duckdb", "parquet"},
        description=(
            f"One row per {' x '.join(spec.key)} from the drop's {spec.name}, typed per the data contract. "
            "Bad rows go to quarantine with a reason, identical repeats count as duplicates."
        ),
        check_specs=[
            # blocking: a table that breaks the contract stops everything downstream of it, so
            # the run publishes nothing rather than a warehouse built on it
            dg.AssetCheckSpec(KEYS_UNIQUE, asset=f"stg_{spec.name}", blocking=True,
                              description=f"no two staged rows share ({', '.join(spec.key)})"),
            dg.AssetCheckSpec(
                ROWS_ACCOUNTED,
                asset=f"stg_{spec.name}",
                blocking=True,
                description="rows_read = loaded + quarantined + duplicate per file; loaded equals the staged row count; "
                "quarantined equals the quarantine rows; parquet rows_read equals the file footer's row count",
            ),
        ],
    )
    def _stg(context: dg.AssetExecutionContext, paths: ServicelensPaths) -> dg.MaterializeResult:
        result = stage_dataset(spec, paths.raw, paths.root, log=context.log.info, memory_limit=paths.memory_limit)
        dups = duplicate_keys(paths.root, spec)
        problems = accounting_problems(paths.root, spec, paths.raw)
        return dg.MaterializeResult(
            metadata={
                "dagster/row_count": result.rows_loaded,
                "rows_read": result.rows_read,
                "rows_loaded": result.rows_loaded,
                "rows_quarantined": result.rows_quarantined,
                "rows_duplicate": result.rows_duplicate,
                "files": result.files,
                "unreadable_files": result.unreadable_files,
                "quarantine": dg.MetadataValue.path(str(ingest_dir(paths.root, spec.name) / "quarantine.parquet")),
            },
            check_results=[
                dg.AssetCheckResult(check_name=KEYS_UNIQUE, passed=dups == 0, metadata={"duplicate_keys": dups}),
                dg.AssetCheckResult(
                    check_name=ROWS_ACCOUNTED,
                    passed=not problems,
                    metadata={"problems": dg.MetadataValue.md("\n".join(f"- {p}" for p in problems) or "none")},
                ),
            ],
        )

    return _stg


@dg.definitions
def ingest_defs() -> dg.Definitions:
    assets = [_raw_asset(s) for s in DATASETS.values()] + [_stg_asset(s) for s in DATASETS.values()]
    return dg.Definitions(assets=assets)
