"""Assets made from the registry of outputs (pipeline/lib/registry.py): a table's asset takes its
name, description, upstream assets (the tables its declaration reads), kinds and the column
schema the Dagster UI shows from the table's one declaration, so the UI, the warehouse's comments
and the README say the same and the graph follows what each table reads.

`table_asset("family_demand")` decorates the function that builds one table; `table_specs(...)`
gives the specs of a multi-asset that builds several at once; `described(...)` attaches the
column schema to assets made elsewhere (the staged datasets, from the input contract)."""

from collections.abc import Sequence

import dagster as dg

from pipeline.lib.registry import Output, RegistryError, for_asset, output, outputs


def table_metadata(out: Output) -> dict:
    return {
        "dagster/column_schema": dg.TableSchema(
            columns=[dg.TableColumn(c.name, c.type, description=c.comment) for c in out.columns]
        ),
        "dagster/table_name": out.table,
        "built by": ", ".join(out.built_by),
    }


def input_asset(name: str) -> str:
    """The asset that writes a table a declaration reads (`staging.requests`, `marts.x`,
    `core.x`, or `raw <dataset>` for a dataset's files as discovered)."""
    if name.startswith("raw "):
        return f"raw_{name.removeprefix('raw ')}"
    for table in (name, f"marts.{name}", f"core.{name}"):
        if table in outputs():
            return outputs()[table].asset
    raise RegistryError(f"input {name!r} is not a declared table")


def deps_of(*names: str) -> list[str]:
    """The upstream assets of the tables `names` (built together): what their declarations read,
    less what they build themselves."""
    own = {output(n).asset for n in names}
    return sorted({input_asset(i) for n in names for i in output(n).inputs} - own)


def _kinds(out: Output) -> set[str]:
    return {"duckdb", "parquet"} if any(b.endswith(".sql") for b in out.built_by) else {"parquet"}


def table_asset(name: str, **kwargs):
    """@dg.asset for the function that builds table `name` (a mart or a core table)."""
    out = output(name)
    return dg.asset(
        name=out.asset,
        group_name="marts",
        deps=deps_of(name),
        kinds=_kinds(out),
        description=out.description,
        metadata=table_metadata(out),
        **kwargs,
    )


def table_specs(*names: str) -> list[dg.AssetSpec]:
    """The specs of a multi-asset that builds the tables `names` in one pass."""
    deps = deps_of(*names)
    return [
        dg.AssetSpec(
            output(n).asset,
            deps=deps,
            kinds=_kinds(output(n)),
            description=output(n).description,
            metadata=table_metadata(output(n)),
        )
        for n in names
    ]


def _describe(spec: dg.AssetSpec) -> dg.AssetSpec:
    key = spec.key.to_user_string()
    outs = for_asset(key)
    if not outs or "dagster/column_schema" in (spec.metadata or {}):
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
