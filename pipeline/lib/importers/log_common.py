"""Shared pieces of the request-log importers (litellm_spend_logs, openrouter_activity):
polars expressions that parse the logs' text fields, model and provider resolution, the
models and stub endpoints the written requests need, and the driver that reads, maps and
writes a drop (run_log_import). Reading the CSV files is in log_csv.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import polars as pl

from pipeline.lib.importers import (
    ImportIssue,
    ImportReport,
    canonical_model_rows,
    contract_schema,
    write_drop,
)
from pipeline.lib.importers.aliases import CANONICAL, resolve
from pipeline.lib.importers.aliases import provider_id as _provider_id
from pipeline.lib.importers.log_csv import find_csv_files, read_csv_rows

REQUEST_SCHEMA = contract_schema("requests")
ENDPOINT_SCHEMA = contract_schema("endpoints", endpoint_source=pl.String)


# --------------------------------------------------------------------------- expressions


def txt(c: str) -> pl.Expr:
    """A column as trimmed text, blank -> null (a missing column is all null)."""
    return pl.col(c).str.strip_chars().replace("", None)


def ensure(df: pl.DataFrame, cols) -> pl.DataFrame:
    return df.with_columns([pl.lit(None, dtype=pl.String).alias(c) for c in cols if c not in df.columns])


def timestamp(e: pl.Expr) -> pl.Expr:
    """ISO-8601 text -> naive UTC datetime (null when it does not parse)."""
    z = e.str.replace(r"Z$", "+00:00").str.replace(r"([+-]\d{2})$", "$1:00")
    naive = [
        z.str.to_datetime(f, strict=False, time_unit="us") for f in ("%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f")
    ]
    zoned = [
        z.str.to_datetime(f, strict=False, time_unit="us", time_zone="UTC").dt.replace_time_zone(None)
        for f in ("%Y-%m-%d %H:%M:%S%.f%#z", "%Y-%m-%dT%H:%M:%S%.f%#z")
    ]
    return pl.coalesce(*naive, *zoned)


def number(e: pl.Expr) -> pl.Expr:
    n = e.cast(pl.Float64, strict=False)
    return pl.when(n.is_finite()).then(n)


def whole(e: pl.Expr) -> pl.Expr:
    n = number(e)
    return pl.when((n == n.floor()) & (n.abs() < 9e15)).then(n).cast(pl.Int64)


def boolean(e: pl.Expr) -> pl.Expr:
    low = e.str.to_lowercase()
    return (
        pl.when(low.is_in(["true", "t", "1", "yes", "y"]))
        .then(True)
        .when(low.is_in(["false", "f", "0", "no", "n"]))
        .then(False)
    )


def ms_between(a: pl.Expr, b: pl.Expr) -> pl.Expr:
    return (b - a).dt.total_microseconds() / 1000.0


def json_field(e: pl.Expr, path: str) -> pl.Expr:
    """A JSON path of a JSON text column (null when absent or not JSON)."""
    return e.str.json_path_match(path)


def _per_distinct(e: pl.Expr, fn) -> pl.Expr:
    """fn applied once per distinct non-null value (logs repeat a few values many times)."""

    def batch(s: pl.Series) -> pl.Series:
        table = {v: fn(v) for v in s.drop_nulls().unique().to_list()}
        return s.replace_strict(table, default=None, return_dtype=pl.String)

    return e.map_batches(batch, return_dtype=pl.String)


def pseudonym(e: pl.Expr, salt: str) -> pl.Expr:
    return _per_distinct(e, lambda v: hashlib.sha256(f"{salt}:{v}".encode()).hexdigest()[:16])


# --------------------------------------------------------------------------- models and providers


def resolve_models(df: pl.DataFrame, name_cols: list[str], route_col: str) -> pl.DataFrame:
    """Adds `_canonical` (canonical model id or null) and `_model_reason` by resolving each distinct
    (names..., route, date) once: the first of `name_cols` that maps wins."""
    keys = df.select(*name_cols, route_col, pl.col("ts").dt.date().alias("_date")).unique()
    out = []
    for row in keys.iter_rows(named=True):
        model, reason = None, None
        for c in name_cols:
            if row[c] is None:
                continue
            r = resolve(row[c], row[route_col], row["_date"])
            if r.model:
                model, reason = r.model, None
                break
            reason = reason or f"{r.reason} (model {row[c]!r})"
        out.append({**row, "_canonical": model, "_model_reason": None if model else (reason or "missing: model")})
    table = pl.DataFrame(
        out,
        schema={
            **{c: pl.String for c in name_cols},
            route_col: pl.String,
            "_date": pl.Date,
            "_canonical": pl.String,
            "_model_reason": pl.String,
        },
    )
    return (
        df.with_columns(pl.col("ts").dt.date().alias("_date"))
        .join(table, on=[*name_cols, route_col, "_date"], how="left", nulls_equal=True)
        .drop("_date")
    )


def provider_ids(e: pl.Expr) -> pl.Expr:
    return _per_distinct(e, _provider_id)


def support_tables(requests: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(models, stub endpoints) for the written requests; see the module docstring."""
    models = sorted(set(requests["model"].to_list()))
    model_df = canonical_model_rows(models)
    ok = pl.col("status") == "ok"
    eps = requests.group_by("provider", "model").agg(
        pl.col("ts").min().alias("valid_from"),
        (ok & pl.col("tools")).any().alias("supports_tools"),
        (ok & pl.col("json_mode")).any().alias("supports_json_mode"),
    )
    ctx = pl.DataFrame(
        {"model": models, "context_length": [CANONICAL[m].context_length for m in models]},
        schema={"model": pl.String, "context_length": pl.Int64},
    )
    eps = (
        eps.join(ctx, on="model", how="left")
        .select(
            "provider",
            "model",
            "valid_from",
            pl.lit(None, dtype=pl.Datetime("us")).alias("valid_to"),
            "context_length",
            pl.lit(None, dtype=pl.Int64).alias("max_output_tokens"),
            pl.lit("unknown").alias("quantization"),
            "supports_tools",
            "supports_json_mode",
            pl.lit(True).alias("supports_streaming"),
            pl.lit(False).alias("supports_reasoning"),
            pl.lit("stub from request logs").alias("endpoint_source"),
        )
        .cast(ENDPOINT_SCHEMA)
        .sort("provider", "model")
    )
    return model_df, eps


def run_log_import(
    fmt: str,
    out_name: str,
    paths: list[Path],
    what: str,
    columns: tuple[str, ...],
    map_file: Callable[[pl.DataFrame], pl.DataFrame],
    out: Path,
) -> ImportReport:
    """Shared driver of the log importers: find the CSV files (`what` names them in the error
    when there is none), read each, map it (`map_file` returns the REQUEST_SCHEMA columns,
    extras, `_row`, `_line` and `_reason`), write requests, models, stub endpoints and the report."""
    files = find_csv_files(paths, what)
    report = ImportReport(fmt, Path(out))
    frames = []
    for f in files:
        first = len(report.issues)
        df = read_csv_rows(f, columns, report)
        if df is None:
            continue
        mapped = map_file(df)
        bad = mapped.filter(pl.col("_reason").is_not_null())
        report.issues += [
            ImportIssue(str(f), r, f"{why} (line {ln})")
            for r, ln, why in bad.select("_row", "_line", "_reason").iter_rows()
        ]
        report.issues[first:] = sorted(report.issues[first:], key=lambda i: (i.row is not None, i.row or 0))
        good = mapped.filter(pl.col("_reason").is_null()).drop("_reason", "_line").rename({"_row": "source_row"})
        if good.height:
            frames.append(good.with_columns(pl.lit(str(f)).alias("source_file")))
    requests = pl.concat(frames, how="diagonal_relaxed") if frames else pl.DataFrame(schema=REQUEST_SCHEMA)
    requests = requests.sort("ts", "request_id")
    models, endpoints = support_tables(requests)
    write_drop(report, out_name, {"models": models, "endpoints": endpoints, "requests": requests})
    assert report.rows_read == report.rows_written["requests"] + report.rows_reported, (
        report.rows_read,
        report.rows_written,
        report.rows_reported,
    )
    return report
