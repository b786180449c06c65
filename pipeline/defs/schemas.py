"""What the Dagster UI shows of a table: its columns, types and meanings, and its name in the
warehouse, taken from the registry of outputs (pipeline/lib/registry.py), so the UI, the
warehouse's comments and the README say the same."""

from collections.abc import Sequence

import dagster as dg

from pipeline.lib.registry import Output, for_asset


def table_metadata(out: Output) -> dict:
    return {
        "dagster/column_schema": dg.TableSchema(
            columns=[dg.TableColumn(c.name, c.type, description=c.comment) for c in out.columns]
        ),
        "dagster/table_name": out.table,
        "built by": ", ".join(out.built_by),
    }


def _describe(spec: dg.AssetSpec) -> dg.AssetSpec:
    key = spec.key.to_user_string()
    outs = for_asset(key)
    if not outs:
        return spec
    # an asset that writes several tables (the replay, the warehouse's views) shows the columns of
    # the one named after it and names the others
    main = next((o for o in outs if key in (o.name, f"stg_{o.name}")), None)
    meta = table_metadata(main) if main else {}
    if len(outs) > 1 or main is None:
        meta["tables written"] = ", ".join(o.table for o in outs)
    return spec.merge_attributes(metadata=meta)


def described(assets: Sequence) -> list:
    """The assets with the column schema of the table each writes attached."""
    return list(dg.map_asset_specs(_describe, assets))
