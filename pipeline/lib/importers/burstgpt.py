"""BurstGPT (HPMLL/BurstGPT: Azure OpenAI ChatGPT / GPT-4 workload of a regional service;
see ../shared/data/real/burstgpt-slices/SOURCE.md) -> contract requests, plus the models and
endpoints rows they need to pass staging.

`import_burstgpt` accepts CSV files or folders of them (`*.csv`). Both layouts are read by
header name: release 1 `Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type`
and release 2 (`BurstGPT_3`) with `Session ID` and `Elapsed time` in addition. One request
per data row:

    request_id     `<trace>-<line>`: <trace> is the file stem lower-cased, `_` -> `-`, with a
                   `burstgpt-` prefix unless it starts with `burstgpt` (`burstgpt-slice`,
                   `burstgpt3-slice`, `burstgpt-1`); <line> the 1-based physical line, zero-padded
                   to 6 digits (header = line 1). The slices are prefixes of the full files: the
                   same request imported from a slice and from the full file gets two ids.
    ts             Timestamp = seconds since 0:00:00 of the first trace day, in the service's local
                   time zone (BurstGPT README). Neither the date nor the zone is published:
                   ts = DAY0 (naive local midnight of day 0) + Timestamp seconds - UTC_OFFSET_HOURS.
                   DAY0 defaults to 2023-07-01, a placeholder chosen to be after GPT-4's release
                   (so no request predates its model) and early enough that release 1's 121 days
                   end before the paper's first version (2024-01-31). UTC_OFFSET_HOURS defaults
                   to +8 (the authors' campus is in Guangzhou; the README says only "local time
                   zone"). Both are parameters (`day0`, `utc_offset_hours`). Release 2 timestamps
                   are not zero-based (day ~225) and are read with the same origin.
    model          Model lower-cased: ChatGPT -> `chatgpt` (GPT-3.5; released 2022-11-30, the
                   ChatGPT launch), GPT-4 -> `gpt-4` (2023-03-14); family `gpt`, developer
                   `openai`, official_provider `openai` (the developer's own API, the
                   contract's definition). The drop has no `openai` endpoint, so the warehouse
                   check official_providers_have_endpoints WARNs: that is true of this trace.
                   Any other model name is reported (the README names only these two).
    provider       PROVIDER = `azure-openai` (the trace is an Azure OpenAI service)
    application    Log Type lower-cased, spaces -> `_`: `conversation_log` (chat UI),
                   `api_log` (programmatic API); blank -> null (staging: `unknown`)
    input_tokens   Request tokens;  output_tokens: Response tokens
    status         `error` when Response tokens is 0 (the README: a zero response marks a failed
                   request), with error_type `other` (the trace says nothing of the cause); else
                   `ok`. Failed rows of release 1 carry 0 request tokens too: written as 0, the
                   usage as billed, not the prompt's length (which the trace lost).
    latency_ms     Elapsed time (whole seconds, submission to complete response) * 1000 where the
                   column exists (release 2), else null; ttft_ms null (Elapsed time is not TTFT)
    sample_rate    1 (the full trace of the service; the slices are prefixes, not samples)

Extra columns: `burstgpt_session_id` (Session ID: a conversation, not a caller, so not
client_id), `burstgpt_total_tokens` (Total tokens as given), `trace_file`, `trace_line`.

Reported with file and line: a line whose field count differs from the header's
(malformed_row), Timestamp missing or not a number, Model missing or unknown, token counts
missing or not whole numbers, Elapsed time present but not a number; every row of a file whose
header lacks a needed column.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl

from pipeline.lib.importers import ImportReport, reason_expr
from pipeline.lib.importers import trace_common as tc

FORMAT = "burstgpt"
OUT_NAME = "burstgpt"
PROVIDER = "azure-openai"
DAY0 = dt.datetime(2023, 7, 1)
UTC_OFFSET_HOURS = 8.0
# canonical id -> (family, developer, release_date, official_provider)
KNOWN_MODELS = {
    "chatgpt": ("gpt", "openai", dt.date(2022, 11, 30), "openai"),
    "gpt-4": ("gpt", "openai", dt.date(2023, 3, 14), "openai"),
}
REQUIRED = ("Timestamp", "Model", "Request tokens", "Response tokens", "Log Type")
OPTIONAL = ("Session ID", "Elapsed time", "Total tokens")
EXTRAS = {
    "burstgpt_session_id": pl.String,
    "burstgpt_total_tokens": pl.String,
    "trace_file": pl.String,
    "trace_line": pl.Int64,
}


def trace_name(path: Path) -> str:
    stem = path.stem.lower().replace("_", "-").replace(" ", "-")
    return stem if stem.startswith("burstgpt") else f"burstgpt-{stem}"


def model_expr(raw: pl.Expr) -> pl.Expr:
    """Canonical model id of a BurstGPT Model value (null when unknown)."""
    m = raw.str.to_lowercase().str.replace_all(r"\s+", "-")
    return pl.when(m.is_in(list(KNOWN_MODELS))).then(m)


def map_file(path: Path, origin_utc: dt.datetime, sample_rate: float) -> pl.DataFrame:
    head = tc.first_line(path)
    if head is None:
        raise tc.FileIssue("empty: the file has no header line")
    header_line, header = head
    n_fields, idx = tc.csv_columns(header, REQUIRED + OPTIONAL)
    file_reasons = [f"missing: column {c} (not in the header)" for c in REQUIRED if idx[c] is None]
    fields = pl.col("raw").str.split(",")
    ok = fields.list.len() == n_fields
    f = {c: tc.field(fields, idx[c]) for c in REQUIRED + OPTIONAL}
    rules = [(~ok, f"malformed_row: {n_fields} fields expected (as in the header)")]
    if not file_reasons:
        rules += [
            *tc.number_rules("Timestamp", f["Timestamp"], ok, whole_number=False),
            (ok & ~tc.present(f["Model"]), "missing: Model"),
            (
                ok & tc.present(f["Model"]) & model_expr(f["Model"]).is_null(),
                pl.format("unmappable: model '{}' (known: ChatGPT, GPT-4)", f["Model"]),
            ),
            *tc.number_rules("Request tokens", f["Request tokens"], ok, whole_number=True),
            *tc.number_rules("Response tokens", f["Response tokens"], ok, whole_number=True),
            (
                ok & tc.present(f["Elapsed time"]) & ~tc.is_number(f["Elapsed time"]),
                "bad_type: Elapsed time is not a number",
            ),
        ]
    out_tokens = tc.whole(f["Response tokens"])
    failed = out_tokens == 0
    log_type = f["Log Type"].str.to_lowercase().str.replace_all(r"\s+", "_")
    lf = (
        tc.scan_lines(path)
        .filter(pl.col("line") > header_line)
        .select(
            pl.col("line"),
            tc.line_id(f"{trace_name(path)}-").alias("request_id"),
            tc.seconds_after(origin_utc, tc.num(f["Timestamp"])).alias("ts"),
            pl.when(tc.present(log_type)).then(log_type).alias("application"),
            pl.lit(None, dtype=pl.String).alias("client_id"),
            model_expr(f["Model"]).alias("model"),
            pl.lit(PROVIDER).alias("provider"),
            tc.whole(f["Request tokens"]).alias("input_tokens"),
            out_tokens.alias("output_tokens"),
            pl.when(failed).then(pl.lit("error")).otherwise(pl.lit("ok")).alias("status"),
            pl.when(failed).then(pl.lit("other")).alias("error_type"),
            (tc.num(f["Elapsed time"]) * 1000).alias("latency_ms"),
            pl.lit(sample_rate, dtype=pl.Float64).alias("sample_rate"),
            pl.when(tc.present(f["Session ID"])).then(f["Session ID"]).alias("burstgpt_session_id"),
            f["Total tokens"].alias("burstgpt_total_tokens"),
            pl.lit(path.name).alias("trace_file"),
            pl.col("line").alias("trace_line"),
            reason_expr(rules, "; ".join(file_reasons) or None).alias("_reason"),
        )
    )
    return tc.collect(lf)


def import_burstgpt(
    paths: list[Path],
    out: Path,
    *,
    day0: dt.datetime = DAY0,
    utc_offset_hours: float = UTC_OFFSET_HOURS,
    sample_rate: float = 1.0,
) -> ImportReport:
    """Write out/{models,endpoints,requests}/burstgpt.parquet and the report; see the module
    docstring. `day0` is the naive local midnight of trace day 0, `utc_offset_hours` the local
    zone's offset from UTC."""
    tc.check_sample_rate(sample_rate)
    origin_utc = day0 - dt.timedelta(hours=utc_offset_hours)
    return tc.import_trace(
        FORMAT,
        OUT_NAME,
        paths,
        out,
        pattern="*.csv",
        kind="BurstGPT",
        map_file=lambda p: map_file(p, origin_utc, sample_rate),
        extras=EXTRAS,
        known_models=KNOWN_MODELS,
    )
