"""Reading Parquet files (and, through Arrow, files DuckDB cannot read as they are) into sources."""

from __future__ import annotations

import itertools
import re

import duckdb
import pyarrow as pa

from pipeline.lib.contract import Dataset
from pipeline.lib.duck import lit, q
from pipeline.lib.ingest.discovery import SourceFile
from pipeline.lib.ingest.sources import (
    FILE_COL,
    Source,
    dedupe,
    fresh_name,
    hive_columns,
    positional,
    short_error,
    sql_str,
)


def parquet_sources(
    con, spec: Dataset, files: list[SourceFile], errors: dict[str, str], one_by_one: bool = False
) -> list[Source]:
    groups: dict[tuple, list[SourceFile]] = {}
    try:
        schemas = _parquet_schemas(con, files)
    except duckdb.Error:
        schemas = None  # a footer that cannot be read: file by file below
    described: dict[tuple, tuple] = {}
    for sf in files:
        try:
            schema = schemas.get(str(sf.path)) if schemas else None
            if schema is None:
                schema = _parquet_schemas(con, [sf]).get(str(sf.path)) or ("describe", sf.rel)
            # Columns are read by position: files share a scan only when their columns are
            # the same in the same order.
            if schema not in described:
                desc = con.execute(
                    f"describe select * from read_parquet({lit(str(sf.path))}, hive_partitioning = false)"
                ).fetchall()
                names = _top_level_names(schema, [n for n, *_ in desc]) or [n for n, *_ in desc]
                described[schema] = (tuple(dedupe(names)), tuple(t for _, t, *_ in desc))
            names, types = described[schema]
        except duckdb.Error as exc:
            errors[sf.rel] = short_error(exc)
            continue
        # path values matter only where they stand in for a contract column the file lacks
        used_hive = tuple(sorted(hive_columns(sf, set(names), spec).items()))
        key: tuple = (names, types, used_hive)
        if one_by_one or any(n.lower() == "file_row_number" for n in names):
            key += (sf.rel,)  # read alone: DuckDB cannot add its row number beside such a column
        groups.setdefault(key, []).append(sf)
    return [_parquet_group(spec, list(names), list(types), group) for (names, types, *_), group in groups.items()]


def _parquet_group(spec: Dataset, names: list[str], types: list[str], group: list[SourceFile]) -> Source:
    # Source columns are selected by position (#1, #2, ...) under generated names; the
    # filename column gets a name no column of the file has.
    lower = {n.lower() for n in names}
    fcol = fresh_name(FILE_COL, lower)
    columns = positional(names, types)
    columns.update(hive_columns(group[0], set(columns), spec))
    paths = "[" + ", ".join(lit(str(sf.path)) for sf in group) + "]"
    # rel = the path after the drop folder: a substring, cheaper per row than a lookup
    offset = len(str(group[0].path)) - len(group[0].rel) + 1
    if "file_row_number" in lower:
        row_number, opts = "row_number() over ()", ""  # a single file read in order
    else:
        row_number, opts = "file_row_number + 1", ", file_row_number = true"
    cols = "".join(f"#{i + 1} as __sl_c{i}, " for i in range(len(names)))
    sql = (
        f"select {cols}substr({q(fcol)}, {offset}) as __sl_source_file, {row_number} as __sl_row_number "
        f"from read_parquet({paths}, filename = {lit(fcol)}{opts}, hive_partitioning = false)"
    )
    return Source(sql, columns, group)


def _top_level_names(schema: tuple, described: list[str]) -> list[str] | None:
    """The file's own top-level column names from its schema rows (DuckDB's describe renames
    repeats such as `Model` beside `model` to `Model_1`); None when they do not walk cleanly
    or do not match what describe read, position by position."""
    rows = list(schema)
    if not rows or rows[0] == "describe":
        return None
    names, i = [], 1
    for _ in range(rows[0][2]):
        if i >= len(rows):
            return None
        names.append(rows[i][0])
        pending = rows[i][2]
        i += 1
        while pending:  # skip the nested fields of this column
            if i >= len(rows):
                return None
            pending += rows[i][2] - 1
            i += 1
    if len(names) != len(described):
        return None
    for own, seen in zip(names, described, strict=False):
        # describe renames a name taken before (compared case-insensitively) by appending _<n>,
        # again until it is free; a column without a name is C<position>, a second one _<n> (a repeat of '')
        stem = re.escape(own) if own else r"(C\d+)?"
        if own != seen and not re.fullmatch(stem + r"(_\d+)*", seen, flags=re.IGNORECASE):
            return None
    return names


def _parquet_schemas(con, files: list[SourceFile]) -> dict[str, tuple] | None:
    """One query for the schema of every file, in schema order (a describe per file costs
    more than the read for small daily files); raises when a footer is unreadable."""
    if not files:
        return {}
    rows = con.execute(
        "select file_name, name, coalesce(duckdb_type, '?'), coalesce(num_children, 0) from parquet_schema($files)",
        {"files": [str(sf.path) for sf in files]},
    ).fetchall()
    out: dict[str, list] = {}
    for f, *rest in rows:
        out.setdefault(f, []).append(tuple(rest))
    return {f: tuple(r) for f, r in out.items()}


_arrow_ids = itertools.count()


def arrow_source(con, spec: Dataset, sf: SourceFile) -> Source:
    """A Parquet file DuckDB's reader gave up on (a string that is not UTF-8, a timestamp it
    cannot convert: one bad value fails the whole scan), read with Arrow instead: strings
    come in as bytes and timestamps/dates as numbers, converted per value in SQL, so a bad
    value costs its row (`bad_encoding` / `bad_type`), not the file."""
    import pyarrow.parquet as pq

    table = pq.ParquetFile(sf.path).read()  # not read_table: it refuses repeated column names
    arrays, conv, checks = [], {}, []
    for i, (fld, col) in enumerate(zip(table.schema, table.columns, strict=False)):
        c, t, label = f"__sl_c{i}", fld.type, fld.name.replace("\x00", "\ufffd")
        if pa.types.is_dictionary(t):
            col, t = col.cast(t.value_type), t.value_type
        if pa.types.is_string(t) or pa.types.is_large_string(t):
            col = col.cast(pa.large_binary())
            conv[c] = (f"coalesce(try(decode({c})), cast({c} as varchar))", "VARCHAR")
            checks.append(
                f"case when {c} is not null and try(decode({c})) is null then {sql_str(f'bad_encoding: {label} is not valid UTF-8')} end"
            )
        elif pa.types.is_timestamp(t):
            col = col.cast(pa.int64())
            scale = {"s": " * 1000000", "ms": " * 1000", "us": "", "ns": " // 1000"}[t.unit]
            conv[c] = (f"try(make_timestamp({c}{scale}))", "TIMESTAMP")
        elif pa.types.is_date32(t):
            col = col.cast(pa.int32())
            conv[c] = (f"try(date '1970-01-01' + {c})", "DATE")
        elif pa.types.is_date64(t):
            col = col.cast(pa.int64())
            conv[c] = (f"try(cast(make_timestamp({c} * 1000) as date))", "DATE")
        if c in conv and conv[c][1] != "VARCHAR":
            word = "timestamp" if conv[c][1] == "TIMESTAMP" else "date"
            checks.append(
                f"case when {c} is not null and {conv[c][0]} is null then {sql_str(f'bad_type: {label} is not a valid {word}')} end"
            )
        arrays.append(col)
    arrays.append(pa.array(range(1, table.num_rows + 1), pa.int64()))
    view = f"__arrow_{next(_arrow_ids)}"
    con.register(view, pa.table(arrays, names=[f"__sl_c{i}" for i in range(len(arrays) - 1)] + ["__sl_rn"]))
    types = [t for _, t, *_ in con.execute(f"describe select * exclude (__sl_rn) from {view}").fetchall()]
    names = dedupe([f.name for f in table.schema])
    columns = {}
    for i, (n, t) in enumerate(zip(names, types, strict=False)):
        columns[n] = conv.get(f"__sl_c{i}", (f"__sl_c{i}", t))
    columns.update(hive_columns(sf, set(columns), spec))
    sql = f"select *, {lit(sf.rel)} as __sl_source_file, __sl_rn as __sl_row_number from {view}"
    reject = f"nullif(concat_ws('; ', {', '.join(checks)}), '')" if checks else None
    return Source(sql, columns, [sf], reject_sql=reject, fallback=True)
