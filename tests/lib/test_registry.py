"""The registry of outputs (pipeline/registry/) says what the warehouse really holds: every
table, view and column of the sample quarter is declared with its type, every one carries its
comment in the DuckDB file, the grains are keys, the files named as builders exist, and the
README's reference and docs/tables.md are the ones the registry generates today."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import duckdb
import pytest

from pipeline.lib import registry

REPO = Path(__file__).resolve().parents[2]


def test_every_declaration_is_complete_and_its_builders_exist():
    outs = registry.outputs()
    assert outs, "no outputs declared"
    for o in outs.values():
        assert o.description and "TODO" not in o.description, o.table
        assert o.grain, f"{o.table} declares no grain"
        names = [c.name for c in o.columns]
        assert len(names) == len(set(names)), f"{o.table} declares a column twice"
        assert set(o.grain) <= set(names), f"{o.table}: grain {o.grain} not among its columns"
        for c in o.columns:
            assert c.doc and "TODO" not in c.doc, f"{o.table}.{c.name}"
        for path in o.built_by:
            assert (REPO / path).exists(), f"{o.table}: built_by {path} does not exist"


def test_every_table_is_built_in_a_file_named_after_it():
    """A newcomer finds where a published number is computed by opening the file named after its
    table: sql/<layer>/<table>.sql, sql/staging/stg_<dataset>.sql, pipeline/lib/marts/<table>.py,
    or, for the replay's per-day tables (marts.routing_<x>), sql/core/core_routing__<x>.sql. Published
    tables only: the core tables are the pipeline's own."""
    for o in registry.outputs().values():
        if o.schema == "core":
            continue
        stems = {Path(b).stem for b in o.built_by}
        names = {o.name, f"stg_{o.name}"}
        if o.name.startswith("routing_"):
            names.add("core_routing__" + o.name.removeprefix("routing_"))
        assert stems & names, f"{o.table}: no file named after it among {o.built_by}"


def test_factory_marts_read_declared_marts_and_are_their_sql_file():
    for o in registry.outputs().values():
        if o.factory == "sql":
            assert o.built_by == (f"sql/marts/{o.name}.sql",), o.table
            for _, mart in o.reads:
                registry.output(mart)  # declared (raises otherwise)


def test_the_grouped_replay_declares_a_provider_column_per_policy_in_order():
    from pipeline.lib.routing.settings import POLICIES

    groups = registry.output("routing_groups")
    providers = [c.name for c in groups.columns if c.name.endswith("_provider") and c.name != "official_provider"]
    assert [p.removesuffix("_provider") for p in providers] == [p for p in POLICIES if p != "official"]


def test_comments_are_literals_whatever_the_text():
    con = duckdb.connect()
    con.execute("create schema marts")
    con.execute('create table marts.quarantine (dataset varchar, "odd ""name" varchar)')
    for statement in registry.comment_statements(con):
        con.execute(statement)
    got = dict(
        con.execute("select column_name, comment from duckdb_columns() where table_name = 'quarantine'").fetchall()
    )
    assert got["dataset"] == registry.output("quarantine").column("dataset").comment
    assert got['odd "name'] is None  # undeclared and the table passes nothing through


@pytest.fixture(scope="module")
def warehouse_catalog(generated_quarter):
    _, wh = generated_quarter
    con = duckdb.connect(str(wh), read_only=True)
    try:
        columns = con.execute(
            "select schema_name, table_name, column_name, data_type, comment from duckdb_columns() "
            "where database_name = current_database() order by schema_name, table_name, column_index"
        ).fetchall()
        relations = con.execute(
            "select schema_name, table_name, comment from duckdb_tables() where database_name = current_database() "
            "union all select schema_name, view_name, comment from duckdb_views() "
            "where database_name = current_database() and not internal"
        ).fetchall()
        yield con, columns, relations
    finally:
        con.close()


def test_the_sample_warehouse_holds_exactly_what_is_declared(warehouse_catalog):
    _, columns, relations = warehouse_catalog
    declared = {k: v for k, v in registry.outputs().items() if v.schema != "core"}
    held = {f"{s}.{n}" for s, n, _ in relations}
    assert held - set(declared) == set(), "tables in the warehouse the registry does not declare"
    # every declared table is in the sample quarter (it has every kind of input)
    assert set(declared) - held == set()
    by_table: dict[str, list[tuple[str, str]]] = {}
    for s, n, c, t, _ in columns:
        by_table.setdefault(f"{s}.{n}", []).append((c, t))
    for name, cols in by_table.items():
        assert cols == [(c.name, c.type) for c in declared[name].columns], name


def test_every_table_and_column_of_the_warehouse_has_its_comment(warehouse_catalog):
    _, columns, relations = warehouse_catalog
    assert [f"{s}.{n}" for s, n, comment in relations if not comment] == []
    assert [f"{s}.{n}.{c}" for s, n, c, _, comment in columns if not comment] == []
    s, n, c, _, comment = next(r for r in columns if r[1] == "service_objects" and r[2] == "ttft_p50_ms")
    assert comment == registry.output("service_objects").column("ttft_p50_ms").comment
    assert comment.endswith("[ms]")


def test_grains_are_keys_in_the_sample_warehouse(warehouse_catalog):
    con, _, _ = warehouse_catalog
    for o in registry.outputs().values():
        if o.schema == "core":
            continue
        cols = ", ".join(f'"{g}"' for g in o.grain)
        dups = con.execute(
            f"select count(*) from (select {cols} from {o.table} group by all having count(*) > 1)"
        ).fetchone()[0]
        assert dups == 0, f"{o.table}: grain ({cols}) is not a key"


def test_the_core_tables_of_the_sample_record_are_what_is_declared(generated_quarter):
    """The intermediate tables in the published generation's Parquet record: columns and types
    as declared, grains unique."""
    _, wh = generated_quarter
    record = wh.parent / f"{wh.stem}.store" / "current" / "parquet" / "core"
    assert record.is_dir(), record
    con = duckdb.connect()
    for o in registry.outputs().values():
        if o.schema != "core":
            continue
        one = record / f"{o.name}.parquet"
        source = (
            f"read_parquet('{one}')"
            if one.exists()
            else f"read_parquet('{record / o.name / '**' / '*.parquet'}', hive_partitioning = true)"
        )
        cols = [(c, t) for c, t, *_ in con.execute(f"describe select * from {source}").fetchall()]
        assert cols == [(c.name, c.type) for c in o.columns], o.table
        keys = ", ".join(f'"{g}"' for g in o.grain)
        dups = con.execute(f"select count(*) from (select {keys} from {source} group by all having count(*) > 1)")
        assert dups.fetchone()[0] == 0, f"{o.table}: grain is not a key"
    assert {p.name.removesuffix(".parquet") for p in record.iterdir()} == {
        o.name for o in registry.outputs().values() if o.schema == "core"
    }


def test_readme_reference_and_columns_doc_are_current():
    readme = (REPO / "README.md").read_text()
    assert registry.with_reference(readme) == readme, (
        "README's table reference is stale: run `servicelens tables --write`"
    )
    assert (REPO / "docs" / "tables.md").read_text() == registry.columns_reference(), (
        "docs/tables.md is stale: run `servicelens tables --write`"
    )


def test_every_asset_that_writes_a_table_shows_its_column_schema():
    from pipeline.definitions import defs

    graph = defs().resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    for o in registry.outputs().values():
        assert o.asset in keys, f"{o.table}: asset {o.asset} does not exist"
    shown = 0
    for key in {o.asset for o in registry.outputs().values()}:
        main = next((o for o in registry.for_asset(key) if key in (o.name, f"stg_{o.name}")), None)
        if main is not None:
            schema = graph.get(dg.AssetKey(key)).metadata["dagster/column_schema"]
            assert [c.name for c in schema.columns] == [c.name for c in main.columns], key
            shown += 1
    assert shown >= 30
