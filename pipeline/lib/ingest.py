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

import csv
import itertools
import os
import re
import shutil
import stat
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from pipeline.lib import textprep
from pipeline.lib.contract import BOOL, DATE, FLOAT, INT, STR, TS, Column, Dataset
from pipeline.paths import ingest_dir, staging_dir
from pipeline.sql import load_sql

# Names the engine adds beside the data; a data column may not take them (see _safe_columns).
# Source columns are read under generated positional names (__sl_c0, __sl_c1, ...), so no
# name from a data file is ever used as a DuckDB name while reading.
_FILE_COL = "__sl_filename"
_CSV_K = "__sl_k"
_INTERNAL = {"_source_file", "_row_number", "_reason", "_raw", _FILE_COL, _CSV_K, "line", "__vals"}
# Columns DuckDB's readers add on request (read_parquet/read_csv filename, file_row_number,
# file_index) or tables carry (rowid): staged data may never have a column of that name,
# or a later read_parquet(..., filename = true) of staging would clash with it.
READER_COLUMNS = {"filename", "file_row_number", "file_index", "rowid"}
GLOB_CHARS = set("*?[]{}")
# The longest line a CSV or JSONL file may have; a longer one is quarantined (`too_long`)
# with its first TRUNCATED_RAW_BYTES as its raw text. DuckDB's default limit (2 MiB) is used
# when every record of a file is short: a larger limit costs a larger read buffer.
MAX_LINE_BYTES = 64 * 2**20
TRUNCATED_RAW_BYTES = 4096
_DUCKDB_DEFAULT_LINE = 2 * 2**20
LINE_OPTS = "<line-opts>"  # placeholder in read SQL for the reader options, see _csv_group
SYMLINK_ERROR = "symbolic link: not followed"
FORMATS = {".parquet": "parquet", ".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}
# DuckDB type families of a source column, for choosing a cast
_INT_TYPES = {
    "TINYINT",
    "SMALLINT",
    "INTEGER",
    "BIGINT",
    "HUGEINT",
    "UTINYINT",
    "USMALLINT",
    "UINTEGER",
    "UBIGINT",
    "UHUGEINT",
}
_FLOAT_TYPES = {"FLOAT", "DOUBLE", "REAL"}
_TYPE_WORDS = {INT: "integer", FLOAT: "number", BOOL: "boolean", TS: "timestamp", DATE: "date", STR: "string"}
# Columns the staging SQL (sql/staging/*.sql) adds to contract columns.
RESERVED_OUTPUT_COLUMNS = {
    "date",
    "usd_per_unit",
    "input_usd_per_mtok",
    "output_usd_per_mtok",
    "cached_input_usd_per_mtok",
    "decode_tps",
    "e2e_tps",
}


def _long_opts(need: int = 0) -> str:
    """Reader options for records up to MAX_LINE_BYTES: DuckDB drops a record longer than its
    read buffer without a word, so the buffer is sized to hold the longest one seen."""
    limit = MAX_LINE_BYTES
    buffer = max(2 * limit, 2 * min(need, 2 * limit)) + 2**20
    return f"max_line_size = {limit}, buffer_size = {buffer}, "


def _line_opts(need: int) -> str:
    """Options for a text read whose longest line/record is `need` bytes."""
    if need <= 2**20 and MAX_LINE_BYTES >= _DUCKDB_DEFAULT_LINE:
        return ""
    return _long_opts(need)


@dataclass(frozen=True)
class SourceFile:
    path: Path
    rel: str  # path relative to the drop folder: what audit and quarantine show
    fmt: str
    hive: dict[str, str] = field(default_factory=dict)
    error: str | None = None  # set for an entry that is never read (a symlink, a fifo, ...)


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
    # Wilson score bounds of a proportion p on an (effective) sample of n, spelled once for every
    # mart that publishes <rate>_ci_low / _high and for the replay's availability rule:
    # wilson_bound(p, n, z) is the upper bound for z > 0, the lower for z < 0; null without p or
    # a sample. At p = 0 (p = 1) the lower (upper) bound is exactly 0 (1), which the formula
    # reaches only up to rounding. wilson_low / wilson_high: the 95 % two-sided interval.
    con.execute(
        "create macro wilson_bound(p, n, z) as case when p is null or n is null or n <= 0 then null "
        "when z < 0 and p <= 0 then 0.0 when z > 0 and p >= 1 then 1.0 "
        "else greatest(0.0, least(1.0, (p + z * z / (2 * n) + z * sqrt(p * (1 - p) / n + z * z / (4 * n * n))) / (1 + z * z / n))) end"
    )
    con.execute("create macro wilson_low(p, n) as wilson_bound(p, n, -1.959963984540054)")
    con.execute("create macro wilson_high(p, n) as wilson_bound(p, n, 1.959963984540054)")
    return con


# --------------------------------------------------------------------------- discovery


def discover(raw_dir: Path, dataset: str) -> list[SourceFile]:
    """Regular files of one dataset, sorted by relative path (the order that decides which of
    two rows with one key was seen first). Names starting with `_` or `.` are ignored; entries
    that are never read (symlinks, fifos, ...) are left out here, see discover_all."""
    return [sf for sf in discover_all(raw_dir, dataset) if sf.error is None]


def discover_all(raw_dir: Path, dataset: str) -> list[SourceFile]:
    """Every entry of a dataset folder that gets an audit row: the regular files, plus one
    entry with `error` set per symbolic link (file or folder, the dataset folder itself
    included: links are never followed), per other non-regular file and per folder that
    cannot be listed. Sorted by relative path."""
    base = Path(raw_dir) / dataset
    if os.path.islink(base):
        return [SourceFile(base, dataset, "symlink", {}, SYMLINK_ERROR)]
    if not base.is_dir():
        return []
    out: list[SourceFile] = []

    def entry(full: str, fmt: str | None = None, error: str | None = None) -> None:
        rel_parts = Path(os.path.relpath(full, base)).parts
        rel = f"{dataset}/{'/'.join(rel_parts)}"
        try:
            rel.encode("utf-8")
        except UnicodeEncodeError:
            rel = rel.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
            fmt, error = fmt or "unknown", error or "file name is not valid UTF-8: rename it to be read"
        if fmt is None:
            fmt = FORMATS.get(os.path.splitext(full)[1].lower(), "unknown")
        hive = dict(p.split("=", 1) for p in rel_parts[:-1] if "=" in p)
        out.append(SourceFile(Path(full), rel, fmt, hive, error))

    def unlistable(exc: OSError) -> None:
        if exc.filename and os.path.abspath(exc.filename) != os.path.abspath(base):
            entry(exc.filename, "unknown", f"folder cannot be listed: {exc.strerror or exc}")

    for dirpath, dirnames, filenames in os.walk(base, followlinks=False, onerror=unlistable):
        keep = []
        for d in sorted(dirnames):
            if d.startswith(("_", ".")):
                continue
            full = os.path.join(dirpath, d)
            if os.path.islink(full):
                entry(full, "symlink", SYMLINK_ERROR)
            else:
                keep.append(d)
        dirnames[:] = keep
        for f in filenames:
            if f.startswith(("_", ".")):
                continue
            full = os.path.join(dirpath, f)
            try:
                mode = os.lstat(full).st_mode
            except OSError as exc:
                entry(full, "unknown", f"cannot be read: {exc.strerror or exc}")
                continue
            if stat.S_ISLNK(mode):
                entry(full, "symlink", SYMLINK_ERROR)
            elif not stat.S_ISREG(mode):
                entry(full, "unknown", "not a regular file (fifo, socket or device): not read")
            else:
                entry(full)
    return sorted(out, key=lambda sf: sf.rel)


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
            # through double and keep only integral values. From 2^53 on a double is no
            # longer exact: there only integer text counts (`123` or `123.0`), read
            # exactly as BIGINT (the regex runs for those few values only).
            d = f"try_cast(trim(cast({expr} as varchar)) as double)" if text else f"cast({expr} as double)"
            t = f"trim(cast({expr} as varchar))"
            big = (
                f" when abs({d}) >= {2**53} and regexp_full_match({t}, '[+-]?[0-9]+([.]0*)?') "
                f"then try_cast(regexp_replace({t}, '[.]0*$', '') as bigint)"
                if text
                else ""
            )
            return f"(case when {d} = floor({d}) and abs({d}) < {2**53} then cast({d} as bigint){big} end)"
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
        # (years 1-9999 only: see _calendar_rule)
        if text:
            return f"make_timestamp(epoch_us(try_cast(trim({expr}) as timestamptz)))"
        if st.startswith("TIMESTAMP WITH TIME ZONE") or st == "TIMESTAMPTZ":
            return f"make_timestamp(epoch_us({expr}))"
        if st.startswith("TIMESTAMP") or st == "DATE":
            return f"try_cast({expr} as timestamp)"  # a DATE beyond TIMESTAMP's range: null
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
            return f"try_cast({expr} as date)"
        return "cast(null as date)"
    raise ValueError(f"unknown contract type {t}")


def _calendar_rule(col: Column, v: str) -> list[tuple[str, str]]:
    """Only years 1-9999 are dates (ISO 8601 without expansion): infinity, BC dates and year
    294247 would name hive partitions that do not read back as dates."""
    if col.type not in (TS, DATE):
        return []
    return [
        (
            f"not ({v} >= {col.type.lower()} '0001-01-01' and {v} < {col.type.lower()} '10000-01-01')",
            f"bad_type: {col.name} is not a valid {_TYPE_WORDS[col.type]}",
        )
    ]


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


def _reason_text(rules: list[tuple[str, str]], first: str | None = None) -> str:
    parts = ([first] if first else []) + [f"case when {c} then {lit(r)} end" for c, r in rules]
    return "concat_ws('; ', " + ", ".join(parts) + ")"


def validate_select(
    spec: Dataset,
    source_sql: str,
    columns: dict[str, tuple[str, str]],
    raw_sql: str | None = None,
    ref_tables: frozenset[str] = frozenset(),
    reject_sql: str | None = None,
) -> str:
    """SELECT producing, per source row: every contract column typed, extra columns as
    text, `_source_file`, `_row_number`, `_reason` (NULL when the row is good) and `_raw`
    (the row as text, only where `_reason` is set).

    `columns` maps a source column name to (SQL expression, DuckDB type). `source_sql`
    must expose those expressions plus `__sl_source_file` and `__sl_row_number`.
    `reject_sql`, when given, is a reason (or NULL) the reader found for a source row
    before any typing (bad bytes, an over-long line): such a row is quarantined with it.
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
        + [f"{reject_sql or 'null::varchar'} as __pre"]
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
            rules.append(
                (f"{present} and {t[c.name]} is null", f"bad_type: {c.name} is not a valid {_TYPE_WORDS[c.type]}")
            )
            rules += _calendar_rule(c, t[c.name])
            if c.required:
                rules.append((f"not {present}", f"missing: {c.name}"))
        rules += _range_rules(c, t[c.name])
    l3 = [f"{t[c.name]} as {q(c.name)}" for c in spec.columns] + [
        f"__pre is not null or {_any_broken(rules)} as __type_bad"
    ]

    # L4: references to other datasets and row rules, on typed values only (row alias v).
    more: list[tuple[str, str]] = []
    if "known_models" in ref_tables:
        more += [
            (f"v.{q(c)} is not null and v.{q(c)} not in (select model from known_models)", f"unknown_model: {c}")
            for c in spec.model_refs
        ]
    if "known_providers" in ref_tables:
        more += [
            (
                f"v.{q(c)} is not null and v.{q(c)} not in (select provider from known_providers)",
                f"unknown_provider: {c}",
            )
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
            f"case when __bad then nullif({_reason_text(all_rules, '__pre')}, '') end as _reason",
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
    """One readable unit: SQL exposing the source columns plus __sl_source_file/__sl_row_number."""

    sql: str
    columns: dict[str, tuple[str, str]]
    files: list[SourceFile]
    raw_sql: str | None = None
    reject_sql: str | None = None  # a reason found while reading (see validate_select)
    fallback: bool = False  # read through Arrow after DuckDB's Parquet reader failed


def _hive_columns(sf: SourceFile, present: set[str], spec: Dataset) -> dict[str, tuple[str, str]]:
    # Partition values in the path stand in for contract columns missing from the file;
    # other path keys (date=...) only organise files and are not data.
    return {k: (lit(v), "VARCHAR") for k, v in sf.hive.items() if k in spec.column_names and k not in present}


def _dedupe(names: list[str]) -> list[str]:
    """A name repeated exactly within one file: the later ones become `<name>_extra`."""
    out: list[str] = []
    seen: set[str] = set()
    for n in names:
        while n in seen:
            n += "_extra"
        seen.add(n)
        out.append(n)
    return out


def _fresh(name: str, taken_lower: set[str]) -> str:
    n, i = name, 0
    while n.lower() in taken_lower:
        i += 1
        n = f"{name}_{i}"
    return n


def _sql_str(value: str) -> str:
    """A SQL string literal for any text, NUL included (a NUL would end the statement)."""
    return " || chr(0) || ".join(lit(part) for part in value.split("\x00"))


def _positional(names: list[str], types: list[str]) -> dict[str, tuple[str, str]]:
    return {n: (f"__sl_c{i}", t) for i, (n, t) in enumerate(zip(names, types, strict=False))}


def _parquet_sources(
    con, spec: Dataset, files: list[SourceFile], errors: dict[str, str], one_by_one: bool = False
) -> list[_Source]:
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
                described[schema] = (tuple(_dedupe(names)), tuple(t for _, t, *_ in desc))
            names, types = described[schema]
        except duckdb.Error as exc:
            errors[sf.rel] = _short(exc)
            continue
        # path values matter only where they stand in for a contract column the file lacks
        used_hive = tuple(sorted(_hive_columns(sf, set(names), spec).items()))
        key: tuple = (names, types, used_hive)
        if one_by_one or any(n.lower() == "file_row_number" for n in names):
            key += (sf.rel,)  # read alone: DuckDB cannot add its row number beside such a column
        groups.setdefault(key, []).append(sf)
    return [_parquet_group(spec, list(names), list(types), group) for (names, types, *_), group in groups.items()]


def _parquet_group(spec: Dataset, names: list[str], types: list[str], group: list[SourceFile]) -> _Source:
    # Source columns are selected by position (#1, #2, ...) under generated names; the
    # filename column gets a name no column of the file has.
    lower = {n.lower() for n in names}
    fcol = _fresh(_FILE_COL, lower)
    columns = _positional(names, types)
    columns.update(_hive_columns(group[0], set(columns), spec))
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
    return _Source(sql, columns, group)


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
        if own != seen and not re.fullmatch(re.escape(own) + r"_\d+", seen, flags=re.IGNORECASE):
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


def _arrow_source(con, spec: Dataset, sf: SourceFile) -> _Source:
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
                f"case when {c} is not null and try(decode({c})) is null then {_sql_str(f'bad_encoding: {label} is not valid UTF-8')} end"
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
                f"case when {c} is not null and {conv[c][0]} is null then {_sql_str(f'bad_type: {label} is not a valid {word}')} end"
            )
        arrays.append(col)
    arrays.append(pa.array(range(1, table.num_rows + 1), pa.int64()))
    view = f"__arrow_{next(_arrow_ids)}"
    con.register(view, pa.table(arrays, names=[f"__sl_c{i}" for i in range(len(arrays) - 1)] + ["__sl_rn"]))
    types = [t for _, t, *_ in con.execute(f"describe select * exclude (__sl_rn) from {view}").fetchall()]
    names = _dedupe([f.name for f in table.schema])
    columns = {}
    for i, (n, t) in enumerate(zip(names, types, strict=False)):
        columns[n] = conv.get(f"__sl_c{i}", (f"__sl_c{i}", t))
    columns.update(_hive_columns(sf, set(columns), spec))
    sql = f"select *, {lit(sf.rel)} as __sl_source_file, __sl_rn as __sl_row_number from {view}"
    reject = f"nullif(concat_ws('; ', {', '.join(checks)}), '')" if checks else None
    return _Source(sql, columns, [sf], reject_sql=reject, fallback=True)


@dataclass
class _Text:
    """A CSV/JSONL file prepared for DuckDB (see textprep): the path to read, its layout and
    the lines that are over the limit (quarantined by the engine, not read)."""

    sf: SourceFile
    layout: textprep.TextLayout
    path: Path
    too_long: list[tuple[int, str, str]] = field(default_factory=list)  # (line, reason, raw)

    @property
    def copied(self) -> bool:
        return self.path != self.sf.path


def _too_long(text: _Text, ll: textprep.LongLine) -> tuple[int, str, str]:
    prefix = textprep.read_prefix(text.layout.path, ll.start, TRUNCATED_RAW_BYTES).decode("utf-8", "replace")
    reason = f"too_long: the line is {ll.size:,} bytes, over the {MAX_LINE_BYTES:,}-byte limit"
    return ll.line, reason, f"{prefix} [... truncated: {ll.size:,} bytes]"


def _prepare(sf: SourceFile, work: Path, quotes: bool) -> _Text:
    work.mkdir(parents=True, exist_ok=True)
    stem = f"{uuid.uuid4().hex[:12]}{sf.path.suffix}"
    layout = textprep.scan(sf.path, MAX_LINE_BYTES, quotes, work / f"norm-{stem}")
    return _Text(sf, layout, layout.path)


def _csv_header(path: Path) -> list[str] | None:
    """Column names from the first line. Read here rather than sniffed by DuckDB, so one
    broken line (an unterminated quote) cannot make the whole file unreadable. Bytes that
    are not UTF-8 read as U+FFFD, so the columns still map. [] for a file without rows; None
    when the first line is blank but more follows (no header to map the rows by)."""
    with open(path, "rb") as fh:
        first = fh.readline(MAX_LINE_BYTES + 1)
        text = first.decode("utf-8-sig", errors="replace").replace("\x00", "\ufffd")
        if not text.strip():
            while chunk := fh.read(textprep.CHUNK):
                if chunk.strip():
                    return None
            return []
    names = next(csv.reader([text.rstrip("\r\n")]), [])
    return _dedupe([n.strip() or f"column{i}" for i, n in enumerate(names)])


_table_ids = itertools.count()  # unique temp-table names within a connection


def _csv_sources(con, spec: Dataset, files: list[SourceFile], errors: dict[str, str], work: Path) -> list[_Source]:
    """CSV files with one header are read in one multi-file scan (daily exports are many
    small files); a group that fails is retried file by file so one bad file cannot stop
    the others. A file that needed a prepared copy is read alone."""
    groups: dict[tuple, list[_Text]] = {}
    for sf in files:
        try:
            text = _prepare(sf, work, quotes=True)
            if text.layout.long_lines and text.layout.long_lines[0].line == 1:
                errors[sf.rel] = (
                    f"the header line is {text.layout.long_lines[0].size:,} bytes, over the {MAX_LINE_BYTES:,}-byte limit"
                )
                continue
            names = _csv_header(text.path)
            if names is None:
                errors[sf.rel] = "the first line is blank: no header to read the columns by"
                continue
            if names and text.layout.long_lines:
                # Each long line becomes a one-field marker line DuckDB rejects (missing
                # columns), keeping the line's quote parity so the records after it still
                # line up; a marker DuckDB reads as a value is caught by reject_sql.
                text.too_long = [_too_long(text, ll) for ll in text.layout.long_lines]
                text.path = textprep.write_sanitised(
                    text.layout,
                    work / f"long-{uuid.uuid4().hex[:12]}.csv",
                    lambda i, ll: (textprep.marker(i) + (',"' if ll.quotes % 2 else "")).encode(),
                )
        except (OSError, ValueError) as exc:
            errors[sf.rel] = _short(exc)
            continue
        if names:  # an empty file has no rows
            used_hive = tuple(sorted(_hive_columns(sf, set(names), spec).items()))
            long = bool(_line_opts(text.layout.need))
            groups.setdefault((tuple(names), used_hive, long, sf.rel if text.copied else None), []).append(text)
    sources: list[_Source] = []
    pending = [(list(names), group) for (names, *_), group in groups.items()]
    while pending:
        names, group = pending.pop(0)
        idx = next(_table_ids)
        try:
            src = _csv_group(con, spec, names, group, idx)
        except duckdb.Error as exc:
            con.execute(f"delete from malformed where __group = {idx}")
            if len(group) > 1:
                pending = [(names, [t]) for t in group] + pending
            else:
                errors[group[0].sf.rel] = _short(exc)
            continue
        sources.append(src)
    return sources


def _reject_tables(con, rej: str, scan: str, out: str, members: list[_Text], blank_rows: bool) -> int:
    """One row per rejected record of a scan (`out`): file, line, raw text, what was wrong,
    its row number and the gap (g, j) it leaves in the numbering of the good rows. DuckDB's
    reject line counts blank lines; row numbers do not (when `blank_rows`). Returns the count."""
    con.execute(f"create or replace temp table {out}_blank (f varchar, line bigint)")
    if blank_rows:
        parts = [(str(t.path), t.layout.blank_records) for t in members if t.layout.blank_records.size]
        if parts:
            paths = np.array([p for p, _ in parts], dtype=object)
            con.register(
                f"{out}_blank_arrow",
                pa.table(
                    {
                        "f": pa.array(np.repeat(paths, [len(b) for _, b in parts]), pa.string()),
                        "line": pa.array(np.concatenate([b for _, b in parts]), pa.int64()),
                    }
                ),
            )
            con.execute(f"insert into {out}_blank select * from {out}_blank_arrow")
            con.unregister(f"{out}_blank_arrow")
    et = "cast(e.error_type as varchar)"
    con.execute(
        f"""create or replace temp table {out} as
        with r as (
            select s.file_path as f, e.line,
                   coalesce(any_value(e.csv_line), '') as raw,
                   bool_or({et} = 'INVALID ENCODING') as enc,
                   bool_or({et} = 'LINE SIZE OVER MAXIMUM') as size,
                   string_agg(distinct lower({et}), ', ' order by lower({et}))
                       filter (where {et} not in ('INVALID ENCODING', 'LINE SIZE OVER MAXIMUM')) as kinds
            from {rej} e join {scan} s using (scan_id, file_id) group by all),
        b as (select f, line, row_number() over (partition by f order by line) as nb from {out}_blank),
        numbered as (
            select r.*, r.line - {1 if blank_rows else 0} - coalesce(b.nb, 0) as row
            from r asof left join b on r.f = b.f and r.line > b.line)
        select *, row - row_number() over (partition by f order by line) as g,
               row_number() over (partition by f order by line) as j
        from numbered"""
    )
    return con.execute(f"select count(*) from {out}").fetchone()[0]


def _reject_reason(bad_kind: str) -> str:
    too_long = f"too_long: the record is over the {MAX_LINE_BYTES:,}-byte limit"
    return (
        f"concat_ws('; ', case when r.enc then 'bad_encoding: the line is not valid UTF-8' end, "
        f"case when r.size then {lit(too_long)} end, "
        f"case when r.kinds is not null then {lit(bad_kind + ': ')} || r.kinds end)"
    )


def _truncated(expr: str) -> str:
    return f"(case when strlen({expr}) > {TRUNCATED_RAW_BYTES} then left({expr}, {TRUNCATED_RAW_BYTES}) || ' [... truncated]' else {expr} end)"


def _insert_too_long(con, spec: Dataset, members: list[_Text], out: str) -> None:
    """The over-long lines of prepared copies, and the rejected record each one belongs to:
    the reject holding its marker, or the reject of the record it sits in (DuckDB may cut a
    long reject's text before the marker). One per reject: a record with two long lines
    is one row."""
    con.execute(
        f"create or replace temp table {out}_long (f varchar, marker varchar, record bigint, reason varchar, raw varchar)"
    )
    rows = [
        (str(t.path), textprep.marker(i), ll.record, reason, raw)
        for t in members
        for i, (ll, (_, reason, raw)) in enumerate(zip(t.layout.long_lines, t.too_long, strict=False))
    ]
    if rows:
        con.executemany(f"insert into {out}_long values (?, ?, ?, ?, ?)", rows)
    con.execute(
        f"create or replace temp table {out}_longrej as select r.f, r.line, arg_min(lg.reason, lg.record) as reason, "
        f"arg_min(lg.raw, lg.record) as raw from {out} r join {out}_long lg "
        f"on lg.f = r.f and (contains(r.raw, lg.marker) or lg.record = r.line) group by all"
    )


def _csv_group(con, spec: Dataset, names: list[str], group: list[_Text], idx: int) -> _Source:
    table, rej, scan = f"__csv_{idx}", f"__rej_{idx}", f"__scan_{idx}"
    cols = [f"__sl_c{i}" for i in range(len(names))]
    types = "{" + ", ".join(f"{lit(c)}: 'VARCHAR'" for c in cols) + "}"
    paths = "[" + ", ".join(lit(str(t.path)) for t in group) + "]"
    # A one-column file reads an empty line as a NULL value rather than skipping it (and a
    # quoted empty value is '' with allow_quoted_nulls off): drop those, blank lines are not rows.
    blank = f" where {cols[0]} is not null" if len(cols) == 1 else ""
    read = (
        f"create or replace temp table {table} as select *, row_number() over () as {_CSV_K} from (select * from read_csv({paths}, "
        f"columns = {types}, header = false, skip = 1, auto_detect = false, delim = ',', quote = '\"', escape = '\"', "
        f"allow_quoted_nulls = false, {LINE_OPTS}hive_partitioning = false, filename = {lit(_FILE_COL)}, "
        f"store_rejects = true, rejects_table = {lit(rej)}, rejects_scan = {lit(scan)}){blank})"
    )
    need = max(t.layout.need for t in group)
    opts = _line_opts(need)
    con.execute(read.replace(LINE_OPTS, opts))
    if (
        not opts
        and con.execute(
            f"select count(*) from {rej} where cast(error_type as varchar) = 'LINE SIZE OVER MAXIMUM'"
        ).fetchone()[0]
    ):
        # A record over DuckDB's default limit (a long quoted value over many short lines):
        # read again with the larger limit rather than lose a valid row.
        con.execute(f"drop table if exists {rej}; drop table if exists {scan}")
        con.execute(read.replace(LINE_OPTS, _long_opts(need)))
    # Row numbers count the non-blank records after the header. DuckDB's scan skips blank
    # lines and rejected records; its reject `line` counts blank lines. So a reject's
    # number is its line less the header and the blank lines above it, and a good record's
    # number is its place in its file's scan plus the rejects before it.
    n_rej = _reject_tables(con, rej, scan, f"__rj_{idx}", group, blank_rows=True)
    _insert_too_long(con, spec, group, f"__rj_{idx}")
    rel = {str(t.path): t.sf.rel for t in group}
    con.execute(f"create or replace temp table __rj_{idx}_rel (f varchar, rel varchar)")
    con.executemany(f"insert into __rj_{idx}_rel values (?, ?)", list(rel.items()))
    con.execute(
        f"""insert into malformed
        select {lit(spec.name)}, m.rel, r.row,
               coalesce(lg.reason, {_reject_reason("malformed_row")}),
               coalesce(lg.raw, case when r.size then {_truncated("ltrim(r.raw, chr(13) || chr(10))")} else ltrim(r.raw, chr(13) || chr(10)) end),
               {idx}
        from __rj_{idx} r join __rj_{idx}_rel m using (f)
        left join __rj_{idx}_longrej lg using (f, line)"""
    )
    con.execute(
        f"create or replace temp table {table}_off as select {q(_FILE_COL)} as f, min({_CSV_K}) - 1 as off from {table} group by 1"
    )
    columns = _positional(names, ["VARCHAR"] * len(names))
    columns.update(_hive_columns(group[0].sf, set(names), spec))
    k = f"(c.{_CSV_K} - o.off)"
    gap = (
        f" + coalesce((select max(j) from __rj_{idx} g where g.f = c.{q(_FILE_COL)} and g.g < {k}), 0)" if n_rej else ""
    )
    if len(group) == 1:
        source_file = lit(group[0].sf.rel)
    else:
        source_file = f"substr(c.{q(_FILE_COL)}, {len(str(group[0].sf.path)) - len(group[0].sf.rel) + 1})"
    sql = (
        f"select c.*, {source_file} as __sl_source_file, {k}{gap} as __sl_row_number "
        f"from {table} c join {table}_off o on o.f = c.{q(_FILE_COL)}"
    )
    reject = None
    if any(t.too_long for t in group):
        # a marker DuckDB read inside a quoted value: the record held an over-long line
        reject = (
            f"case when contains(concat_ws(chr(1), {', '.join(cols)}), {lit(textprep.MARKER)}) "
            f"then {lit(f'too_long: the record has a line over the {MAX_LINE_BYTES:,}-byte limit')} end"
        )
    return _Source(sql, columns, [t.sf for t in group], reject_sql=reject)


# DuckDB does not short-circuit AND: json_type() on an invalid line raises, so guard it.
_IS_OBJECT = "coalesce(case when json_valid(line) then json_type(line) = 'OBJECT' end, false)"


def _jsonl_source(con, spec: Dataset, sf: SourceFile, idx: int, errors: dict[str, str], work: Path) -> _Source | None:
    table, rej, scan = f"__jsonl_{idx}", f"__jrej_{idx}", f"__jscan_{idx}"
    try:
        text = _prepare(sf, work, quotes=False)
        if text.layout.long_lines:
            text.too_long = [_too_long(text, ll) for ll in text.layout.long_lines]
            text.path = textprep.write_sanitised(
                text.layout, work / f"long-{uuid.uuid4().hex[:12]}.jsonl", lambda i, ll: textprep.marker(i).encode()
            )
        # Read lines as text (no delimiter, no quoting) so a malformed line is one bad row,
        # not a failed file; a line with bytes that are not UTF-8 is a reject, numbered.
        con.execute(
            f"create temp table {table}_r as select line, row_number() over () as __k "
            f"from read_csv({lit(str(text.path))}, columns = {{'line': 'VARCHAR'}}, header = false, delim = '\\x1e', "
            f"quote = '', escape = '', auto_detect = false, strict_mode = false, null_padding = true, "
            f"{_line_opts(text.layout.need)}hive_partitioning = false, "
            f"store_rejects = true, rejects_table = {lit(rej)}, rejects_scan = {lit(scan)})"
        )
        n_rej = _reject_tables(con, rej, scan, f"__jrj_{idx}", [text], blank_rows=False)
        n_read = con.execute(f"select count(*) from {table}_r").fetchone()[0]
        if n_read + n_rej != text.layout.lines:
            errors[sf.rel] = (
                f"read {n_read + n_rej:,} of the file's {text.layout.lines:,} lines: not loaded rather than loaded in part"
            )
            return None
        # A line's number is its place in the scan plus the rejected lines before it.
        # Validity is computed once and stored, so later scans filter on it before any
        # JSON function sees the line.
        gap = f" + coalesce((select max(j) from __jrj_{idx} g where g.g < r.__k), 0)" if n_rej else ""
        long_rows = (
            f"_row_number in ({', '.join(str(line) for line, _, _ in text.too_long)})" if text.too_long else "false"
        )
        con.execute(
            f"create temp table {table} as select line, _row_number, {_IS_OBJECT} as __ok, "
            f"nullif(trim(line), '') is null as __blank, {long_rows} as __long "
            f"from (select line, r.__k{gap} as _row_number from {table}_r r)"
        )
        keys = sorted(
            k for (k,) in con.execute(f"select distinct unnest(json_keys(line)) from {table} where __ok").fetchall()
        )
    except (duckdb.Error, OSError) as exc:
        errors[sf.rel] = _short(exc)
        return None
    con.execute(
        f"insert into malformed select {lit(spec.name)}, {lit(sf.rel)}, _row_number, 'malformed_json: line is not a JSON object', line, null "
        f"from {table} where not __blank and not __ok and not __long"
    )
    con.execute(
        f"insert into malformed select {lit(spec.name)}, {lit(sf.rel)}, r.row, {_reject_reason('malformed_json')}, "
        f"ltrim(r.raw, chr(13) || chr(10)), null from __jrj_{idx} r"
    )
    if text.too_long:
        con.executemany(
            "insert into malformed values (?, ?, ?, ?, ?, null)", [(spec.name, sf.rel, *t) for t in text.too_long]
        )
    # One parse per line for all keys: json_extract_string with a list of JSON pointers
    # (RFC 6901: any key, '' and '*' included, names itself; '~' and '/' are escaped).
    paths = "[" + ", ".join(_sql_str("/" + k.replace("~", "~0").replace("/", "~1")) for k in keys) + "]"
    columns = {k: (f"__vals[{i}]", "VARCHAR") for i, k in enumerate(keys, 1)}
    columns.update(_hive_columns(sf, set(columns), spec))
    vals = f"json_extract_string(line, {paths})" if keys else "cast([] as varchar[])"
    sql = f"select line, _row_number as __sl_row_number, {lit(sf.rel)} as __sl_source_file, {vals} as __vals from {table} where __ok"
    return _Source(sql, columns, [sf], raw_sql="line")


def _safe_columns(columns: dict[str, tuple[str, str]], spec: Dataset) -> dict[str, tuple[str, str]]:
    """Rename extra columns that would collide, case-insensitively as DuckDB compares
    names, with a contract column, a column the staging SQL adds, a column DuckDB's readers
    add (filename, file_row_number, file_index), an engine column, or another extra: they
    are kept, as `<name>_extra`. A NUL in a name becomes U+FFFD."""
    taken = {c.lower() for c in (*spec.column_names, *RESERVED_OUTPUT_COLUMNS, *READER_COLUMNS, *_INTERNAL)}
    out: dict[str, tuple[str, str]] = {}
    for name, value in columns.items():
        if name in spec.column_names:
            out[name] = value
            continue
        new = name.replace("\x00", "\ufffd") if name.strip() else "unnamed"
        while new.lower() in taken or new.startswith("_"):
            new = (new.lstrip("_") or "unnamed") + "_extra" if new.startswith("_") else new + "_extra"
        taken.add(new.lower())
        out[new] = value
    return out


def _unify_extras(
    columns: dict[str, tuple[str, str]], contract: set[str], spelling: dict[str, str], frozen: bool = False
) -> dict[str, tuple[str, str]]:
    """Spell an extra column as the first file that had it did (`Region` and `region` in
    two files are one column). `frozen`: the staging table exists already, so a column no
    earlier file had cannot be added (such a file is read again only after a failure)."""
    out = {}
    for name, value in columns.items():
        if name in contract:
            out[name] = value
            continue
        if name.lower() not in spelling:
            if frozen:
                continue
            spelling[name.lower()] = name
        out[spelling[name.lower()]] = value
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
        _table_from(
            con,
            "known_providers",
            staging_dir(root, "endpoints"),
            "select distinct provider from t",
            "provider varchar",
        )
        tables.add("known_providers")
    if spec.name == "prices":
        _table_from(
            con,
            "known_fx",
            staging_dir(root, "fx_rates"),
            "select date, currency, usd_per_unit from t",
            "date date, currency varchar, usd_per_unit double",
        )
        tables.add("known_fx")
    return frozenset(tables)


def _table_from(con, name: str, path: Path, select: str, empty_schema: str) -> None:
    files = parquet_glob(path)
    if files:
        con.execute(
            f"create or replace temp table {name} as {select.replace(' from t', f' from read_parquet({lit(files)}, hive_partitioning = true)')}"
        )
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
    files = discover_all(raw_dir, spec.name)
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


def read_validated(
    con, spec: Dataset, files: list[SourceFile], root: Path, tmp: Path, log, sink: Callable[[str], None] | None = None
) -> tuple[list[SourceFile], dict[str, str]]:
    """Read `files` into the temporary table `v` (one row per data row: contract columns typed,
    extra columns as text, `_source_file`, `_row_number`, `_reason` when the row breaks a rule,
    `_raw` for such rows) and `malformed` (records that could not be read as rows). References
    are checked against what `root` has staged. Returns the files, the unreadable ones last,
    and the file errors.

    With `sink`, each source's SELECT is handed to it instead of inserted into `v` (no `v` is
    made); a sink that raises leaves nothing behind, and the source is retried file by file."""
    errors: dict[str, str] = {}
    sources: list[_Source] = []
    # Rows rejected while reading (malformed lines, bad bytes, over-long lines); __group
    # lets a CSV group that fails be retried file by file without counting its rejects twice.
    con.execute(
        "create temp table malformed (dataset varchar, source_file varchar, row_number bigint, reason varchar, raw varchar, __group bigint)"
    )
    for sf in files:
        if sf.error:
            errors[sf.rel] = sf.error
        elif sf.fmt == "unknown":
            errors[sf.rel] = f"unsupported file type {sf.path.suffix or '(none)'}: expected .parquet, .csv or .jsonl"
        elif GLOB_CHARS & set(str(sf.path)):
            # DuckDB would expand the name as a pattern and read other files too.
            errors[sf.rel] = "file path contains a glob character (* ? [ ] { }): rename it to be read"
    files = [sf for sf in files if sf.rel not in errors] + [sf for sf in files if sf.rel in errors]
    readable = [sf for sf in files if sf.rel not in errors]
    work = tmp / "text"
    sources += _parquet_sources(con, spec, [f for f in readable if f.fmt == "parquet"], errors)
    sources += _csv_sources(con, spec, [f for f in readable if f.fmt == "csv"], errors, work)
    for i, sf in enumerate(f for f in readable if f.fmt == "jsonl"):
        src = _jsonl_source(con, spec, sf, i, errors, work)
        if src:
            sources.append(src)

    formats = ", ".join(
        f"{sum(f.fmt == k for f in files)} {k}"
        for k in ("parquet", "csv", "jsonl", "symlink", "unknown")
        if any(f.fmt == k for f in files)
    )
    log(f"{spec.name}: validating {len(files)} files ({formats or 'none'})")
    refs = _load_refs(con, spec, root)
    contract = set(spec.column_names)
    # The union of extra columns over all files, so every insert has one shape; names that
    # differ only in case are one column (DuckDB compares names case-insensitively).
    spelling: dict[str, str] = {}
    for src in sources:
        src.columns = _unify_extras(_safe_columns(src.columns, spec), contract, spelling)
    extras = sorted(spelling.values())
    cols_sql = ", ".join(
        [f"{q(c.name)} {c.type}" for c in spec.columns]
        + [f"{q(n)} varchar" for n in extras]
        + ["_source_file varchar", "_row_number bigint", "_reason varchar", "_raw varchar"]
    )
    if sink is None:
        con.execute(f"create temp table v ({cols_sql})")

        def sink(sql: str) -> None:
            con.execute(f"insert into v by name {sql}")

    pending = list(sources)
    while pending:
        src = pending.pop(0)
        sql = validate_select(spec, src.sql, src.columns, src.raw_sql, refs, src.reject_sql)
        try:
            sink(sql)
        except duckdb.Error as exc:
            if len(src.files) > 1:
                # A group failed as a whole (a corrupt page shows only when read): retry
                # file by file so one bad file cannot stop the good ones.
                if src.files[0].fmt == "parquet":
                    retry = _parquet_sources(con, spec, src.files, errors, one_by_one=True)
                else:
                    retry = [
                        _Source(
                            f"select * from ({src.sql}) where __sl_source_file = {lit(sf.rel)}",
                            src.columns,
                            [sf],
                            src.raw_sql,
                            src.reject_sql,
                        )
                        for sf in src.files
                    ]
                for s in retry:
                    s.columns = _unify_extras(_safe_columns(s.columns, spec), contract, spelling, frozen=True)
                pending = retry + pending
            elif src.files[0].fmt == "parquet" and not src.fallback:
                try:
                    fb = _arrow_source(con, spec, src.files[0])
                    fb.columns = _unify_extras(_safe_columns(fb.columns, spec), contract, spelling, frozen=True)
                    pending.insert(0, fb)
                except Exception as exc2:  # noqa: BLE001 - any reader failure is the file's error
                    errors[src.files[0].rel] = _short(exc) + " (read with Arrow as well: " + _short(exc2) + ")"
            else:
                errors[src.files[0].rel] = _short(exc)
                con.execute("delete from malformed where source_file = ?", [src.files[0].rel])

    return files, errors


def row_struct(spec: Dataset) -> str:
    """A row's contract columns as one struct: what "identical" compares (and a conflict's raw)."""
    return "{" + ", ".join(f"{lit(c.name)}: {q(c.name)}" for c in spec.columns) + "}"


def classify_duplicates(con, spec: Dataset) -> None:
    """Over the validated rows in view `v`, create `dupclass` (every row of a repeated key: the
    first by (_source_file, _row_number) 'loaded', an identical repeat 'duplicate', a different
    one 'conflict'), `ok` (the rows to stage) and `ok_shaped` (sql/staging/stg_<dataset>.sql over
    them). One rule for the whole-dataset engine and the per-day one (pipeline/lib/staging.py)."""
    key = ", ".join(q(k) for k in spec.key)
    struct = row_struct(spec)
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


def _stage(con, spec: Dataset, files: list[SourceFile], root: Path, tmp: Path, log) -> StageResult:
    files, errors = read_validated(con, spec, files, root, tmp, log)
    log(
        f"{spec.name}: {con.execute('select count(*) from v').fetchone()[0]:,} rows read; classifying duplicates and conflicts"
    )
    classify_duplicates(con, spec)

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
            con.execute(
                f"copy ({select} order by all) to {lit(str(table_dir / 'data.parquet'))} (format parquet, compression zstd, compression_level 1)"
            )

    quarantine_sql = f"""
        select {lit(spec.name)} as dataset, _source_file as source_file, _row_number as row_number, _reason as reason, _raw as raw
        from v where _reason is not null
        union all
        select {lit(spec.name)}, _source_file, _row_number,
               'conflict: key (' || {lit(", ".join(spec.key))} || ') already loaded from ' || _first_file || ' row ' || _first_row || ' with other values',
               _raw
        from dupclass where _class = 'conflict'
        union all
        select dataset, source_file, row_number, reason, raw from malformed
    """
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
        order by f.source_file) to {lit(str(ingest / "audit.parquet"))} (format parquet)"""
    )
    totals = con.execute(
        f"select coalesce(sum(rows_read), 0), coalesce(sum(rows_loaded), 0), coalesce(sum(rows_quarantined), 0), "
        f"coalesce(sum(rows_duplicate), 0) from read_parquet({lit(str(ingest / 'audit.parquet'))})"
    ).fetchone()
    return StageResult(spec.name, *map(int, totals), files=len(files), unreadable_files=len(errors))
