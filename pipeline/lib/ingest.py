"""Ingestion engine: one contract dataset from a raw drop into typed, deduplicated Parquet.

Every input row ends in exactly one of three places, and the audit says which:
  loaded       -> staging/<dataset>/ (typed, extra columns kept as text)
  quarantined  -> ingest/<dataset>/quarantine.parquet with its reason and raw text
  duplicate    -> counted only (identical to a row already loaded)

All row work is set-based DuckDB SQL generated from `pipeline.lib.contract`; Python only
loops over files. A file that cannot be read is recorded as unreadable and never stops the
others. Outputs are written to a temporary folder and renamed into place.
"""

from __future__ import annotations

import bisect
import csv
import itertools
import re
import shutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from pipeline.lib.contract import BOOL, DATE, FLOAT, INT, STR, TS, Column, Dataset
from pipeline.paths import ingest_dir, staging_dir
from pipeline.sql import load_sql

# Names the engine adds beside the data; a data column may not take them (see _safe_columns).
_FILE_COL = "__sl_filename"
_CSV_K = "__sl_k"
_INTERNAL = {"_source_file", "_row_number", "_reason", "_raw", _FILE_COL, _CSV_K, "line", "__vals"}
GLOB_CHARS = set("*?[]{}")
# DuckDB's default line limit (2 MB) would make one long line fail its whole file; a
# larger limit costs a proportionally larger read buffer, so it is used only on retry.
MAX_LINE_BYTES = 64 * 2**20
LINE_OPTS = "<line-opts>"  # placeholder in read SQL, see _with_long_lines
_LONG_LINE_OPTS = f"max_line_size = {MAX_LINE_BYTES}, buffer_size = {2 * MAX_LINE_BYTES}, "
FORMATS = {".parquet": "parquet", ".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}
# DuckDB type families of a source column, for choosing a cast
_INT_TYPES = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT", "UHUGEINT"}
_FLOAT_TYPES = {"FLOAT", "DOUBLE", "REAL"}
_TYPE_WORDS = {INT: "integer", FLOAT: "number", BOOL: "boolean", TS: "timestamp", DATE: "date", STR: "string"}
# Columns the staging SQL (sql/staging/*.sql) adds to contract columns.
RESERVED_OUTPUT_COLUMNS = {
    "date", "usd_per_unit", "input_usd_per_mtok", "output_usd_per_mtok", "cached_input_usd_per_mtok", "decode_tps", "e2e_tps",
}


@dataclass(frozen=True)
class SourceFile:
    path: Path
    rel: str  # path relative to the drop folder: what audit and quarantine show
    fmt: str
    hive: dict[str, str] = field(default_factory=dict)


@dataclass
class StageResult:
    dataset: str
    rows_read: int
    rows_loaded: int
    rows_quarantined: int
    rows_duplicate: int
    files: int
    unreadable_files: int


def q(ident: str) -> str:
    """Quote an identifier (column names come from data files, so never trust them)."""
    return '"' + ident.replace('"', '""') + '"'


def lit(value: str) -> str:
    """A SQL string literal. Only for values DuckDB will not take as parameters (table
    function arguments such as file paths, COPY targets); everything else is bound."""
    return "'" + str(value).replace("'", "''") + "'"


def connect(temp_dir: Path | None = None, memory_limit: str = "3GB") -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(":memory:")
    # Naive timestamps mean UTC (contract); the session zone decides how they are read.
    con.execute("set TimeZone = 'UTC'")
    con.execute(f"set memory_limit = {lit(memory_limit)}")
    if temp_dir is not None:
        Path(temp_dir).mkdir(parents=True, exist_ok=True)
        con.execute(f"set temp_directory = {lit(str(temp_dir))}")
    # The period labels every mart uses (2025Q4, 2025-11), spelled once.
    con.execute("create macro quarter_label(d) as strftime(d, '%Y') || 'Q' || quarter(d)")
    con.execute("create macro month_label(d) as strftime(d, '%Y-%m')")
    return con


# --------------------------------------------------------------------------- discovery


def discover(raw_dir: Path, dataset: str) -> list[SourceFile]:
    """Files of one dataset, sorted by relative path (the order that decides which of two
    rows with one key was seen first). Names starting with `_` or `.` are ignored."""
    base = Path(raw_dir) / dataset
    if not base.is_dir():
        return []
    out = []
    for path in sorted(base.rglob("*")):
        rel_parts = path.relative_to(base).parts
        if not path.is_file() or any(p.startswith(("_", ".")) for p in rel_parts):
            continue
        fmt = FORMATS.get(path.suffix.lower())
        hive = dict(p.split("=", 1) for p in rel_parts[:-1] if "=" in p)
        out.append(SourceFile(path, f"{dataset}/{'/'.join(rel_parts)}", fmt or "unknown", hive))
    return out


# ------------------------------------------------------------------- typed coercion SQL


def _present(expr: str, src_type: str) -> str:
    if _is_text(src_type):
        return f"(nullif(trim(cast({expr} as varchar)), '') is not null)"
    return f"({expr} is not null)"


def _is_text(src_type: str) -> bool:
    return src_type.upper().startswith(("VARCHAR", "JSON")) or src_type.upper() == "NULL"


def coerce(expr: str, src_type: str, col: Column) -> str:
    """SQL turning a source value into the contract type, NULL where it does not fit."""
    st = src_type.upper()
    text = _is_text(st)
    t = col.type
    if t == STR:
        out = f"nullif(trim(cast({expr} as varchar)), '')"
        if col.lower:
            out = f"lower({out})"
        if col.upper:
            out = f"upper({out})"
        return out
    if t == INT:
        if st in _INT_TYPES:
            return f"try_cast({expr} as bigint)"
        if text or st in _FLOAT_TYPES or st.startswith("DECIMAL"):
            # try_cast('1.5' as bigint) rounds to 2: a token count must be whole, so go
            # through double and keep only integral values.
            d = f"try_cast(trim(cast({expr} as varchar)) as double)" if text else f"cast({expr} as double)"
            return f"(case when {d} = floor({d}) and abs({d}) < 9e15 then cast({d} as bigint) end)"
        return "cast(null as bigint)"
    if t == FLOAT:
        if text:
            d = f"try_cast(trim({expr}) as double)"
        elif st in _INT_TYPES or st in _FLOAT_TYPES or st.startswith("DECIMAL"):
            d = f"cast({expr} as double)"
        else:
            return "cast(null as double)"
        return f"(case when isfinite({d}) then {d} end)"
    if t == BOOL:
        if st == "BOOLEAN":
            return expr
        if text:
            return f"try_cast(trim({expr}) as boolean)"
        if st in _INT_TYPES:
            return f"(case when {expr} in (0, 1) then {expr} = 1 end)"
        return "cast(null as boolean)"
    if t == TS:
        # make_timestamp(epoch_us(x)) is the UTC wall time of an instant; timezone('UTC', x)
        # gives the same value but goes through the calendar, ten times slower.
        if text:
            return f"make_timestamp(epoch_us(try_cast(trim({expr}) as timestamptz)))"
        if st.startswith("TIMESTAMP WITH TIME ZONE") or st == "TIMESTAMPTZ":
            return f"make_timestamp(epoch_us({expr}))"
        if st.startswith("TIMESTAMP") or st == "DATE":
            return f"cast({expr} as timestamp)"
        return "cast(null as timestamp)"
    if t == DATE:
        if text:
            # A value with a time part is an instant: its date is the UTC date, as for
            # zoned Parquet timestamps (try_cast(... as date) would drop the offset).
            return (
                f"(case when length(trim({expr})) > 10 "
                f"then cast(make_timestamp(epoch_us(try_cast(trim({expr}) as timestamptz))) as date) "
                f"else try_cast(trim({expr}) as date) end)"
            )
        if st.startswith("TIMESTAMP WITH TIME ZONE") or st == "TIMESTAMPTZ":
            return f"cast(make_timestamp(epoch_us({expr})) as date)"
        if st.startswith("TIMESTAMP") or st == "DATE":
            return f"cast({expr} as date)"
        return "cast(null as date)"
    raise ValueError(f"unknown contract type {t}")


def _range_rules(col: Column, v: str) -> list[tuple[str, str]]:
    """(condition that is true when the value breaks the rule, reason) pairs."""
    out = []
    if col.min_value is not None:
        op, word = ("<=", ">") if col.min_exclusive else ("<", ">=")
        out.append((f"{v} {op} {col.min_value}", f"out_of_range: {col.name} must be {word} {col.min_value:g}"))
    if col.max_value is not None:
        out.append((f"{v} > {col.max_value}", f"out_of_range: {col.name} must be <= {col.max_value:g}"))
    if col.allowed is not None:
        allowed = ", ".join(f"'{a}'" for a in col.allowed)
        out.append((f"{v} not in ({allowed})", f"not_allowed: {col.name} must be one of {', '.join(col.allowed)}"))
    return out


def _any_broken(rules: list[tuple[str, str]]) -> str:
    return " or ".join(f"coalesce({c}, false)" for c, _ in rules) if rules else "false"


def _reason_text(rules: list[tuple[str, str]]) -> str:
    return "concat_ws('; ', " + ", ".join(f"case when {c} then {lit(r)} end" for c, r in rules) + ")"


def validate_select(
    spec: Dataset,
    source_sql: str,
    columns: dict[str, tuple[str, str]],
    raw_sql: str | None = None,
    ref_tables: frozenset[str] = frozenset(),
) -> str:
    """SELECT producing, per source row: every contract column typed, extra columns as
    text, `_source_file`, `_row_number`, `_reason` (NULL when the row is good) and `_raw`
    (the row as text, only where `_reason` is set).

    `columns` maps a source column name to (SQL expression, DuckDB type). `source_sql`
    must expose those expressions plus `__sl_source_file` and `__sl_row_number`.
    """
    contract = set(spec.column_names)
    present_cols = [c for c in spec.columns if c.name in columns]
    extras = [n for n in columns if n not in contract]
    s = {c.name: q("__s_" + c.name) for c in present_cols}  # source value
    t = {c.name: q("__t_" + c.name) for c in spec.columns}  # typed value

    # L1: source values under fixed names; L2: typed values beside them.
    l1 = (
        [f"{columns[c.name][0]} as {s[c.name]}" for c in present_cols]
        + [f"cast({columns[n][0]} as varchar) as {q(n)}" for n in extras]
        + ["__sl_source_file as _source_file", "__sl_row_number as _row_number"]
        + ([f"{raw_sql} as __raw"] if raw_sql else [])
    )
    l2 = [f"{coerce(s[c.name], columns[c.name][1], c)} as {t[c.name]}" for c in present_cols]
    l2 += [f"cast(null as {c.type}) as {t[c.name]}" for c in spec.columns if c.name not in columns]

    # L3: contract names, and the rules that need only this row's own values.
    rules: list[tuple[str, str]] = []
    for c in spec.columns:
        if c.name not in columns:
            if c.required:
                rules.append(("true", f"missing: {c.name} (no such column)"))
            continue
        if c.type == STR:
            # the typed value is the trimmed text: null exactly when the source is blank
            if c.required:
                rules.append((f"{t[c.name]} is null", f"missing: {c.name}"))
        else:
            present = _present(s[c.name], columns[c.name][1])
            rules.append((f"{present} and {t[c.name]} is null", f"bad_type: {c.name} is not a valid {_TYPE_WORDS[c.type]}"))
            if c.required:
                rules.append((f"not {present}", f"missing: {c.name}"))
        rules += _range_rules(c, t[c.name])
    l3 = [f"{t[c.name]} as {q(c.name)}" for c in spec.columns] + [f"{_any_broken(rules)} as __type_bad"]

    # L4: references to other datasets and row rules, on typed values only (row alias v).
    more: list[tuple[str, str]] = []
    if "known_models" in ref_tables:
        more += [
            (f"v.{q(c)} is not null and v.{q(c)} not in (select model from known_models)", f"unknown_model: {c}")
            for c in spec.model_refs
        ]
    if "known_providers" in ref_tables:
        more += [
            (f"v.{q(c)} is not null and v.{q(c)} not in (select provider from known_providers)", f"unknown_provider: {c}")
            for c in spec.provider_refs
        ]
    for chk in spec.checks:
        if "known_fx" in chk.sql and "known_fx" not in ref_tables:
            continue
        more.append((f"({chk.sql})", chk.reason))

    # L5: the reason text and the raw row, built for bad rows only (most rows are good,
    # and building a string per row would cost more than all the checks together).
    raw_fields = ", ".join(f"{lit(c.name)}: {s[c.name]}" for c in present_cols)
    raw_expr = "__raw" if raw_sql else (f"to_json({{{raw_fields}}})" if raw_fields else "'{}'")
    all_rules = rules + more
    out = (
        [q(c.name) for c in spec.columns]
        + [q(n) for n in extras]
        + [
            "_source_file",
            "_row_number",
            f"case when __bad then nullif({_reason_text(all_rules)}, '') end as _reason" if all_rules else "null::varchar as _reason",
            f"case when __bad then cast({raw_expr} as varchar) end as _raw",
        ]
    )
    return (
        f"select {', '.join(out)} from ("
        f"select *, __type_bad or {_any_broken(more)} as __bad from ("
        f"select *, {', '.join(l3)} from ("
        f"select *, {', '.join(l2)} from ("
        f"select {', '.join(l1)} from ({source_sql}) s1) s2) s3) v) v"
    )


# ------------------------------------------------------------------- reading the files


@dataclass
class _Source:
    """One readable unit: SQL exposing the source columns plus _source_file/_row_number."""

    sql: str
    columns: dict[str, tuple[str, str]]
    files: list[SourceFile]
    raw_sql: str | None = None


def _hive_columns(sf: SourceFile, present: set[str], spec: Dataset) -> dict[str, tuple[str, str]]:
    # Partition values in the path stand in for contract columns missing from the file;
    # other path keys (date=...) only organise files and are not data.
    return {
        k: (lit(v), "VARCHAR")
        for k, v in sf.hive.items()
        if k in spec.column_names and k not in present
    }


def _parquet_sources(con, spec: Dataset, files: list[SourceFile], errors: dict[str, str]) -> list[_Source]:
    groups: dict[tuple, list[SourceFile]] = {}
    signatures = _parquet_signatures(con, files)
    described: dict[str, list] = {}
    for sf in files:
        try:
            sig = signatures.get(str(sf.path)) if signatures else None
            if sig is None or sig not in described:
                desc = con.execute(f"describe select * from read_parquet({lit(str(sf.path))}, hive_partitioning = false)").fetchall()
                if sig is not None:
                    described[sig] = desc
            else:
                desc = described[sig]
        except duckdb.Error as exc:
            errors[sf.rel] = _short(exc)
            continue
        # Files with one schema are read in one scan; path values matter only where they
        # stand in for a contract column the file lacks.
        used_hive = tuple(sorted(_hive_columns(sf, {n for n, *_ in desc}, spec).items()))
        sig = (tuple((n, t) for n, t, *_ in desc), used_hive)
        if any(n.lower() == "file_row_number" for n, *_ in desc):
            sig += (sf.rel,)  # read alone: DuckDB cannot add its row number beside such a column
        groups.setdefault(sig, []).append(sf)
    sources = []
    for (cols, *_), group in groups.items():
        columns = {n: (q(n), t) for n, t in cols}
        columns.update(_hive_columns(group[0], set(columns), spec))
        paths = "[" + ", ".join(lit(str(sf.path)) for sf in group) + "]"
        # rel = the path after the drop folder: a substring, cheaper per row than a lookup
        offset = len(str(group[0].path)) - len(group[0].rel) + 1
        if any(n.lower() == "file_row_number" for n in columns):
            row_number, opts = "row_number() over ()", ""  # a single file read in order
        else:
            row_number, opts = "file_row_number + 1", ", file_row_number = true"
        sql = (
            f"select *, substr({q(_FILE_COL)}, {offset}) as __sl_source_file, {row_number} as __sl_row_number "
            f"from read_parquet({paths}, filename = {lit(_FILE_COL)}{opts}, hive_partitioning = false)"
        )
        sources.append(_Source(sql, columns, group))
    return sources


def _parquet_signatures(con, files: list[SourceFile]) -> dict[str, str] | None:
    """One query for the schema of every file (a describe per file costs more than the
    read for small daily files); None when any footer is unreadable (then: file by file)."""
    if not files:
        return {}
    try:
        rows = con.execute(
            "select file_name, list_sort(list(name || ':' || coalesce(duckdb_type, '?') || ':' || coalesce(num_children, 0))) "
            "from parquet_schema($files) group by 1",
            {"files": [str(sf.path) for sf in files]},
        ).fetchall()
    except duckdb.Error:
        return None
    return {name: "|".join(sig) for name, sig in rows}


def _csv_header(path: Path) -> list[str]:
    """Column names from the first line. Read here rather than sniffed by DuckDB, so one
    broken line (an unterminated quote) cannot make the whole file unreadable."""
    with path.open("r", encoding="utf-8-sig", newline="") as fh:
        first = fh.readline(MAX_LINE_BYTES)
    if not first.strip():
        return []
    names = next(csv.reader([first]))
    out: list[str] = []
    for i, n in enumerate(names):
        n = n.strip() or f"column{i}"
        while n in out:
            n += "_dup"
        out.append(n)
    return out


_table_ids = itertools.count()  # unique temp-table names within a connection


def _csv_sources(con, spec: Dataset, files: list[SourceFile], errors: dict[str, str], malformed: list[tuple]) -> list[_Source]:
    """CSV files with one header are read in one multi-file scan (daily exports are many
    small files); a group that fails is retried file by file so one bad file cannot stop
    the others."""
    groups: dict[tuple, list[SourceFile]] = {}
    for sf in files:
        try:
            names = _csv_header(sf.path)
        except (OSError, UnicodeDecodeError, csv.Error) as exc:
            errors[sf.rel] = _short(exc)
            continue
        if names:  # an empty file has no rows
            used_hive = tuple(sorted(_hive_columns(sf, set(names), spec).items()))
            groups.setdefault((tuple(names), used_hive), []).append(sf)
    sources: list[_Source] = []
    pending = [(list(names), group) for (names, _), group in groups.items()]
    while pending:
        names, group = pending.pop(0)
        try:
            src, bad = _csv_group(con, spec, names, group, next(_table_ids))
        except duckdb.Error as exc:
            if len(group) > 1:
                pending = [(names, [sf]) for sf in group] + pending
            else:
                errors[group[0].rel] = _short(exc)
            continue
        sources.append(src)
        malformed.extend(bad)
    return sources


def _csv_group(con, spec: Dataset, names: list[str], group: list[SourceFile], idx: int) -> tuple[_Source, list[tuple]]:
    table, rej, scan = f"__csv_{idx}", f"__rej_{idx}", f"__scan_{idx}"
    types = "{" + ", ".join(f"{lit(n)}: 'VARCHAR'" for n in names) + "}"
    paths = "[" + ", ".join(lit(str(sf.path)) for sf in group) + "]"
    read = (
        f"create or replace temp table {table} as select *, row_number() over () as {_CSV_K} from read_csv({paths}, "
        f"columns = {types}, header = false, skip = 1, auto_detect = false, delim = ',', quote = '\"', escape = '\"', "
        f"{LINE_OPTS}hive_partitioning = false, filename = {lit(_FILE_COL)}, "
        f"store_rejects = true, rejects_table = {lit(rej)}, rejects_scan = {lit(scan)})"
    )
    reject_sql = (
        f"select s.file_path, e.line, any_value(e.csv_line), string_agg(distinct cast(e.error_type as varchar), ', ') "
        f"from {rej} e join {scan} s using (scan_id, file_id) group by all order by 1, 2"
    )
    _with_long_lines(con, read)
    rejected = con.execute(reject_sql).fetchall()
    if any("LINE SIZE" in kind for *_, kind in rejected):
        # A record over DuckDB's default line limit is rejected, not raised: read the
        # files again with the larger limit rather than lose a valid row.
        con.execute(f"drop table if exists {rej}; drop table if exists {scan}")
        con.execute(read.replace(LINE_OPTS, _LONG_LINE_OPTS))
        rejected = con.execute(reject_sql).fetchall()
    # Row numbers count the non-blank records after the header. DuckDB's scan skips blank
    # lines and rejected records; its reject `line` counts blank lines. So a reject's
    # number is its line less the header and the blank lines above it, and a good record's
    # number is its place in its file's scan plus the rejects before it (few: a small table).
    rel = {str(sf.path): sf.rel for sf in group}
    blanks = {path: _blank_lines(con, Path(path)) for path in {r[0] for r in rejected}}
    bad, gaps, seen = [], [], {}
    for path, line, text, kind in rejected:
        row = line - 1 - bisect.bisect_left(blanks[path], line)
        bad.append((spec.name, rel[path], row, f"malformed_row: {kind.lower()}", (text or "").lstrip("\r\n")))
        seen[path] = seen.get(path, 0) + 1
        gaps.append((path, row - seen[path], seen[path]))
    con.execute(f"create or replace temp table {table}_gap (f varchar, g bigint, j bigint)")
    if gaps:
        con.executemany(f"insert into {table}_gap values (?, ?, ?)", gaps)
    con.execute(
        f"create or replace temp table {table}_off as select {q(_FILE_COL)} as f, min({_CSV_K}) - 1 as off from {table} group by 1"
    )
    offset = len(str(group[0].path)) - len(group[0].rel) + 1
    columns = {n: (q(n), "VARCHAR") for n in names}
    columns.update(_hive_columns(group[0], set(columns), spec))
    k = f"(c.{_CSV_K} - o.off)"
    sql = (
        f"select c.*, substr(c.{q(_FILE_COL)}, {offset}) as __sl_source_file, "
        f"{k} + coalesce((select max(j) from {table}_gap g where g.f = c.{q(_FILE_COL)} and g.g < {k}), 0) as __sl_row_number "
        f"from {table} c join {table}_off o on o.f = c.{q(_FILE_COL)}"
    )
    return _Source(sql, columns, group), bad


def _with_long_lines(con, sql: str):
    """Run a text-file read with DuckDB's default line limit; when a line is longer,
    retry with MAX_LINE_BYTES (and a buffer to match)."""
    try:
        return con.execute(sql.replace(LINE_OPTS, ""))
    except duckdb.Error as exc:
        if "line size" not in str(exc).lower() and "maximum line" not in str(exc).lower():
            raise
        return con.execute(sql.replace(LINE_OPTS, _LONG_LINE_OPTS))


def _blank_lines(con, path: Path) -> list[int]:
    """1-based numbers of the blank lines of a text file (only read when a CSV has rejects)."""
    return [
        n
        for (n,) in _with_long_lines(
            con,
            f"select n from (select row_number() over () as n, line from read_csv({lit(str(path))}, columns = {{'line': 'VARCHAR'}}, "
            f"header = false, delim = '\\x1e', quote = '', escape = '', auto_detect = false, strict_mode = false, "
            f"null_padding = true, {LINE_OPTS}hive_partitioning = false)) "
            f"where nullif(trim(line, ' \t\r'), '') is null order by n"
        ).fetchall()
    ]


# DuckDB does not short-circuit AND: json_type() on an invalid line raises, so guard it.
_IS_OBJECT = "coalesce(case when json_valid(line) then json_type(line) = 'OBJECT' end, false)"


def _jsonl_source(con, spec: Dataset, sf: SourceFile, idx: int, errors: dict[str, str], malformed: list[tuple]) -> _Source | None:
    table = f"__jsonl_{idx}"
    try:
        # Read lines as text (no delimiter, no quoting) so a malformed line is one bad row,
        # not a failed file, and keeps its line number. Validity is computed once and
        # stored, so later scans filter on it before any JSON function sees the line.
        _with_long_lines(con,
            f"create temp table {table} as select line, _row_number, {_IS_OBJECT} as __ok, "
            f"nullif(trim(line), '') is null as __blank from (select line, row_number() over () as _row_number "
            f"from read_csv({lit(str(sf.path))}, columns = {{'line': 'VARCHAR'}}, header = false, delim = '\\x1e', "
            f"quote = '', escape = '', auto_detect = false, strict_mode = false, null_padding = true, "
            f"{LINE_OPTS}hive_partitioning = false))"
        )
        keys = sorted(k for (k,) in con.execute(f"select distinct unnest(json_keys(line)) from {table} where __ok").fetchall())
    except duckdb.Error as exc:
        errors[sf.rel] = _short(exc)
        return None
    bad = con.execute(f"select _row_number, line from {table} where not __blank and not __ok order by _row_number").fetchall()
    for row, text in bad:
        malformed.append((spec.name, sf.rel, row, "malformed_json: line is not a JSON object", text))
    # One parse per line for all keys: json_extract_string with a list of paths.
    paths = "[" + ", ".join(lit("$." + json_path_key(k)) for k in keys) + "]"
    columns = {k: (f"__vals[{i}]", "VARCHAR") for i, k in enumerate(keys, 1)}
    columns.update(_hive_columns(sf, set(columns), spec))
    vals = f"json_extract_string(line, {paths})" if keys else "cast([] as varchar[])"
    sql = f"select line, _row_number as __sl_row_number, {lit(sf.rel)} as __sl_source_file, {vals} as __vals from {table} where __ok"
    return _Source(sql, columns, [sf], raw_sql="line")


def json_path_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key) else '"' + key.replace('"', '\\"') + '"'


def _safe_columns(columns: dict[str, tuple[str, str]], spec: Dataset) -> dict[str, tuple[str, str]]:
    """Rename extra columns that would collide, case-insensitively as DuckDB compares
    names, with a contract column, a column the staging SQL adds, an engine column, or
    another extra: they are kept, as `<name>_extra`."""
    taken = {c.lower() for c in spec.column_names} | {c.lower() for c in RESERVED_OUTPUT_COLUMNS} | {c.lower() for c in _INTERNAL}
    out: dict[str, tuple[str, str]] = {}
    for name, value in columns.items():
        if name in spec.column_names:
            out[name] = value
            continue
        new = name if name.strip() else "unnamed"
        while new.lower() in taken or new.startswith("_"):
            new = (new.lstrip("_") or "unnamed") + "_extra" if new.startswith("_") else new + "_extra"
        taken.add(new.lower())
        out[new] = value
    return out


def _short(exc: Exception) -> str:
    return " ".join(str(exc).split())[:300]


# ---------------------------------------------------------------------------- staging


def _load_refs(con, spec: Dataset, root: Path) -> frozenset[str]:
    """Register what earlier datasets loaded: the models, providers and fx rates a row may name."""
    tables = set()
    if spec.model_refs:
        models = staging_dir(root, "models")
        _table_from(con, "known_models", models, "select distinct model from t", "model varchar")
        tables.add("known_models")
    if spec.provider_refs:
        _table_from(con, "known_providers", staging_dir(root, "endpoints"), "select distinct provider from t", "provider varchar")
        tables.add("known_providers")
    if spec.name == "prices":
        _table_from(con, "known_fx", staging_dir(root, "fx_rates"), "select date, currency, usd_per_unit from t", "date date, currency varchar, usd_per_unit double")
        tables.add("known_fx")
    return frozenset(tables)


def _table_from(con, name: str, path: Path, select: str, empty_schema: str) -> None:
    files = parquet_glob(path)
    if files:
        con.execute(f"create or replace temp table {name} as {select.replace(' from t', f' from read_parquet({lit(files)}, hive_partitioning = true)')}")
    else:
        con.execute(f"create or replace temp table {name} ({empty_schema})")


def parquet_glob(path: Path) -> str | None:
    """Glob for a staged table, or None when it has no files (an empty table)."""
    path = Path(path)
    if (path / "data.parquet").exists():
        return str(path / "data.parquet")
    if path.is_dir() and any(path.rglob("*.parquet")):
        return str(path / "**" / "*.parquet")
    return None


def staged_glob(root: Path, dataset: str) -> str:
    """Glob of a staged dataset for read_parquet; FileNotFoundError when it was never staged."""
    glob = parquet_glob(staging_dir(root, dataset))
    if glob is None:
        raise FileNotFoundError(f"staged {dataset} missing under {root}: materialize stg_{dataset} first")
    return glob


def stage_dataset(
    spec: Dataset,
    raw_dir: Path,
    root: Path,
    log: Callable[[str], None] = lambda _msg: None,
    memory_limit: str = "3GB",
) -> StageResult:
    """Validate and stage one dataset of the drop at `raw_dir` into the Parquet root `root`."""
    files = discover(raw_dir, spec.name)
    tmp = Path(root) / ".tmp" / f"{spec.name}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir(parents=True)
    try:
        con = connect(tmp / "duckdb", memory_limit)
        try:
            result = _stage(con, spec, files, Path(root), tmp, log)
        finally:
            con.close()
        swap_dir(tmp / "table", staging_dir(root, spec.name))
        swap_dir(tmp / "ingest", ingest_dir(root, spec.name))
        return result
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def swap_dir(new: Path, target: Path) -> None:
    """Replace `target` by `new` with two renames, so readers see the old or the new table."""
    target.parent.mkdir(parents=True, exist_ok=True)
    old = target.with_name(f".{target.name}.old-{uuid.uuid4().hex[:8]}")
    if target.exists():
        target.rename(old)
    new.rename(target)
    shutil.rmtree(old, ignore_errors=True)


def _stage(con, spec: Dataset, files: list[SourceFile], root: Path, tmp: Path, log) -> StageResult:
    errors: dict[str, str] = {}
    malformed: list[tuple] = []
    sources: list[_Source] = []
    for sf in files:
        if sf.fmt == "unknown":
            errors[sf.rel] = f"unsupported file type {sf.path.suffix or '(none)'}: expected .parquet, .csv or .jsonl"
        elif GLOB_CHARS & set(str(sf.path)):
            # DuckDB would expand the name as a pattern and read other files too.
            errors[sf.rel] = "file path contains a glob character (* ? [ ] { }): rename it to be read"
    files = [sf for sf in files if sf.rel not in errors] + [sf for sf in files if sf.rel in errors]
    readable = [sf for sf in files if sf.rel not in errors]
    sources += _parquet_sources(con, spec, [f for f in readable if f.fmt == "parquet"], errors)
    sources += _csv_sources(con, spec, [f for f in readable if f.fmt == "csv"], errors, malformed)
    for i, sf in enumerate(f for f in readable if f.fmt == "jsonl"):
        src = _jsonl_source(con, spec, sf, i, errors, malformed)
        if src:
            sources.append(src)

    formats = ", ".join(f"{sum(f.fmt == k for f in files)} {k}" for k in ("parquet", "csv", "jsonl", "unknown") if any(f.fmt == k for f in files))
    log(f"{spec.name}: validating {len(files)} files ({formats or 'none'})")
    refs = _load_refs(con, spec, root)
    for src in sources:
        src.columns = _safe_columns(src.columns, spec)
    # The union of extra columns over all files, so every insert has one shape.
    contract = set(spec.column_names)
    extras = sorted({n for s in sources for n in s.columns if n not in contract})
    cols_sql = ", ".join(
        [f"{q(c.name)} {c.type}" for c in spec.columns] + [f"{q(n)} varchar" for n in extras]
        + ["_source_file varchar", "_row_number bigint", "_reason varchar", "_raw varchar"]
    )
    con.execute(f"create temp table v ({cols_sql})")
    pending = list(sources)
    while pending:
        src = pending.pop(0)
        sql = validate_select(spec, src.sql, src.columns, src.raw_sql, refs)
        try:
            con.execute(f"insert into v by name {sql}")
        except duckdb.Error as exc:
            if len(src.files) > 1:
                # A group failed as a whole (a corrupt page shows only when read): retry
                # file by file so one bad file cannot stop the good ones.
                pending = [s for sf in src.files for s in _parquet_sources(con, spec, [sf], errors)] + pending
            else:
                errors[src.files[0].rel] = _short(exc)

    log(f"{spec.name}: {con.execute('select count(*) from v').fetchone()[0]:,} rows read; classifying duplicates and conflicts")
    key = ", ".join(q(k) for k in spec.key)
    all_cols = [c.name for c in spec.columns]
    struct = "{" + ", ".join(f"{lit(c)}: {q(c)}" for c in all_cols) + "}"
    # Candidates first on a fixed-width hash of the key (cheaper to group than strings),
    # then the exact keys among the few candidates.
    con.execute(
        f"create temp table dupkeys as select {key} from v where _reason is null and hash({key}) in ("
        f"select h from (select hash({key}) as h from v where _reason is null group by all having count(*) > 1)) "
        f"group by all having count(*) > 1"
    )
    con.execute(
        f"""create temp table dupclass as
        select _source_file, _row_number,
               case when row_number() over w = 1 then 'loaded'
                    when {struct} is not distinct from first_value({struct}) over w then 'duplicate'
                    else 'conflict' end as _class,
               first_value(_source_file) over w as _first_file,
               first_value(_row_number) over w as _first_row,
               cast(to_json({struct}) as varchar) as _raw
        from v semi join dupkeys using ({key})
        where _reason is null
        window w as (partition by {key} order by _source_file, _row_number)"""
    )
    con.execute(
        "create temp view ok as select v.* exclude (_reason, _raw) from v "
        "anti join (select _source_file, _row_number from dupclass where _class <> 'loaded') d "
        "using (_source_file, _row_number) where _reason is null"
    )
    con.execute(f"create temp view ok_shaped as {load_sql('staging/stg_' + spec.name)}")

    log(f"{spec.name}: writing staging Parquet")
    table_dir = tmp / "table"
    n_loaded = con.execute("select count(*) from ok").fetchone()[0]
    table_dir.mkdir(parents=True)
    select = "select * exclude (_source_file, _row_number) from ok_shaped"
    # zstd level 1: a fifth faster to write than the default level, a third smaller than snappy
    if not n_loaded:
        # An empty table still has its columns, so downstream SQL binds.
        con.execute(f"copy ({select}) to {lit(str(table_dir / 'data.parquet'))} (format parquet)")
    else:
        if spec.partition_by:
            con.execute(
                f"copy ({select}) to {lit(str(table_dir))} "
                "(format parquet, compression zstd, compression_level 1, partition_by (date), overwrite_or_ignore true)"
            )
        else:
            con.execute(f"copy ({select} order by all) to {lit(str(table_dir / 'data.parquet'))} (format parquet, compression zstd, compression_level 1)")

    quarantine_sql = f"""
        select {lit(spec.name)} as dataset, _source_file as source_file, _row_number as row_number, _reason as reason, _raw as raw
        from v where _reason is not null
        union all
        select {lit(spec.name)}, _source_file, _row_number,
               'conflict: key (' || {lit(', '.join(spec.key))} || ') already loaded from ' || _first_file || ' row ' || _first_row || ' with other values',
               _raw
        from dupclass where _class = 'conflict'
        union all
        select dataset, source_file, row_number, reason, raw from malformed
    """
    con.execute("create temp table malformed (dataset varchar, source_file varchar, row_number bigint, reason varchar, raw varchar)")
    if malformed:
        con.executemany("insert into malformed values (?, ?, ?, ?, ?)", malformed)
    con.execute("create temp table file_errors (source_file varchar, file_error varchar)")
    if errors:
        con.executemany("insert into file_errors values (?, ?)", sorted(errors.items()))
    con.execute("create temp table files (source_file varchar, file_format varchar)")
    if files:
        con.executemany("insert into files values (?, ?)", [(sf.rel, sf.fmt) for sf in files])

    ingest = tmp / "ingest"
    ingest.mkdir()
    con.execute(
        f"copy ({quarantine_sql} order by source_file, row_number) to {lit(str(ingest / 'quarantine.parquet'))} (format parquet)"
    )
    con.execute(
        f"""copy (
        with per_row as (
            select _source_file as source_file,
                   count(*) as n,
                   count(*) filter (where _reason is not null) as q
            from v group by all),
        per_dup as (
            select _source_file as source_file,
                   count(*) filter (where _class = 'duplicate') as d,
                   count(*) filter (where _class = 'conflict') as c
            from dupclass group by all),
        per_bad as (select source_file, count(*) as m from malformed group by all)
        select {lit(spec.name)} as dataset, f.source_file, f.file_format,
               coalesce(r.n, 0) + coalesce(b.m, 0) as rows_read,
               coalesce(r.n, 0) - coalesce(r.q, 0) - coalesce(d.d, 0) - coalesce(d.c, 0) as rows_loaded,
               coalesce(r.q, 0) + coalesce(d.c, 0) + coalesce(b.m, 0) as rows_quarantined,
               coalesce(d.d, 0) as rows_duplicate,
               e.file_error
        from files f
        left join per_row r using (source_file)
        left join per_dup d using (source_file)
        left join per_bad b using (source_file)
        left join file_errors e using (source_file)
        order by f.source_file) to {lit(str(ingest / 'audit.parquet'))} (format parquet)"""
    )
    totals = con.execute(
        f"select coalesce(sum(rows_read), 0), coalesce(sum(rows_loaded), 0), coalesce(sum(rows_quarantined), 0), "
        f"coalesce(sum(rows_duplicate), 0) from read_parquet({lit(str(ingest / 'audit.parquet'))})"
    ).fetchone()
    return StageResult(spec.name, *map(int, totals), files=len(files), unreadable_files=len(errors))

