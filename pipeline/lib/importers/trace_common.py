"""Shared pieces of the public-trace importers (azure_trace, burstgpt, mooncake, servegen):
reading a text file as numbered lines, value checks on text fields, the contract schemas of
requests / models / endpoints, and writing the drop (import_trace: the whole import of a
one-request-per-line trace).

Conventions shared by the four importers (each module's docstring has its own mapping):

- Lines. A source file is read as physical lines, numbered from 1 as a text editor does: in a
  CSV with a header the header is line 1 and the first data row is line 2; in a file without
  a header (ServeGen trace.csv) and in JSONL the first row is line 1. The report's `row` and
  the extra column `trace_line` are these line numbers. Blank (or whitespace-only) lines are
  not rows: they are neither written nor reported (as in staging). Line endings LF or CRLF.
- Every data row is either written (one request, or for ServeGen one window expanded into
  sampled requests) or listed in `_import_report_<format>.csv` with file, line and reason.
  The importers report only what they cannot map (a missing or non-numeric value they need,
  a line with the wrong number of fields, a line that is not JSON); contract range rules
  (negative tokens ...) stay with staging, which quarantines with file and row.
- Columns the traces do not record are filled with documented constants: `stream`, `tools`,
  `json_mode` false (not recorded; false = nothing asked of the endpoint), `cached_input_tokens`,
  `http_status`, `ttft_ms` null. Provenance extras: `trace_file`, `trace_line`.
- endpoints: one row per (provider, model) with written requests. Nothing in the traces
  describes the endpoint, so: valid_from = the earliest written request of the pair, valid_to
  null, context_length = the smallest power of two >= the largest input + output tokens of a
  written request of the pair (a lower bound the trace implies, NOT a published limit: the
  context check of the routing then never excludes a traced request for a limit the source
  does not state), max_output_tokens null, quantization `unknown`, supports_* false (not known
  to be supported) except where a module says otherwise.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from pathlib import Path

import polars as pl

from pipeline.lib.importers import (
    ImportIssue,
    ImportReport,
    check_paths,
    contract_schema,
    write_drop,
)

# A placeholder origin for traces that publish relative times only (Mooncake, ServeGen): the
# sources give no date. It is after the release of every model they name (DeepSeek-R1
# 2025-01-20) so no request predates its model. Every importer takes its own `epoch` parameter.
DEFAULT_EPOCH = dt.datetime(2025, 3, 1)

REQUEST_SCHEMA = contract_schema("requests")
MODEL_SCHEMA = contract_schema("models")
ENDPOINT_SCHEMA = contract_schema("endpoints")

NOT_RECORDED = {
    "cached_input_tokens": None,
    "http_status": None,
    "ttft_ms": None,
    "stream": False,
    "tools": False,
    "json_mode": False,
}


# --------------------------------------------------------------------------- files


def find_files(paths: list[Path], pattern: str, kind: str, recursive: bool = False) -> list[Path]:
    """The files named by `paths`: a file as given, a folder's files matching `pattern`.
    Each file once (by resolved path), sorted by path."""
    check_paths(paths)
    found: dict[Path, Path] = {}
    for p in map(Path, paths):
        files = [p] if p.is_file() else sorted(p.rglob(pattern) if recursive else p.glob(pattern))
        for f in files:
            # a file named as such is read whatever its name; in folders, `_`/`.` files are skipped
            if f == p or (f.is_file() and not f.name.startswith((".", "_"))):
                found.setdefault(f.resolve(), f)
    if not found:
        raise ValueError(f"no {kind} files ({pattern}) found in: {', '.join(map(str, paths))}")
    return sorted(found.values(), key=lambda f: str(f))


def scan_lines(path: Path) -> pl.LazyFrame:
    """The file as (line: 1-based physical line number, raw: its text without the line end),
    blank lines left out. Lazy: large files are read by the streaming engine."""
    return (
        pl.scan_csv(
            path,
            has_header=False,
            separator="\x1f",  # no field splitting: one column holding the whole line
            quote_char=None,
            schema={"raw": pl.String},
            encoding="utf8-lossy",
            raise_if_empty=False,
        )
        .with_row_index("line", offset=1)
        .with_columns(pl.col("line").cast(pl.Int64), pl.col("raw").str.strip_prefix("\ufeff"))
        .filter(pl.col("raw").str.strip_chars().str.len_chars().fill_null(0) > 0)
    )


def scan_lines_many(paths: list[Path]) -> pl.LazyFrame:
    """scan_lines over many files in one scan (per-file overhead matters for the hundreds of
    small ServeGen files), with `_path` = str(path) and lines numbered per file."""
    return (
        pl.scan_csv(
            [str(p) for p in paths],
            has_header=False,
            separator="\x1f",
            quote_char=None,
            schema={"raw": pl.String},
            encoding="utf8-lossy",
            raise_if_empty=False,
            include_file_paths="_path",
        )
        .with_columns(
            pl.int_range(1, pl.len() + 1, dtype=pl.Int64).over("_path").alias("line"),
            pl.col("raw").str.strip_prefix("\ufeff"),
        )
        .filter(pl.col("raw").str.strip_chars().str.len_chars().fill_null(0) > 0)
    )


def first_line(path: Path) -> tuple[int, str] | None:
    """(line number, text) of the first non-blank line (a CSV header), or None."""
    with open(path, encoding="utf-8", errors="replace", newline="") as fh:
        for n, text in enumerate(fh, start=1):
            text = text.rstrip("\r\n").lstrip("\ufeff")
            if text.strip():
                return n, text
    return None


def collect(lf: pl.LazyFrame) -> pl.DataFrame:
    return lf.collect(engine="streaming")


class FileIssue(Exception):
    """A file that cannot be mapped at all (its reason starts with a code, e.g. `empty:`)."""


def read_or_report(report: ImportReport, path: Path, read: Callable[[Path], pl.DataFrame]) -> pl.DataFrame | None:
    """read(path), or None with a file-level issue (row None) when the file cannot be read."""
    try:
        return read(path)
    except FileIssue as exc:
        report.issues.append(ImportIssue(str(path), None, str(exc)))
    except (OSError, UnicodeError, pl.exceptions.PolarsError) as exc:
        report.issues.append(ImportIssue(str(path), None, f"unreadable: {type(exc).__name__}: {exc}"))
    return None


# --------------------------------------------------------------------------- value checks


def field(fields: pl.Expr, i: int | None) -> pl.Expr:
    """Field i (0-based) of a list of strings, trimmed; null when i is None or out of range."""
    if i is None:
        return pl.lit(None, dtype=pl.String)
    return fields.list.get(i, null_on_oob=True).str.strip_chars()


def present(e: pl.Expr) -> pl.Expr:
    return e.str.len_chars().fill_null(0) > 0


def num(e: pl.Expr) -> pl.Expr:
    return e.cast(pl.Float64, strict=False)


def is_number(e: pl.Expr) -> pl.Expr:
    return num(e).is_finite().fill_null(False)


def is_whole(e: pl.Expr) -> pl.Expr:
    return is_number(e) & (num(e) == num(e).floor()) & (num(e).abs() < 9e15)


def whole(e: pl.Expr) -> pl.Expr:
    return pl.when(is_whole(e)).then(num(e).cast(pl.Int64))


def number_rules(name: str, e: pl.Expr, when: pl.Expr, whole_number: bool) -> list[tuple[pl.Expr, str]]:
    """`missing: name` / `bad_type: name is not a (whole) number`, on rows where `when`."""
    ok = is_whole(e) if whole_number else is_number(e)
    kind = "a whole number" if whole_number else "a number"
    return [(when & ~present(e), f"missing: {name}"), (when & present(e) & ~ok, f"bad_type: {name} is not {kind}")]


def seconds_after(epoch: dt.datetime, seconds: pl.Expr) -> pl.Expr:
    """epoch + seconds (float), at microsecond resolution."""
    return pl.lit(epoch, dtype=pl.Datetime("us")) + pl.duration(microseconds=(seconds * 1e6).round().cast(pl.Int64))


def csv_columns(header: str, wanted: Iterable[str]) -> tuple[int, dict[str, int | None]]:
    """(number of header fields, wanted column -> 0-based index or None). Names match
    case-insensitively after trimming."""
    names = [h.strip().lower() for h in header.split(",")]
    return len(names), {w: (names.index(w.lower()) if w.lower() in names else None) for w in wanted}


# --------------------------------------------------------------------------- the drop


def check_sample_rate(sample_rate: float) -> None:
    if not 0 < sample_rate <= 1:
        raise ValueError(f"sample_rate must be in (0, 1], got {sample_rate}")


def line_id(prefix: str) -> pl.Expr:
    """`<prefix><line>`, the line zero-padded to 6 digits (a request_id)."""
    return pl.concat_str(pl.lit(prefix), pl.col("line").cast(pl.String).str.zfill(6))


def served_columns(model: str, provider: str, inp: pl.Expr, out: pl.Expr, sample_rate: float) -> list[pl.Expr]:
    """The request columns of a trace of served requests of one model on one provider (Azure,
    Mooncake): whole-number token counts, status ok, no client, error type or latency."""
    return [
        pl.lit(None, dtype=pl.String).alias("client_id"),
        pl.lit(model).alias("model"),
        pl.lit(provider).alias("provider"),
        whole(inp).alias("input_tokens"),
        whole(out).alias("output_tokens"),
        pl.lit("ok").alias("status"),
        pl.lit(None, dtype=pl.String).alias("error_type"),
        pl.lit(None, dtype=pl.Float64).alias("latency_ms"),
        pl.lit(sample_rate, dtype=pl.Float64).alias("sample_rate"),
    ]


def issues_of(df: pl.DataFrame, file: str) -> list[ImportIssue]:
    """Rows with a `_reason` as ImportIssues (one Python object per reported row only)."""
    bad = df.filter(pl.col("_reason").is_not_null())
    return [ImportIssue(file, line, why) for line, why in bad.select("line", "_reason").iter_rows()]


def requests_frame(df: pl.DataFrame, extras: dict[str, pl.DataType]) -> pl.DataFrame:
    """The contract columns in contract order (NOT_RECORDED filled in), then the extras."""
    cols = []
    for name, dtype in REQUEST_SCHEMA.items():
        if name in df.columns:
            cols.append(pl.col(name).cast(dtype))
        else:
            cols.append(pl.lit(NOT_RECORDED[name], dtype=dtype).alias(name))
    return df.select(*cols, *(pl.col(n).cast(t) for n, t in extras.items()))


def empty_requests(extras: dict[str, pl.DataType]) -> pl.DataFrame:
    return pl.DataFrame(schema={**REQUEST_SCHEMA, **extras})


def endpoints_of(requests: pl.DataFrame, reasoning: Iterable[str] = ()) -> pl.DataFrame:
    """One endpoint row per (provider, model) of `requests`; see the module docstring."""
    reasoning = list(reasoning)
    if requests.height == 0:
        return pl.DataFrame(schema=ENDPOINT_SCHEMA)
    return (
        requests.group_by("provider", "model")
        .agg(
            pl.col("ts").min().alias("valid_from"),
            (pl.col("input_tokens") + pl.col("output_tokens")).max().fill_null(1).clip(lower_bound=1).alias("_max"),
        )
        .sort("provider", "model")
        .select(
            "provider",
            "model",
            "valid_from",
            pl.lit(None, dtype=pl.Datetime("us")).alias("valid_to"),
            (pl.lit(2.0) ** pl.col("_max").cast(pl.Float64).log(2).ceil()).cast(pl.Int64).alias("context_length"),
            pl.lit(None, dtype=pl.Int64).alias("max_output_tokens"),
            pl.lit("unknown").alias("quantization"),
            pl.lit(False).alias("supports_tools"),
            pl.lit(False).alias("supports_json_mode"),
            pl.lit(False).alias("supports_streaming"),
            pl.col("model").is_in(reasoning).alias("supports_reasoning"),
        )
        .cast(ENDPOINT_SCHEMA)
    )


def models_of(requests: pl.DataFrame, known: dict[str, tuple[str, str, dt.date | None, str]]) -> pl.DataFrame:
    """One models row per model of `requests`: known[model] = (family, developer,
    release_date, official_provider); a release_date None stands in the UTC date of the
    model's first written request (no release date is known; no request predates it)."""
    if requests.height == 0:
        return pl.DataFrame(schema=MODEL_SCHEMA)
    first = dict(requests.group_by("model").agg(pl.col("ts").min().dt.date()).iter_rows())
    rows = []
    for m in sorted(first):
        family, developer, release, official = known[m]
        rows.append(
            {
                "model": m,
                "family": family,
                "developer": developer,
                "release_date": release or first[m],
                "successor_of": None,
                "official_provider": official,
            }
        )
    return pl.DataFrame(rows, schema=MODEL_SCHEMA)


def map_files(
    report: ImportReport, files: list[Path], map_file: Callable[[Path], pl.DataFrame], extras: dict[str, pl.DataType]
) -> pl.DataFrame:
    """Map each file (a frame with `line`, `_reason` and the request columns), count its
    rows, report the rows with a reason and the files that cannot be read; the written
    requests of all files, in file then line order."""
    frames = []
    for path in files:
        mapped = read_or_report(report, path, map_file)
        if mapped is None:
            continue
        report.rows_read += mapped.height
        report.issues += issues_of(mapped, str(path))
        good = mapped.filter(pl.col("_reason").is_null())
        if good.height:
            frames.append(requests_frame(good, extras))
    return pl.concat(frames) if frames else empty_requests(extras)


def write_requests_drop(
    report: ImportReport,
    out_name: str,
    requests: pl.DataFrame,
    known_models: dict[str, tuple[str, str, dt.date | None, str]],
    reasoning: Iterable[str] = (),
) -> ImportReport:
    """Write out/{models,endpoints,requests}/<out_name>.parquet (models_of, endpoints_of the
    requests) and the report."""
    return write_drop(
        report,
        out_name,
        {
            "models": models_of(requests, known_models),
            "endpoints": endpoints_of(requests, reasoning),
            "requests": requests,
        },
    )


def import_trace(
    fmt: str,
    out_name: str,
    paths: list[Path],
    out: Path,
    *,
    pattern: str,
    kind: str,
    map_file: Callable[[Path], pl.DataFrame],
    extras: dict[str, pl.DataType],
    known_models: dict[str, tuple[str, str, dt.date | None, str]],
) -> ImportReport:
    """The import of a one-request-per-line trace (Azure, BurstGPT, Mooncake): find the files,
    map each (map_files), write the drop; every data row is written or reported."""
    report = ImportReport(fmt, Path(out))
    files = find_files(paths, pattern, kind)
    requests = map_files(report, files, map_file, extras)
    write_requests_drop(report, out_name, requests, known_models)
    assert report.rows_read == report.rows_written["requests"] + report.rows_reported
    return report
