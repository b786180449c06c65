"""Mooncake FAST'25 traces (kvcache-ai/Mooncake `FAST25-release/traces/*.jsonl`: Kimi /
Moonshot AI production requests; see ../shared/data/real/mooncake-fast25/SOURCE.md) -> contract
requests, plus the models and endpoints rows they need to pass staging.

`import_mooncake` accepts JSONL files or folders of them (`*.jsonl`). One JSON object per line
with `timestamp` (ms from trace start), `input_length`, `output_length`, `hash_ids`. One request
per line:

    request_id     `mooncake-<trace>-<line>`: <trace> is the file stem without `_trace`, lower
                   case, `_` -> `-` (`conversation`, `synthetic`, `toolagent`); <line> the 1-based
                   line, zero-padded to 6 digits
    ts             EPOCH + timestamp ms. The trace has relative times only and no date; EPOCH is
                   the parameter `epoch`, default trace_common.DEFAULT_EPOCH (2025-03-01 00:00
                   UTC, a placeholder). Each file starts at its own 0: files are not aligned.
    application    <trace> (`conversation`, `synthetic`: built from public datasets with
                   synthetic Poisson arrivals, SOURCE.md; use it for lengths, not arrivals)
    input_tokens   input_length;  output_tokens: output_length
    model          MODEL = `mooncake-kimi`: the trace names no model (Kimi production traffic);
                   family `kimi`, developer `moonshot`, release date: the date of the first
                   written request (a stand-in)
    provider       PROVIDER = `moonshot` (Kimi's own service; also the official_provider)
    status         ok (served requests), sample_rate 1 (SOURCE.md: "a one-hour sample", no
                   sampling probability stated: weighted figures count traced requests)
    cached_input_tokens  null. hash_ids say which 512-token prefix blocks requests share, i.e.
                   what a cache COULD reuse; what was served from cache (the contract's column)
                   depends on the cache and is not in the trace. hash_ids is kept verbatim as
                   the extra column `mooncake_hash_ids` (JSON text).

Extra columns: `mooncake_hash_ids`, `trace_file`, `trace_line`.

Reported with file and line: a line that is not valid JSON or not a JSON object
(malformed_json), timestamp missing or not a number, lengths missing or not whole numbers.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl

from pipeline.lib.importers import ImportReport, reason_expr
from pipeline.lib.importers import trace_common as tc

FORMAT = "mooncake"
OUT_NAME = "mooncake"
MODEL = "mooncake-kimi"
PROVIDER = "moonshot"
KNOWN_MODELS = {MODEL: ("kimi", "moonshot", None, PROVIDER)}
EXTRAS = {"mooncake_hash_ids": pl.String, "trace_file": pl.String, "trace_line": pl.Int64}


def trace_name(path: Path) -> str:
    stem = path.stem.lower()
    stem = stem[: -len("_trace")] if stem.endswith("_trace") else stem
    return stem.replace("_", "-") or "trace"


def map_file(path: Path, epoch: dt.datetime, sample_rate: float) -> pl.DataFrame:
    raw = pl.col("raw")
    doc = raw.str.json_path_match("$")  # null when the line is not valid JSON
    is_obj = doc.str.starts_with("{").fill_null(False)

    def get(key: str) -> pl.Expr:
        return raw.str.json_path_match(f"$.{key}").str.strip_chars()

    ts_ms, inp, out, hashes = get("timestamp"), get("input_length"), get("output_length"), get("hash_ids")
    rules = [
        (doc.is_null(), "malformed_json: not valid JSON"),
        (doc.is_not_null() & ~is_obj, "malformed_json: not a JSON object"),
        *tc.number_rules("timestamp", ts_ms, is_obj, whole_number=False),
        *tc.number_rules("input_length", inp, is_obj, whole_number=True),
        *tc.number_rules("output_length", out, is_obj, whole_number=True),
    ]
    trace = trace_name(path)
    lf = tc.scan_lines(path).select(
        pl.col("line"),
        tc.line_id(f"mooncake-{trace}-").alias("request_id"),
        tc.seconds_after(epoch, tc.num(ts_ms) / 1000).alias("ts"),
        pl.lit(trace).alias("application"),
        *tc.served_columns(MODEL, PROVIDER, inp, out, sample_rate),
        hashes.alias("mooncake_hash_ids"),
        pl.lit(path.name).alias("trace_file"),
        pl.col("line").alias("trace_line"),
        reason_expr(rules).alias("_reason"),
    )
    return tc.collect(lf)


def import_mooncake(
    paths: list[Path], out: Path, *, epoch: dt.datetime = tc.DEFAULT_EPOCH, sample_rate: float = 1.0
) -> ImportReport:
    """Write out/{models,endpoints,requests}/mooncake.parquet and the report; see the module
    docstring. `epoch` is the naive UTC time of timestamp 0."""
    tc.check_sample_rate(sample_rate)
    return tc.import_trace(
        FORMAT,
        OUT_NAME,
        paths,
        out,
        pattern="*.jsonl",
        kind="Mooncake trace",
        map_file=lambda p: map_file(p, epoch, sample_rate),
        extras=EXTRAS,
        known_models=KNOWN_MODELS,
    )
