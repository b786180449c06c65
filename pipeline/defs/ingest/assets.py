"""raw_*, parsed_* and stg_* assets per contract dataset, and their contract checks.

raw_<dataset>:     the drop's files for that dataset (an inventory; the files stay where they are)
parsed_<series>:   for the time series (requests, latency_probes, compat_probes): each new or
                   changed file read and validated once, cached by content, split by UTC day
stg_<dataset>:     typed, validated, deduplicated rows in staging/<dataset>/, plus that dataset's
                   audit and quarantine rows. The time series are partitioned by UTC day
                   (pipeline/defs/partitions.py): a run stages only the days it is given; the
                   dimensions (models, endpoints, fx_rates, prices) are small and staged whole.
"""

import dagster as dg
import polars as pl

from pipeline.defs.partitions import partitioned
from pipeline.defs.resources import ServicelensPaths
from pipeline.defs.schemas import described
from pipeline.lib.checks import accounting_problems, duplicate_keys
from pipeline.lib.contract import DATASETS, Dataset
from pipeline.lib.ingest import discover, stage_dataset
from pipeline.lib.parse_cache import TS_DATASETS, update_parse_cache
from pipeline.lib.plan import day_spans
from pipeline.lib.staging import stage_days
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


def _checks(spec: Dataset) -> list[dg.AssetCheckSpec]:
    # blocking: a table that breaks the contract stops everything downstream of it, so the run
    # publishes nothing rather than a warehouse built on it
    return [
        dg.AssetCheckSpec(
            KEYS_UNIQUE,
            asset=f"stg_{spec.name}",
            blocking=True,
            description=f"no two staged rows share ({', '.join(spec.key)})",
        ),
        dg.AssetCheckSpec(
            ROWS_ACCOUNTED,
            asset=f"stg_{spec.name}",
            blocking=True,
            description="rows_read = loaded + quarantined + duplicate per file; loaded equals the staged row count; "
            "quarantined equals the quarantine rows; parquet rows_read equals the file footer's row count",
        ),
    ]


def _checked(
    spec: Dataset, paths: ServicelensPaths, metadata: dict, days: list[str] | None = None
) -> dg.MaterializeResult:
    dups = duplicate_keys(paths.root, spec, days)
    problems = accounting_problems(paths.root, spec, paths.raw)
    return dg.MaterializeResult(
        metadata={
            **metadata,
            "quarantine": dg.MetadataValue.path(str(ingest_dir(paths.root, spec.name) / "quarantine.parquet")),
        },
        check_results=[
            dg.AssetCheckResult(check_name=KEYS_UNIQUE, passed=dups == 0, metadata={"duplicate_keys": dups}),
            dg.AssetCheckResult(
                check_name=ROWS_ACCOUNTED,
                passed=not problems,
                metadata={"problems": dg.MetadataValue.md("\n".join(f"- {p}" for p in problems[:50]) or "none")},
            ),
        ],
    )


def _audit_totals(paths: ServicelensPaths, spec: Dataset) -> dict:
    audit = pl.read_parquet(ingest_dir(paths.root, spec.name) / "audit.parquet")
    return {
        "rows_read": int(audit["rows_read"].sum()),
        "rows_loaded": int(audit["rows_loaded"].sum()),
        "rows_quarantined": int(audit["rows_quarantined"].sum()),
        "rows_duplicate": int(audit["rows_duplicate"].sum()),
        "files": audit.height,
        "unreadable_files": int(audit["file_error"].is_not_null().sum()),
    }


def _stg_asset(spec: Dataset) -> dg.AssetsDefinition:
    """A dimension: small, staged whole from the drop on every run."""
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
        check_specs=_checks(spec),
    )
    def _stg(context: dg.AssetExecutionContext, paths: ServicelensPaths) -> dg.MaterializeResult:
        result = stage_dataset(spec, paths.raw, paths.root, log=context.log.info, memory_limit=paths.memory_limit)
        return _checked(spec, paths, {"dagster/row_count": result.rows_loaded, **_audit_totals(paths, spec)})

    return _stg


def _parsed_asset(spec: Dataset) -> dg.AssetsDefinition:
    @dg.asset(
        name=f"parsed_{spec.name}",
        group_name="staging",
        deps=[f"raw_{spec.name}"] + [f"stg_{d}" for d in spec.depends_on],
        kinds={"duckdb", "parquet"},
        description=(
            f"The drop's {spec.name} files, each read and validated once (typed rows, quarantine reasons) and cached by "
            "content, split by the UTC day of its rows: a file already read is never read again, so a day's new files "
            "cost that day. The metadata names the days whose files changed."
        ),
    )
    def _parsed(context: dg.AssetExecutionContext, paths: ServicelensPaths) -> dg.MaterializeResult:
        result = update_parse_cache(spec, paths.raw, paths.root, log=context.log.info, memory_limit=paths.memory_limit)
        changed = sorted(result.changed_days)
        return dg.MaterializeResult(
            metadata={
                "files": result.files,
                "files read": result.files_parsed,
                "rows read": result.rows_parsed,
                "days changed": len(changed),
                "changed": ", ".join(changed[:5]) + (f" ... {changed[-1]}" if len(changed) > 5 else "") or "none",
            }
        )

    return _parsed


def _stg_days_asset(spec: Dataset) -> dg.AssetsDefinition:
    """A time series: one partition per UTC day, staged from the parse cache."""

    @dg.asset(
        name=f"stg_{spec.name}",
        group_name="staging",
        deps=[f"parsed_{spec.name}"],
        kinds={"duckdb", "parquet"},
        description=(
            f"One row per {' x '.join(spec.key)} from the drop's {spec.name}, typed per the data contract, in "
            "staging/<dataset>/date=YYYY-MM-DD/ (one partition per UTC day). Bad rows go to quarantine with a reason, "
            "identical repeats count as duplicates; the dataset's audit and quarantine are merged from every day's part."
        ),
        check_specs=_checks(spec),
        **partitioned(),
    )
    def _stg(context: dg.AssetExecutionContext, paths: ServicelensPaths) -> dg.MaterializeResult:
        days = paths.days_to_build(context.partition_keys)
        # the cache is brought up to the drop first (a no-op after parsed_<dataset>), so a
        # backfill launched alone from the UI never stages from stale parses
        update_parse_cache(spec, paths.raw, paths.root, log=context.log.info, memory_limit=paths.memory_limit)
        result = stage_days(
            spec,
            paths.root,
            days,
            log=context.log.info,
            memory_limit=paths.memory_limit,
            recount=paths.days_to_recount() if spec.name == "requests" else (),
        )
        widened = sorted(set(result.days) - set(days))
        return _checked(
            spec,
            paths,
            {
                "days staged": len(result.days),
                "rows loaded on those days": result.rows_loaded,
                **({"also restaged (a key shared with a changed day)": ", ".join(widened)} if widened else {}),
                **(
                    {"repeats classified against (not restaged)": day_spans(result.context_days)}
                    if result.context_days
                    else {}
                ),
                **(
                    {"days recounted (new rows repeat loaded ones)": day_spans(result.recounted)}
                    if result.recounted
                    else {}
                ),
                **_audit_totals(paths, spec),
            },
            days=result.days,
        )

    return _stg


@dg.definitions
def ingest_defs() -> dg.Definitions:
    assets = [_raw_asset(s) for s in DATASETS.values()]
    assets += [_parsed_asset(s) for s in DATASETS.values() if s.name in TS_DATASETS]
    assets += [(_stg_days_asset if s.name in TS_DATASETS else _stg_asset)(s) for s in DATASETS.values()]
    return dg.Definitions(assets=described(assets))
