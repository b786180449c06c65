"""What the readers share: a source as a DuckDB relation with positional column names, and the names
the engine adds beside the data."""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.lib.contract import Dataset
from pipeline.lib.duck import lit
from pipeline.lib.ingest.discovery import READER_COLUMNS, SourceFile

# Names the engine adds beside the data; a data column may not take them (see safe_columns).
# Source columns are read under generated positional names (__sl_c0, __sl_c1, ...), so no
# name from a data file is ever used as a DuckDB name while reading.
FILE_COL = "__sl_filename"


CSV_K = "__sl_k"


INTERNAL_COLUMNS = {"_source_file", "_row_number", "_reason", "_raw", FILE_COL, CSV_K, "line", "__vals"}


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


@dataclass
class Source:
    """One readable unit: SQL exposing the source columns plus __sl_source_file/__sl_row_number."""

    sql: str
    columns: dict[str, tuple[str, str]]
    files: list[SourceFile]
    raw_sql: str | None = None
    reject_sql: str | None = None  # a reason found while reading (see validate_select)
    fallback: bool = False  # read through Arrow after DuckDB's Parquet reader failed
    members: list[Source] | None = None  # a group's sources, one per file: what a failed group retries


def hive_columns(sf: SourceFile, present: set[str], spec: Dataset) -> dict[str, tuple[str, str]]:
    # Partition values in the path stand in for contract columns missing from the file;
    # other path keys (date=...) only organise files and are not data.
    return {k: (lit(v), "VARCHAR") for k, v in sf.hive.items() if k in spec.column_names and k not in present}


def dedupe(names: list[str]) -> list[str]:
    """A name repeated exactly within one file: the later ones become `<name>_extra`."""
    out: list[str] = []
    seen: set[str] = set()
    for n in names:
        while n in seen:
            n += "_extra"
        seen.add(n)
        out.append(n)
    return out


def fresh_name(name: str, taken_lower: set[str]) -> str:
    n, i = name, 0
    while n.lower() in taken_lower:
        i += 1
        n = f"{name}_{i}"
    return n


def sql_str(value: str) -> str:
    """A SQL string literal for any text, NUL included (a NUL would end the statement)."""
    return " || chr(0) || ".join(lit(part) for part in value.split("\x00"))


def positional(names: list[str], types: list[str]) -> dict[str, tuple[str, str]]:
    return {n: (f"__sl_c{i}", t) for i, (n, t) in enumerate(zip(names, types, strict=False))}


def safe_columns(columns: dict[str, tuple[str, str]], spec: Dataset) -> dict[str, tuple[str, str]]:
    """Rename extra columns that would collide, case-insensitively as DuckDB compares
    names, with a contract column, a column the staging SQL adds, a column DuckDB's readers
    add (filename, file_row_number, file_index), an engine column, or another extra: they
    are kept, as `<name>_extra`. A NUL in a name becomes U+FFFD."""
    taken = {c.lower() for c in (*spec.column_names, *RESERVED_OUTPUT_COLUMNS, *READER_COLUMNS, *INTERNAL_COLUMNS)}
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


def unify_extras(
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


def short_error(exc: Exception) -> str:
    return " ".join(str(exc).split())[:300]
