"""OpenRouter activity exports (CSV, one row per generation) -> contract requests, plus the
models and stub endpoints those requests need to pass staging.

Source: openrouter.ai/activity -> export (CSV). OpenRouter documents the export and the
per-generation fields of GET /api/v1/generation (id, created_at, model, provider_name,
tokens_prompt, tokens_completion, native_tokens_cached, streamed, cancelled, latency,
generation_time, finish_reason, app_id ...); the CSV export names them as below (the column
set observed in exports in the wild; matched case-insensitively, `_` ignored).
`import_openrouter_activity` accepts CSV files or folders of them (`*.csv`, recursively).

Expected columns. Required: generation_id, created_at, model_permaslug, provider_name,
tokens_prompt, tokens_completion. Used when present: tokens_cached, tokens_reasoning,
finish_reason_normalized, finish_reason_raw, cancelled, streamed, time_to_first_token_ms,
generation_time_ms, app_name, api_key_name, cost_total, variant. Others (cost_web_search,
cost_cache, cost_file_processing, byok_usage_inference, user) are read and not used.
`model` and `provider` are accepted for model_permaslug and provider_name.

requests, one row per CSV row:

    request_id          generation_id
    ts                  created_at (`YYYY-MM-DD HH:MM:SS.fff`, UTC; ISO-8601 with a zone is
                        converted)
    model               model_permaslug mapped through the alias map with OpenRouter's slug
                        meaning (`deepseek/deepseek-chat` is DeepSeek-V3), on the request's date
    provider            provider_name -> aliases.provider_id: the upstream that served the
                        generation (`DeepInfra` -> deepinfra, `Together` -> together,
                        `NovitaAI` -> novita, `Z.AI` -> zhipu, `Moonshot AI` -> moonshot, ...;
                        an unknown name is lower-cased, non-alphanumerics -> `-`)
    input_tokens        tokens_prompt
    output_tokens       tokens_completion (OpenRouter bills reasoning tokens as completion
                        tokens; tokens_reasoning is kept as an extra)
    cached_input_tokens tokens_cached (null when absent)
    status, error_type  from finish_reason_normalized: stop, length, tool_calls,
                        function_call or blank -> ok; content_filter -> error / content_filter;
                        error -> error, with error_type from finish_reason_raw (429 / rate ->
                        rate_limit, timeout -> timeout, context / too long -> context_overflow,
                        else other). A cancelled generation (cancelled true: the caller stopped
                        it) stays ok with the extra column openrouter_cancelled, so that client
                        cancellations are not counted as provider faults.
    http_status         null (not exported)
    ttft_ms             time_to_first_token_ms
    latency_ms          time_to_first_token_ms + generation_time_ms: OpenRouter's generation
                        time is read as the time spent generating after the first token (its
                        throughput figure is completion tokens over generation time); null when
                        either is missing
    stream              streamed
    tools               finish_reason_normalized = tool_calls (a lower bound: the export does
                        not say whether tools were offered)
    json_mode           false (not exported)
    application         app_name (blank -> null)
    client_id           a pseudonym of api_key_name (sha256, 16 hex); key names are not kept
    sample_rate         1

extras: openrouter_cost_total, openrouter_tokens_reasoning, openrouter_variant,
openrouter_finish_reason_raw, openrouter_cancelled, openrouter_model_permaslug,
openrouter_provider_name, source_row, source_file.

Not written, each listed with file, row and line: a CSV line with the wrong number of fields
(malformed_row); a missing required value, a token count that is not a whole number, a
created_at that does not parse, an unknown finish_reason_normalized, and a model the alias
map does not place among the studied open-weight models (with its class).

models and endpoint stubs as in litellm_spend_logs (log_common.support_tables).
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from pipeline.lib.importers import ImportReport, reason_expr
from pipeline.lib.importers.log_common import (
    REQUEST_SCHEMA,
    boolean,
    ensure,
    number,
    provider_ids,
    pseudonym,
    resolve_models,
    run_log_import,
    timestamp,
    txt,
    whole,
)

FORMAT = "openrouter-activity"
OUT_NAME = "openrouter_activity"
COLUMNS = (
    "generation_id",
    "created_at",
    "cost_total",
    "cost_web_search",
    "cost_cache",
    "cost_file_processing",
    "byok_usage_inference",
    "tokens_prompt",
    "tokens_completion",
    "tokens_reasoning",
    "tokens_cached",
    "model_permaslug",
    "provider_name",
    "variant",
    "cancelled",
    "streamed",
    "user",
    "finish_reason_raw",
    "finish_reason_normalized",
    "generation_time_ms",
    "time_to_first_token_ms",
    "app_name",
    "api_key_name",
)
REQUIRED = ("generation_id", "created_at", "model_permaslug", "provider_name", "tokens_prompt", "tokens_completion")
OK_FINISH = ("stop", "length", "tool_calls", "function_call")


def map_activity(df: pl.DataFrame) -> pl.DataFrame:
    """One file's rows -> REQUEST_SCHEMA columns, extras, `_row`, `_line`, `_reason` (each
    field parsed once, as in litellm_spend_logs)."""
    if "model_permaslug" not in df.columns and "model" in df.columns:
        df = df.rename({"model": "model_permaslug"})
    if "provider_name" not in df.columns and "provider" in df.columns:
        df = df.rename({"provider": "provider_name"})
    df = ensure(df, COLUMNS)
    c = pl.col
    df = df.with_columns(*[txt(n).alias(f"_t_{n}") for n in COLUMNS])
    finish = c("_t_finish_reason_normalized").str.to_lowercase()
    raw = c("_t_finish_reason_raw").str.to_lowercase()
    df = df.with_columns(
        timestamp(c("_t_created_at")).alias("ts"),
        whole(c("_t_tokens_prompt")).alias("input_tokens"),
        whole(c("_t_tokens_completion")).alias("output_tokens"),
        whole(c("_t_tokens_cached")).alias("cached_input_tokens"),
        number(c("_t_time_to_first_token_ms")).alias("ttft_ms"),
        number(c("_t_generation_time_ms")).alias("_gen"),
        pl.when(finish.is_null() | finish.is_in(OK_FINISH))
        .then(pl.lit("ok"))
        .when(finish.is_in(["content_filter", "error"]))
        .then(pl.lit("error"))
        .alias("status"),
        pl.when(finish == "content_filter")
        .then(pl.lit("content_filter"))
        .when(finish != "error")
        .then(pl.lit(None, dtype=pl.String))
        .when(raw.str.contains(r"429|rate"))
        .then(pl.lit("rate_limit"))
        .when(raw.str.contains("timeout|timed out"))
        .then(pl.lit("timeout"))
        .when(raw.str.contains("context|too long|maximum"))
        .then(pl.lit("context_overflow"))
        .otherwise(pl.lit("other"))
        .alias("_error_type"),
        (finish == "tool_calls").fill_null(False).alias("tools"),
        provider_ids(c("_t_provider_name")).alias("provider"),
        pl.lit("openrouter").alias("_route"),
        c("_t_model_permaslug").alias("_model"),
    )
    df = resolve_models(df, ["_model"], "_route")
    rules: list[tuple[pl.Expr, pl.Expr]] = [(c(f"_t_{n}").is_null(), pl.lit(f"missing: {n}")) for n in REQUIRED]
    rules += [
        (
            c("_t_created_at").is_not_null() & c("ts").is_null(),
            pl.lit("bad_type: created_at does not parse as a timestamp"),
        ),
        (
            c("_t_tokens_prompt").is_not_null() & c("input_tokens").is_null(),
            pl.lit("bad_type: tokens_prompt is not a whole number"),
        ),
        (
            c("_t_tokens_completion").is_not_null() & c("output_tokens").is_null(),
            pl.lit("bad_type: tokens_completion is not a whole number"),
        ),
        (
            c("_t_tokens_cached").is_not_null() & c("cached_input_tokens").is_null(),
            pl.lit("bad_type: tokens_cached is not a whole number"),
        ),
        (
            c("status").is_null(),
            pl.lit("not_allowed: finish_reason_normalized is not stop, length, tool_calls, content_filter or error"),
        ),
        (c("_t_model_permaslug").is_not_null() & c("_canonical").is_null(), c("_model_reason")),
    ]
    return df.select(
        c("_t_generation_id").alias("request_id"),
        "ts",
        c("_t_app_name").alias("application"),
        pseudonym(c("_t_api_key_name"), "openrouter-key").alias("client_id"),
        c("_canonical").alias("model"),
        "provider",
        "input_tokens",
        "output_tokens",
        "cached_input_tokens",
        "status",
        pl.when(c("status") == "error").then(c("_error_type")).alias("error_type"),
        pl.lit(None, dtype=pl.Int64).alias("http_status"),
        "ttft_ms",
        (c("ttft_ms") + c("_gen")).alias("latency_ms"),
        boolean(c("_t_streamed")).fill_null(False).alias("stream"),
        "tools",
        pl.lit(False).alias("json_mode"),
        pl.lit(1.0).alias("sample_rate"),
        number(c("_t_cost_total")).alias("openrouter_cost_total"),
        whole(c("_t_tokens_reasoning")).alias("openrouter_tokens_reasoning"),
        c("_t_variant").alias("openrouter_variant"),
        c("_t_finish_reason_raw").alias("openrouter_finish_reason_raw"),
        boolean(c("_t_cancelled")).fill_null(False).alias("openrouter_cancelled"),
        c("_model").alias("openrouter_model_permaslug"),
        c("_t_provider_name").alias("openrouter_provider_name"),
        "_row",
        "_line",
        reason_expr(rules).alias("_reason"),
    ).cast(REQUEST_SCHEMA)


def import_openrouter_activity(paths: list[Path], out: Path) -> ImportReport:
    """Write out/{models,endpoints,requests}/openrouter_activity.parquet and the report; see
    the module docstring. Raises FileNotFoundError for a missing path, ValueError when the
    paths hold no CSV."""
    return run_log_import(FORMAT, OUT_NAME, paths, "OpenRouter activity", COLUMNS, map_activity, out)
