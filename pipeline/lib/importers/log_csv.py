"""Reading CSV exports of request logs (the LiteLLM spend-log and OpenRouter activity
importers): finding the files, and reading each into text columns with every record's data
row and file line, so that a row that cannot be written is reported where it stands.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import duckdb
import polars as pl

from pipeline.lib.importers import ImportIssue, ImportReport, check_paths


def find_csv_files(paths: list[Path], what: str) -> list[Path]:
    check_paths(paths)
    files: dict[str, Path] = {}
    for p in map(Path, paths):
        found = [p] if p.is_file() else sorted(f for f in p.rglob("*.csv") if not f.name.startswith(("_", ".")))
        for f in found:
            files.setdefault(str(f.resolve()), f)
    if not files:
        raise ValueError(f"no {what} CSV files found in: {', '.join(map(str, paths))}")
    return sorted(files.values(), key=str)


def _norm(name: str) -> str:
    return re.sub(r"[_\s]", "", name.strip().lower())


def read_csv_rows(path: Path, columns: tuple[str, ...], report: ImportReport) -> pl.DataFrame | None:
    """All fields as text plus `_row` (1-based data row) and `_line` (the file line the
    record starts on), columns renamed to `columns` where the header matches one
    (case-insensitive, `_` ignored). Records with the wrong number of fields are reported
    (malformed_row) and left out; blank lines are not rows. None when the file has no
    header (a file-level issue).

    A file is first read by DuckDB's CSV reader (fast); when DuckDB rejects a record, or the
    file has a blank line (which would shift the line arithmetic), or DuckDB fails, the file
    is read again record by record with Python's csv module, which gives every record's
    line exactly."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        report.issues.append(ImportIssue(str(path), None, f"unreadable: {exc}"))
        return None
    fast = _read_fast(path, text, columns)
    if fast is not None:
        report.rows_read += fast.height
        return fast
    reader = csv.reader(io.StringIO(text, newline=""))
    header, line, rows, lines, row_no = None, 1, [], [], 0
    wanted = {_norm(c): c for c in columns}
    try:
        for rec in reader:
            start, line = line, reader.line_num + 1
            if not rec or (len(rec) == 1 and not rec[0].strip()):
                continue
            if header is None:
                header = [wanted.get(_norm(h), h.strip()) for h in rec]
                continue
            row_no += 1
            report.rows_read += 1
            if len(rec) != len(header):
                report.issues.append(
                    ImportIssue(
                        str(path),
                        row_no,
                        f"malformed_row: {len(rec)} fields, the header has {len(header)} (line {start})",
                    )
                )
                continue
            rows.append(rec)
            lines.append((row_no, start))
    except csv.Error as exc:
        row_no += 1
        report.rows_read += 1
        report.issues.append(
            ImportIssue(str(path), row_no, f"malformed_row: {exc}; the rest of the file is not read (line {line})")
        )
    if header is None:
        report.issues.append(ImportIssue(str(path), None, "missing: header line (empty file)"))
        return None
    names = _unique(header)
    df = pl.DataFrame({n: [r[i] for r in rows] for i, n in enumerate(names)}, schema={n: pl.String for n in names})
    return df.with_columns(
        pl.Series("_row", [r for r, _ in lines], dtype=pl.Int64),
        pl.Series("_line", [ln for _, ln in lines], dtype=pl.Int64),
    )


def _read_fast(path: Path, text: str, columns: tuple[str, ...]) -> pl.DataFrame | None:
    """DuckDB's reading of a well-formed file, or None (see read_csv_rows)."""
    first = text.split("\n", 1)[0]
    if not first.strip() or '"' in first or re.search(r"\n[ \t\r]*\n", text.rstrip("\r\n") + "\n"):
        return None  # no header, a quoted header, or a blank line: the exact reader
    try:
        header = next(csv.reader([first]))
    except csv.Error:
        return None
    wanted = {_norm(c): c for c in columns}
    names = _unique([wanted.get(_norm(h), h.strip()) for h in header])
    types = "{" + ", ".join(f"'{n.replace(chr(39), chr(39) * 2)}': 'VARCHAR'" for n in names) + "}"
    con = duckdb.connect()
    try:
        df = con.execute(
            f"select * from read_csv(?, columns = {types}, header = false, skip = 1, auto_detect = false, delim = ',', "
            f"quote = '\"', escape = '\"', store_rejects = true, rejects_table = 'rej', rejects_scan = 'rej_scan', "
            f"max_line_size = {64 * 2**20}, buffer_size = {128 * 2**20})",
            [str(path)],
        ).pl()
        if con.execute("select count(*) from rej").fetchone()[0]:
            return None
    except duckdb.Error:
        return None
    finally:
        con.close()
    if df.height == 0:
        return df.with_columns(pl.lit(None, dtype=pl.Int64).alias("_row"), pl.lit(None, dtype=pl.Int64).alias("_line"))
    # record i starts on line 2 + (records before it) + (newlines inside the fields before it)
    newlines = pl.sum_horizontal([pl.col(n).str.count_matches("\n").fill_null(0) for n in names])
    return df.with_columns(
        pl.int_range(1, df.height + 1, dtype=pl.Int64).alias("_row"),
        (2 + pl.int_range(0, df.height, dtype=pl.Int64) + newlines.cum_sum().shift(1, fill_value=0))
        .cast(pl.Int64)
        .alias("_line"),
    )


def _unique(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for n in names:
        k = n or "column"
        seen[k] = seen.get(k, 0) + 1
        out.append(k if seen[k] == 1 else f"{k}_{seen[k]}")
    return out
