"""Azure LLM inference trace 2023 (Splitwise; Azure/AzurePublicDataset,
`AzureLLMInferenceTrace_{code,conv}.csv`; see ../shared/data/real/azure-llm-inference-2023/SOURCE.md)
-> contract requests, plus the models and endpoints rows they need to pass staging.

`import_azure_trace` accepts the CSV files or a folder holding them
(`AzureLLMInferenceTrace*.csv`). Columns (header, matched by name): TIMESTAMP, ContextTokens,
GeneratedTokens. One request per data row:

    request_id     `azure-<trace>-<line>`: <trace> is the file stem after
                   `AzureLLMInferenceTrace_`, lower case, `_` -> `-` (`code`, `conv`, and
                   `code-1week` for the 2024 week-long files, so the traces never collide);
                   <line> the 1-based physical line in the file, zero-padded to 6 digits (the
                   header is line 1, so the first request is `azure-code-000002`)
    ts             TIMESTAMP (`YYYY-MM-DD HH:MM:SS.fffffff`, no zone) read as UTC, as the
                   contract reads naive times; the 7th fractional digit (100 ns) is below the
                   contract's microsecond resolution and dropped (it is 0 on every row of the
                   2023 files). The raw text is kept in the extra column `azure_timestamp`.
    application    from the file name: `code` (..._code*.csv, the code-completion service) or
                   `conversation` (..._conv*.csv, the conversational service)
    input_tokens   ContextTokens
    output_tokens  GeneratedTokens
    model          MODEL = `azure-llm-2023`: the trace names no model (two Azure services,
                   models undisclosed); family `azure-trace`, developer `unknown`, release
                   date: the date of the first written request (a stand-in: none is known)
    provider       PROVIDER = `azure` (also the model's official_provider, so the baseline
                   of counterfactuals has an endpoint)
    status         ok on every row (the trace records only served requests), error_type null
    sample_rate    1. SOURCE.md calls the trace "a sample of production traffic" but states
                   no sampling probability, so weighted figures count traced requests, not
                   production requests. Pass `sample_rate` if a rate becomes known.
    client_id, latency_ms, ttft_ms, ...: not in the trace (see trace_common).

Reported (not written), with file and line: a line with a number of fields other than the
header's (malformed_row), a missing or unparseable TIMESTAMP, token counts missing or not
whole numbers, every row of a file whose header lacks a needed column or whose name says
neither code nor conv.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from pipeline.lib.importers import ImportReport, reason_expr
from pipeline.lib.importers import trace_common as tc

FORMAT = "azure-llm-trace"
OUT_NAME = "azure-llm-trace"
MODEL = "azure-llm-2023"
PROVIDER = "azure"
KNOWN_MODELS = {MODEL: ("azure-trace", "unknown", None, PROVIDER)}
TS_FORMAT = "%Y-%m-%d %H:%M:%S%.f"
COLUMNS = ("TIMESTAMP", "ContextTokens", "GeneratedTokens")
EXTRAS = {"azure_timestamp": pl.String, "trace_file": pl.String, "trace_line": pl.Int64}


def trace_name(path: Path) -> str:
    """`AzureLLMInferenceTrace_code_1week.csv` -> `code-1week` (the request_id part)."""
    stem = path.stem.lower()
    for p in ("azurellminferencetrace_", "azurellminferencetrace"):
        if stem.startswith(p):
            stem = stem[len(p) :]
            break
    return stem.replace("_", "-").strip("-") or "trace"


def application_of(path: Path) -> str | None:
    name = trace_name(path)
    if name.startswith("code"):
        return "code"
    if name.startswith("conv"):
        return "conversation"
    return None


def map_file(path: Path, sample_rate: float) -> pl.DataFrame:
    """One trace file -> requests columns + extras + `line` and `_reason` (null: written)."""
    head = tc.first_line(path)
    if head is None:
        raise tc.FileIssue("empty: the file has no header line")
    header_line, header = head
    n_fields, idx = tc.csv_columns(header, COLUMNS)
    app = application_of(path)
    file_reasons = [f"missing: column {c} (not in the header)" for c, i in idx.items() if i is None]
    if app is None:
        file_reasons.append(f"unmappable: file name {path.name!r} says neither code nor conv (the application)")
    fields = pl.col("raw").str.split(",")
    shape_ok = fields.list.len() == n_fields
    ts_text, inp, out = (tc.field(fields, idx[c]) for c in COLUMNS)
    ts = ts_text.str.to_datetime(TS_FORMAT, strict=False, time_unit="us")
    rules = [(~shape_ok, f"malformed_row: {n_fields} fields expected (as in the header)")]
    if not file_reasons:
        rules += [
            (shape_ok & ~tc.present(ts_text), "missing: TIMESTAMP"),
            (
                shape_ok & tc.present(ts_text) & ts.is_null(),
                "bad_type: TIMESTAMP is not a timestamp (YYYY-MM-DD HH:MM:SS[.f])",
            ),
            *tc.number_rules("ContextTokens", inp, shape_ok, whole_number=True),
            *tc.number_rules("GeneratedTokens", out, shape_ok, whole_number=True),
        ]
    trace = trace_name(path)
    lf = (
        tc.scan_lines(path)
        .filter(pl.col("line") > header_line)
        .select(
            pl.col("line"),
            tc.line_id(f"azure-{trace}-").alias("request_id"),
            ts.alias("ts"),
            pl.lit(app, dtype=pl.String).alias("application"),
            *tc.served_columns(MODEL, PROVIDER, inp, out, sample_rate),
            ts_text.alias("azure_timestamp"),
            pl.lit(path.name).alias("trace_file"),
            pl.col("line").alias("trace_line"),
            reason_expr(rules, "; ".join(file_reasons) or None).alias("_reason"),
        )
    )
    return tc.collect(lf)


def import_azure_trace(paths: list[Path], out: Path, *, sample_rate: float = 1.0) -> ImportReport:
    """Write out/{models,endpoints,requests}/azure-llm-trace.parquet and the report; see the
    module docstring. FileNotFoundError for a missing path, ValueError when there is no file."""
    tc.check_sample_rate(sample_rate)
    return tc.import_trace(
        FORMAT,
        OUT_NAME,
        paths,
        out,
        pattern="AzureLLMInferenceTrace*.csv",
        kind="Azure LLM inference trace",
        map_file=lambda p: map_file(p, sample_rate),
        extras=EXTRAS,
        known_models=KNOWN_MODELS,
    )
