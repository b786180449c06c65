"""The outputs, declared once: every table the warehouse publishes (schemas `staging` and
`marts`) and every intermediate table the marts are merged from (`core`, in the Parquet record
only), with its grain, the file that builds it, what it reads, and every column's type, unit
and meaning.

The declarations are data, one YAML file per table in pipeline/registry/ (`<table>.yaml` for a
mart, `stg_<dataset>.yaml` for a staged dataset), as pipeline/lib/contract.py is for the
inputs. From them come the warehouse's `COMMENT ON` statements (pipeline/lib/warehouse.py),
the column schemas Dagster shows for each asset (pipeline/defs/schemas.py) and the table
reference in README.md (`servicelens tables --readme`; a test checks it is current).

A mart declared with `factory: sql` and `reads: {parameter: mart}` is built from sql/marts/<name>.sql
over those marts' files, one asset each in one step (`report_marts`): adding such a mart is its SQL
file and its YAML.

A column whose `doc` is left out takes the shared meaning in pipeline/registry/_columns.yaml
(`period`, `model`, ...).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import yaml

REGISTRY_DIR = Path(__file__).resolve().parents[1] / "registry"
SHARED = "_columns.yaml"


class RegistryError(ValueError):
    pass


@dataclass(frozen=True)
class OutputColumn:
    name: str
    type: str
    doc: str
    unit: str | None = None

    @property
    def comment(self) -> str:
        """The column's comment in the warehouse: its meaning, then its unit."""
        return f"{self.doc} [{self.unit}]" if self.unit else self.doc


@dataclass(frozen=True)
class Output:
    schema: str
    name: str
    description: str
    grain: tuple[str, ...]
    built_by: tuple[str, ...]
    inputs: tuple[str, ...]
    columns: tuple[OutputColumn, ...]
    asset: str
    source: Path
    # the meaning of a column the table passes through from the drop without declaring it
    extra_columns: str | None = None
    # `sql`: a mart built by sql/marts/<name>.sql alone, its parameters the files of the marts (or
    # core tables, `core.<name>`) named in `reads` (pipeline/lib/sql_marts.py, pipeline/defs/analysis/summary.py)
    factory: str | None = None
    reads: tuple[tuple[str, str], ...] = ()

    @property
    def table(self) -> str:
        return f"{self.schema}.{self.name}"

    @property
    def comment(self) -> str:
        """The table's comment in the warehouse: what a row is, its grain and where it is built."""
        return f"{self.description} Grain: {', '.join(self.grain)}. Built by {', '.join(self.built_by)}."

    def column(self, name: str) -> OutputColumn:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"{self.table} has no column {name!r}")


def _columns(entry: dict, shared: dict, where: str) -> tuple[OutputColumn, ...]:
    out = []
    for name, spec in (entry.get("columns") or {}).items():
        spec = dict(spec or {})
        if "type" not in spec:
            raise RegistryError(f"{where}: column {name} has no type")
        base = shared.get(name) or {}
        doc = spec.get("doc") or base.get("doc")
        if not doc:
            raise RegistryError(f"{where}: column {name} has no doc and no shared meaning in {SHARED}")
        out.append(OutputColumn(name, str(spec["type"]), " ".join(doc.split()), spec.get("unit", base.get("unit"))))
    return tuple(out)


def _load(path: Path):
    # the C loader where PyYAML has it: the registry is read at every start of the definitions
    return yaml.load(path.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


@functools.cache
def outputs() -> dict[str, Output]:
    """Every declared output by its table name (`marts.family_demand`), in file order."""
    shared = {k: (v if isinstance(v, dict) else {"doc": v}) for k, v in _load(REGISTRY_DIR / SHARED).items()}
    found: dict[str, Output] = {}
    for path in sorted(REGISTRY_DIR.glob("*.yaml")):
        if path.name == SHARED:
            continue
        entry = _load(path)
        schema, _, name = str(entry["table"]).partition(".")
        built_by = entry["built_by"]
        out = Output(
            schema=schema,
            name=name,
            description=" ".join(str(entry["description"]).split()),
            grain=tuple(entry.get("grain") or ()),
            built_by=tuple(built_by if isinstance(built_by, list) else [built_by]),
            inputs=tuple(
                entry.get("inputs") or (m if "." in m else f"marts.{m}" for m in (entry.get("reads") or {}).values())
            ),
            columns=_columns(entry, shared, path.name),
            asset=entry.get("asset") or (f"stg_{name}" if schema == "staging" else name),
            source=path,
            extra_columns=entry.get("extra_columns"),
            factory=entry.get("factory"),
            reads=tuple((entry.get("reads") or {}).items()),
        )
        found[out.table] = out
    return found


def output(table: str) -> Output:
    """One declared output, by `schema.name` or by its bare name (a mart, else a core table)."""
    candidates = (table,) if "." in table else (f"marts.{table}", f"core.{table}")
    for name in candidates:
        if name in outputs():
            return outputs()[name]
    raise RegistryError(f"{candidates[0]} is not declared in {REGISTRY_DIR}")


def comment_statements(con) -> list[str]:
    """`COMMENT ON` statements for every declared table, view and column the connected database
    (its current catalog) holds. A column it holds but the registry does not declare gets the
    table's `extra_columns` meaning, or none (tests/lib/test_registry.py keeps that from
    happening on the sample quarter)."""
    # COMMENT ON takes no parameters: the texts are the registry's, quoted as literals
    from pipeline.lib.duck import lit

    kinds = dict(
        ((s, n), k)
        for s, n, k in con.execute(
            "select schema_name, table_name, 'table' from duckdb_tables() where database_name = current_database() "
            "union all select schema_name, view_name, 'view' from duckdb_views() "
            "where database_name = current_database() and not internal"
        ).fetchall()
    )
    columns: dict[tuple[str, str], list[str]] = {}
    for s, n, c in con.execute(
        "select schema_name, table_name, column_name from duckdb_columns() where database_name = current_database()"
    ).fetchall():
        columns.setdefault((s, n), []).append(c)
    out = []
    for o in outputs().values():
        kind = kinds.get((o.schema, o.name))
        if kind is None:
            continue
        out.append(f"comment on {kind} {o.table} is {lit(o.comment)}")
        declared = {c.name: c.comment for c in o.columns}
        for c in columns.get((o.schema, o.name), []):
            text = declared.get(c, o.extra_columns)
            if text:
                quoted = '"' + c.replace('"', '""') + '"'
                out.append(f"comment on column {o.table}.{quoted} is {lit(text)}")
    return out


def for_asset(asset: str) -> list[Output]:
    """The outputs an asset writes (a multi-asset's spec names one each)."""
    return [o for o in outputs().values() if o.asset == asset]


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def readme_reference() -> str:
    """The README's table reference: a row per published table (grain, the file that builds
    it, what a row is); the columns' meanings are in docs/tables.md."""
    lines = []
    for schema in ("staging", "marts", "core"):
        title = (
            f"Schema `{schema}`"
            if schema != "core"
            else "The pipeline's own tables (`core`, in the Parquet record only)"
        )
        lines += ["", f"**{title}**", "", "| table | grain | built by | what a row is |", "|---|---|---|---|"]
        for o in outputs().values():
            if o.schema == schema:
                built = ", ".join(f"`{b}`" for b in o.built_by)
                lines.append(f"| `{o.table}` | {', '.join(o.grain)} | {built} | {_cell(o.description)} |")
    return "\n".join(lines[1:]) + "\n"


def columns_reference() -> str:
    """docs/tables.md: every published table and column with its type, unit and meaning."""
    lines = [
        "# The warehouse's tables and columns",
        "",
        "Generated from pipeline/registry/ by `servicelens tables --write` (a test checks it is current); the same",
        "text is on every table and column of the DuckDB file (`select table_name, column_name, comment from",
        "duckdb_columns()`) and in the Dagster UI's column schema of each asset.",
    ]
    for o in outputs().values():
        lines += ["", f"## {o.table}", "", o.description, ""]
        lines += [f"Grain: {', '.join(o.grain)}. Built by {', '.join(f'`{b}`' for b in o.built_by)}."]
        if o.inputs:
            lines += ["", f"Reads: {', '.join(o.inputs)}."]
        lines += ["", "| column | type | unit | meaning |", "|---|---|---|---|"]
        lines += [f"| `{c.name}` | {_cell(c.type)} | {_cell(c.unit or '')} | {_cell(c.doc)} |" for c in o.columns]
        if o.extra_columns:
            lines += ["", f"Any other column: {o.extra_columns}."]
    return "\n".join(lines) + "\n"


README_START = "<!-- tables: generated from pipeline/registry/ by `servicelens tables --write`; do not edit -->"
README_END = "<!-- tables: end -->"


def with_reference(readme: str) -> str:
    """The README text with its generated table reference replaced by the current one."""
    head, start, rest = readme.partition(README_START)
    _, end, tail = rest.partition(README_END)
    if not start or not end:
        raise RegistryError(f"README.md has no {README_START} ... {README_END} section")
    return f"{head}{README_START}\n{readme_reference()}{README_END}{tail}"
