"""Reading one dataset's files as validated rows: each file (or group of files) as a source,
every row typed and checked against the contract, a source that fails retried file by file or
through Arrow, so that one bad file never stops the others."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import duckdb

from pipeline.lib.contract import Dataset
from pipeline.lib.duck import lit, parquet_glob, q
from pipeline.lib.ingest.discovery import GLOB_CHARS, SourceFile
from pipeline.lib.ingest.parquet_reader import arrow_source, parquet_sources
from pipeline.lib.ingest.sources import Source, safe_columns, short_error, unify_extras
from pipeline.lib.ingest.text_reader import csv_sources, jsonl_source
from pipeline.lib.ingest.validation import validate_select
from pipeline.paths import staging_dir


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
    # Rows rejected while reading (malformed lines, bad bytes, over-long lines); __group
    # lets a CSV group that fails be retried file by file without counting its rejects twice.
    con.execute(
        "create temp table malformed (dataset varchar, source_file varchar, row_number bigint, reason varchar, raw varchar, __group bigint)"
    )
    errors = _unread_files(files)
    files = [sf for sf in files if sf.rel not in errors] + [sf for sf in files if sf.rel in errors]
    readable = [sf for sf in files if sf.rel not in errors]
    sources = _open_sources(con, spec, readable, errors, tmp / "text")

    log(f"{spec.name}: validating {len(files)} files ({_formats(files) or 'none'})")
    refs = _load_refs(con, spec, root)
    # The union of extra columns over all files, so every insert has one shape; names that
    # differ only in case are one column (DuckDB compares names case-insensitively).
    shape = _Shape(spec)
    for src in sources:
        shape(src)
    if sink is None:
        con.execute(f"create temp table v ({_table_columns(spec, shape.extras())})")
        sink = _insert_into_v(con)
    _validate_all(con, spec, sources, refs, sink, errors, shape)
    return files, errors


def _unread_files(files: list[SourceFile]) -> dict[str, str]:
    """The files never read, with why: discovery's errors, unknown formats, glob characters."""
    errors: dict[str, str] = {}
    for sf in files:
        if sf.error:
            errors[sf.rel] = sf.error
        elif sf.fmt == "unknown":
            errors[sf.rel] = f"unsupported file type {sf.path.suffix or '(none)'}: expected .parquet, .csv or .jsonl"
        elif GLOB_CHARS & set(str(sf.path)):
            # DuckDB would expand the name as a pattern and read other files too.
            errors[sf.rel] = "file path contains a glob character (* ? [ ] { }): rename it to be read"
    return errors


def _open_sources(con, spec: Dataset, readable: list[SourceFile], errors: dict[str, str], work: Path) -> list[Source]:
    """The readers' sources over the readable files: Parquet, then CSV, then JSON lines (a file a
    reader cannot open gets its error in `errors`)."""
    sources: list[Source] = []
    parquet = [f for f in readable if f.fmt == "parquet"]
    sources += parquet_sources(con, spec, parquet, errors)
    # a file DuckDB cannot even open may still be valid: its names can clash as DuckDB renames
    # them (an unnamed column is `C<n>`, beside a column named so)
    for sf in parquet:
        if sf.rel in errors:
            sources += _through_arrow(con, spec, sf, errors.pop(sf.rel), errors)
    sources += csv_sources(con, spec, [f for f in readable if f.fmt == "csv"], errors, work)
    jsonl = []
    for i, sf in enumerate(f for f in readable if f.fmt == "jsonl"):
        src = jsonl_source(con, spec, sf, i, errors, work)
        if src:
            jsonl.append(src)
    return sources + _grouped(jsonl)


def _through_arrow(con, spec: Dataset, sf: SourceFile, error: str, errors: dict[str, str]) -> list[Source]:
    """A Parquet file DuckDB failed on (with `error`), read through Arrow instead; none when Arrow
    cannot read it either, and the file's error is DuckDB's with Arrow's."""
    try:
        return [arrow_source(con, spec, sf)]
    except Exception as exc:  # noqa: BLE001 - any reader failure is the file's error
        errors[sf.rel] = error + " (read with Arrow as well: " + short_error(exc) + ")"
        return []


def _grouped(sources: list[Source]) -> list[Source]:
    """JSON-lines files with the same columns as one source: a statement per file costs more than
    its rows (93 files of 5,000 probes: 4.4 s one by one). A group that fails is retried file by file."""
    groups: dict[tuple, list[Source]] = {}
    for src in sources:
        groups.setdefault((tuple(src.columns.items()), src.raw_sql, src.reject_sql), []).append(src)
    out = []
    for same in groups.values():
        # wide files in smaller groups: a statement's memory grows with files x columns
        size = max(1, min(JSONL_GROUP_FILES, JSONL_GROUP_CELLS // max(1, len(same[0].columns))))
        for start in range(0, len(same), size):
            members = same[start : start + size]
            if len(members) == 1:
                out += members
                continue
            first = members[0]
            sql = " union all ".join(f"({m.sql})" for m in members)
            files = [sf for m in members for sf in m.files]
            out.append(Source(sql, first.columns, files, first.raw_sql, first.reject_sql, members=members))
    return out


# At most this many files in one statement (a quarter's daily probe files fit; a drop of
# thousands of files is not one statement of thousands of branches), and at most this many
# files x columns (128 files of 150 keys; 10 files of 2,000).
JSONL_GROUP_FILES = 128
JSONL_GROUP_CELLS = 20_000


def _formats(files: list[SourceFile]) -> str:
    """How many files of each format, for the log: "3 parquet, 1 csv"."""
    return ", ".join(
        f"{sum(f.fmt == k for f in files)} {k}"
        for k in ("parquet", "csv", "jsonl", "symlink", "unknown")
        if any(f.fmt == k for f in files)
    )


class _Shape:
    """Gives a source the columns every insert shares: names made safe (safe_columns), and an
    extra column spelled as the first source that had it spelled it (unify_extras). With
    `frozen` (a retry's sources: the table is made already) no new extra column is added."""

    def __init__(self, spec: Dataset):
        self.spec = spec
        self.contract = set(spec.column_names)
        self.spelling: dict[str, str] = {}

    def __call__(self, src: Source, frozen: bool = False) -> Source:
        src.columns = unify_extras(safe_columns(src.columns, self.spec), self.contract, self.spelling, frozen=frozen)
        return src

    def extras(self) -> list[str]:
        return sorted(self.spelling.values())


def _table_columns(spec: Dataset, extras: list[str]) -> str:
    """The column list of `v`."""
    return ", ".join(
        [f"{q(c.name)} {c.type}" for c in spec.columns]
        + [f"{q(n)} varchar" for n in extras]
        + ["_source_file varchar", "_row_number bigint", "_reason varchar", "_raw varchar"]
    )


def _insert_into_v(con) -> Callable[[str], None]:
    def sink(sql: str) -> None:
        con.execute(f"insert into v by name {sql}")

    return sink


def _validate_all(
    con,
    spec: Dataset,
    sources: list[Source],
    refs: frozenset[str],
    sink: Callable[[str], None],
    errors: dict[str, str],
    shape: _Shape,
) -> None:
    """Hand every source's validating SELECT to `sink`, in order; a source that fails is replaced
    by the sources to try instead (_instead_of_failed), tried next."""
    pending = list(sources)
    while pending:
        src = pending.pop(0)
        sql = validate_select(spec, src.sql, src.columns, src.raw_sql, refs, src.reject_sql)
        try:
            sink(sql)
        except duckdb.Error as exc:
            pending = _instead_of_failed(con, spec, src, exc, errors, shape) + pending


def _instead_of_failed(
    con, spec: Dataset, src: Source, exc: duckdb.Error, errors: dict[str, str], shape: _Shape
) -> list[Source]:
    """What to read instead of a source whose SELECT failed with `exc`: a group's files one by
    one, a Parquet file through Arrow; when nothing is left to try, none, and the file's error is
    set (its rejected rows dropped from `malformed`)."""
    if len(src.files) > 1:
        # A group failed as a whole (a corrupt page shows only when read): retry
        # file by file so one bad file cannot stop the good ones.
        return [shape(s, frozen=True) for s in _one_by_one(con, spec, src, errors)]
    if src.files[0].fmt == "parquet" and not src.fallback:
        return [shape(s, frozen=True) for s in _through_arrow(con, spec, src.files[0], short_error(exc), errors)]
    errors[src.files[0].rel] = short_error(exc)
    con.execute("delete from malformed where source_file = ?", [src.files[0].rel])
    return []


def _one_by_one(con, spec: Dataset, src: Source, errors: dict[str, str]) -> list[Source]:
    """A source of several files as one source per file."""
    if src.files[0].fmt == "parquet":
        return parquet_sources(con, spec, src.files, errors, one_by_one=True)
    if src.members:
        return src.members
    return [
        Source(
            f"select * from ({src.sql}) where __sl_source_file = {lit(sf.rel)}",
            src.columns,
            [sf],
            src.raw_sql,
            src.reject_sql,
        )
        for sf in src.files
    ]


def _load_refs(con, spec: Dataset, root: Path) -> frozenset[str]:
    """Register what earlier datasets loaded: the models, providers and fx rates a row may name."""
    tables = set()
    if spec.model_refs:
        models = staging_dir(root, "models")
        _table_from(con, "known_models", models, "distinct model", "model varchar")
        tables.add("known_models")
    if spec.provider_refs:
        _table_from(
            con,
            "known_providers",
            staging_dir(root, "endpoints"),
            "distinct provider",
            "provider varchar",
        )
        tables.add("known_providers")
    if spec.name == "prices":
        _table_from(
            con,
            "known_fx",
            staging_dir(root, "fx_rates"),
            "date, currency, usd_per_unit",
            "date date, currency varchar, usd_per_unit double",
        )
        tables.add("known_fx")
    return frozenset(tables)


def _table_from(con, name: str, path: Path, columns: str, empty_schema: str) -> None:
    """Temp table `name` holding `columns` (a select list) of the staged table at `path`, or an
    empty one with `empty_schema` when nothing is staged there."""
    files = parquet_glob(path)
    if files:  # read_parquet takes no parameters for its file list
        con.execute(
            f"create or replace temp table {name} as select {columns} "
            f"from read_parquet({lit(files)}, hive_partitioning = true)"
        )
    else:
        con.execute(f"create or replace temp table {name} ({empty_schema})")
