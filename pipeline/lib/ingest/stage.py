"""Staging one dataset: read, validate, deduplicate and write it as Parquet, with its audit and
quarantine, swapped into place."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb

from pipeline.lib.contract import Dataset
from pipeline.lib.duck import connect, lit, parquet_glob, q, swap_dir
from pipeline.lib.ingest.discovery import GLOB_CHARS, SourceFile, discover_all
from pipeline.lib.ingest.parquet_reader import arrow_source, parquet_sources
from pipeline.lib.ingest.sources import Source, safe_columns, short_error, unify_extras
from pipeline.lib.ingest.text_reader import csv_sources, jsonl_source
from pipeline.lib.ingest.validation import validate_select
from pipeline.paths import ingest_dir, staging_dir
from pipeline.sql import load_sql


@dataclass
class StageResult:
    dataset: str
    rows_read: int
    rows_loaded: int
    rows_quarantined: int
    rows_duplicate: int
    files: int
    unreadable_files: int


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
    sources += parquet_sources(con, spec, [f for f in readable if f.fmt == "parquet"], errors)
    sources += csv_sources(con, spec, [f for f in readable if f.fmt == "csv"], errors, work)
    jsonl = []
    for i, sf in enumerate(f for f in readable if f.fmt == "jsonl"):
        src = jsonl_source(con, spec, sf, i, errors, work)
        if src:
            jsonl.append(src)
    return sources + _grouped(jsonl)


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
        try:
            return [shape(arrow_source(con, spec, src.files[0]), frozen=True)]
        except Exception as exc2:  # noqa: BLE001 - any reader failure is the file's error
            errors[src.files[0].rel] = short_error(exc) + " (read with Arrow as well: " + short_error(exc2) + ")"
            return []
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
    # Repeated keys are found on a fixed-width hash of the key (cheaper to group than strings);
    # the rows of those hashes are then grouped by the exact key, and a key held once (a hash
    # collision) drops out. Two scans of the rows, not three. A key with a NULL part repeats no
    # other (as in a join).
    con.execute(
        f"create temp table dupkeys as select hash({key}) as h from v where _reason is null group by all having count(*) > 1"
    )
    not_null = " and ".join(f"{q(k)} is not null" for k in spec.key)
    con.execute(
        f"""create temp table dupclass as
        select * exclude (__n) from (
            select _source_file, _row_number,
                   case when row_number() over w = 1 then 'loaded'
                        when {struct} is not distinct from first_value({struct}) over w then 'duplicate'
                        else 'conflict' end as _class,
                   first_value(_source_file) over w as _first_file,
                   first_value(_row_number) over w as _first_row,
                   cast(to_json({struct}) as varchar) as _raw,
                   count(*) over (partition by {key}) as __n
            from v
            where _reason is null and {not_null} and hash({key}) in (select h from dupkeys)
            window w as (partition by {key} order by _source_file, _row_number))
        where __n > 1"""
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
