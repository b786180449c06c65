"""Reading CSV and JSON-lines files into sources: line endings, over-long lines and malformed records
quarantined with their raw text."""

from __future__ import annotations

import csv
import itertools
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from pipeline.lib import textprep
from pipeline.lib.contract import Dataset
from pipeline.lib.duck import lit, q
from pipeline.lib.ingest.discovery import SourceFile
from pipeline.lib.ingest.sources import (
    CSV_K,
    FILE_COL,
    Source,
    dedupe,
    hive_columns,
    positional,
    short_error,
    sql_str,
)

# The longest line a CSV or JSONL file may have; a longer one is quarantined (`too_long`)
# with its first TRUNCATED_RAW_BYTES as its raw text. DuckDB's default limit (2 MiB) is used
# when every record of a file is short: a larger limit costs a larger read buffer.
MAX_LINE_BYTES = 64 * 2**20


TRUNCATED_RAW_BYTES = 4096


_DUCKDB_DEFAULT_LINE = 2 * 2**20


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
    return dedupe([n.strip() or f"column{i}" for i, n in enumerate(names)])


_table_ids = itertools.count()  # unique temp-table names within a connection


def csv_sources(con, spec: Dataset, files: list[SourceFile], errors: dict[str, str], work: Path) -> list[Source]:
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
            errors[sf.rel] = short_error(exc)
            continue
        if names:  # an empty file has no rows
            used_hive = tuple(sorted(hive_columns(sf, set(names), spec).items()))
            long = bool(_line_opts(text.layout.need))
            groups.setdefault((tuple(names), used_hive, long, sf.rel if text.copied else None), []).append(text)
    sources: list[Source] = []
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
                errors[group[0].sf.rel] = short_error(exc)
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


def _csv_group(con, spec: Dataset, names: list[str], group: list[_Text], idx: int) -> Source:
    table, rej, scan = f"__csv_{idx}", f"__rej_{idx}", f"__scan_{idx}"
    cols = [f"__sl_c{i}" for i in range(len(names))]
    types = "{" + ", ".join(f"{lit(c)}: 'VARCHAR'" for c in cols) + "}"
    paths = "[" + ", ".join(lit(str(t.path)) for t in group) + "]"
    # A one-column file reads an empty line as a NULL value rather than skipping it (and a
    # quoted empty value is '' with allow_quoted_nulls off): drop those, blank lines are not rows.
    blank = f" where {cols[0]} is not null" if len(cols) == 1 else ""

    def read(line_opts: str) -> str:
        return (
            f"create or replace temp table {table} as select *, row_number() over () as {CSV_K} from (select * from read_csv({paths}, "
            f"columns = {types}, header = false, skip = 1, auto_detect = false, delim = ',', quote = '\"', escape = '\"', "
            f"allow_quoted_nulls = false, {line_opts}hive_partitioning = false, filename = {lit(FILE_COL)}, "
            f"store_rejects = true, rejects_table = {lit(rej)}, rejects_scan = {lit(scan)}){blank})"
        )

    need = max(t.layout.need for t in group)
    opts = _line_opts(need)
    con.execute(read(opts))
    if (
        not opts
        and con.execute(
            f"select count(*) from {rej} where cast(error_type as varchar) = 'LINE SIZE OVER MAXIMUM'"
        ).fetchone()[0]
    ):
        # A record over DuckDB's default limit (a long quoted value over many short lines):
        # read again with the larger limit rather than lose a valid row.
        con.execute(f"drop table if exists {rej}; drop table if exists {scan}")
        con.execute(read(_long_opts(need)))
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
        f"create or replace temp table {table}_off as select {q(FILE_COL)} as f, min({CSV_K}) - 1 as off from {table} group by 1"
    )
    columns = positional(names, ["VARCHAR"] * len(names))
    columns.update(hive_columns(group[0].sf, set(names), spec))
    k = f"(c.{CSV_K} - o.off)"
    gap = (
        f" + coalesce((select max(j) from __rj_{idx} g where g.f = c.{q(FILE_COL)} and g.g < {k}), 0)" if n_rej else ""
    )
    if len(group) == 1:
        source_file = lit(group[0].sf.rel)
    else:
        source_file = f"substr(c.{q(FILE_COL)}, {len(str(group[0].sf.path)) - len(group[0].sf.rel) + 1})"
    sql = (
        f"select c.*, {source_file} as __sl_source_file, {k}{gap} as __sl_row_number "
        f"from {table} c join {table}_off o on o.f = c.{q(FILE_COL)}"
    )
    reject = None
    if any(t.too_long for t in group):
        # a marker DuckDB read inside a quoted value: the record held an over-long line
        reject = (
            f"case when contains(concat_ws(chr(1), {', '.join(cols)}), {lit(textprep.MARKER)}) "
            f"then {lit(f'too_long: the record has a line over the {MAX_LINE_BYTES:,}-byte limit')} end"
        )
    return Source(sql, columns, [t.sf for t in group], reject_sql=reject)


# DuckDB does not short-circuit AND: json_type() on an invalid line raises, so guard it.
_IS_OBJECT = "coalesce(case when json_valid(line) then json_type(line) = 'OBJECT' end, false)"


def jsonl_source(con, spec: Dataset, sf: SourceFile, idx: int, errors: dict[str, str], work: Path) -> Source | None:
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
        errors[sf.rel] = short_error(exc)
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
    paths = "[" + ", ".join(sql_str("/" + k.replace("~", "~0").replace("/", "~1")) for k in keys) + "]"
    columns = {k: (f"__vals[{i}]", "VARCHAR") for i, k in enumerate(keys, 1)}
    columns.update(hive_columns(sf, set(columns), spec))
    vals = f"json_extract_string(line, {paths})" if keys else "cast([] as varchar[])"
    sql = f"select line, _row_number as __sl_row_number, {lit(sf.rel)} as __sl_source_file, {vals} as __vals from {table} where __ok"
    return Source(sql, columns, [sf], raw_sql="line")
