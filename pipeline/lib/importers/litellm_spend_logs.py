"""LiteLLM proxy spend logs (CSV export of the `LiteLLM_SpendLogs` table) -> contract
requests, plus the models and stub endpoints those requests need to pass staging.

Source: the LiteLLM proxy writes one row per call into its Postgres table
`LiteLLM_SpendLogs` (schema.prisma; the same fields as its SpendLogsPayload). Platform teams
export it as CSV (`\\copy "LiteLLM_SpendLogs" to 'spend.csv' csv header`, or the admin UI).
`import_litellm_spend_logs` accepts CSV files or folders of them (`*.csv`, recursively).

Expected columns (header names matched case-insensitively, `_` ignored, so `startTime`,
`start_time` and `STARTTIME` are one column). Required: request_id, startTime, model,
prompt_tokens, completion_tokens. Used when present: endTime, completionStartTime,
custom_llm_provider, model_group, api_base, call_type, status, metadata (JSON),
proxy_server_request (JSON), request_tags (JSON), cache_hit, api_key, spend. Other columns
of the table (model_id, user, team_id, end_user, cache_key, requester_ip_address, messages,
response, session_id, total_tokens, mcp_namespaced_tool_name ...) are read and not used.

requests, one row per log row:

    request_id          request_id
    ts                  startTime (ISO-8601; naive = UTC, zoned converted to UTC)
    model               model mapped through the alias map (aliases.resolve) with the
                        provider route on the request's date; when `model` does not map,
                        model_group is tried
    provider            custom_llm_provider -> aliases.provider_id; when blank, the route
                        prefix of `model` (`together_ai/...`), else the host of api_base
                        (API_HOSTS)
    input_tokens        prompt_tokens
    output_tokens       completion_tokens
    cached_input_tokens metadata.usage_object.prompt_tokens_details.cached_tokens, else
                        metadata.additional_usage_values.prompt_tokens_details.cached_tokens,
                        else ...cache_read_input_tokens (null when none is logged)
    status              status (`success` -> ok, `failure` -> error); blank: metadata.status,
                        else error when metadata.error_information is logged, else ok
    error_type          from metadata.error_information (error_class, then error_code):
                        RateLimitError / 429 -> rate_limit; Timeout / 408, 504 -> timeout;
                        ContextWindowExceededError -> context_overflow;
                        ContentPolicyViolationError -> content_filter; AuthenticationError,
                        PermissionDeniedError / 401, 403 -> auth; BadRequestError,
                        NotFoundError, UnprocessableEntityError / 400, 404, 422 ->
                        invalid_request; InternalServerError, ServiceUnavailableError,
                        APIConnectionError, APIError / 5xx -> server_error; else other
    http_status         error_information.error_code when it is 100-599 (null on success:
                        the table does not log it)
    latency_ms          endTime - startTime
    ttft_ms             completionStartTime - startTime (LiteLLM sets completionStartTime to
                        endTime on non-streaming calls, so there ttft = latency)
    stream, tools,      from proxy_server_request (the logged request body): `stream` true;
    json_mode           a non-empty `tools` or `functions`; response_format.type json_object
                        or json_schema. The body is logged only with store_prompts_in_spend_logs;
                        without it the three are false (extra column request_body_logged)
    application         the first request tag (request_tags JSON array), else null
    client_id           api_key (already LiteLLM's hash of the virtual key)
    sample_rate         1 (the table logs every call)

extras: litellm_spend, litellm_call_type, litellm_model (raw), litellm_model_group,
litellm_provider_raw, request_body_logged, source_row.

Not written, each listed with file, row (1-based data row) and line: a CSV line with the wrong
number of fields (malformed_row); a row missing a required value or with a token count that
is not a whole number or a start time that does not parse; a call_type that is not a
completion (embeddings, images, audio, moderation, rerank ...); a cache hit (cache_hit true:
the answer came from the proxy's cache, no provider served it); a model the alias map does
not place among the studied open-weight models (with its class: non_target, closed, ...);
a row with no provider. Range rules (negative latency, cached > input) are left to staging.

models: the canonical models written (aliases.CANONICAL). endpoints: one stub per (provider,
model) written, so staging knows them: valid_from = the pair's first request, valid_to null,
context_length = the model's native window (aliases.py), max_output_tokens null,
quantization unknown, supports_streaming true, supports_tools / supports_json_mode = whether
any successful request of the pair used them, supports_reasoning false; extra column
endpoint_source = "stub from request logs". Drop these stubs when the drop also has a price
import's endpoints (litellm-prices), which carry the providers' real limits.

Reading the CSV (log_csv), the parsing expressions, model resolution, the models and stub
endpoints and the import driver (log_common) are shared with openrouter_activity.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from pipeline.lib.importers import ImportReport, reason_expr
from pipeline.lib.importers.aliases import PROVIDER_OF_ROUTE
from pipeline.lib.importers.log_common import (
    REQUEST_SCHEMA,
    boolean,
    ensure,
    json_field,
    ms_between,
    number,
    provider_ids,
    resolve_models,
    run_log_import,
    timestamp,
    txt,
    whole,
)

FORMAT = "litellm-spend-logs"
OUT_NAME = "litellm_spend_logs"

COLUMNS = (
    "request_id",
    "call_type",
    "api_key",
    "spend",
    "total_tokens",
    "prompt_tokens",
    "completion_tokens",
    "startTime",
    "endTime",
    "completionStartTime",
    "model",
    "model_id",
    "model_group",
    "custom_llm_provider",
    "api_base",
    "user",
    "metadata",
    "cache_hit",
    "cache_key",
    "request_tags",
    "team_id",
    "end_user",
    "requester_ip_address",
    "messages",
    "response",
    "session_id",
    "status",
    "proxy_server_request",
)
REQUIRED = ("request_id", "startTime", "model", "prompt_tokens", "completion_tokens")

API_HOSTS = {
    "api.deepseek.com": "deepseek",
    "api.together.xyz": "together",
    "api.fireworks.ai": "fireworks",
    "api.deepinfra.com": "deepinfra",
    "api.novita.ai": "novita",
    "api.groq.com": "groq",
    "api.moonshot.ai": "moonshot",
    "api.moonshot.cn": "moonshot",
    "api.z.ai": "zhipu",
    "open.bigmodel.cn": "zhipu",
    "dashscope.aliyuncs.com": "alibaba",
    "dashscope-intl.aliyuncs.com": "alibaba",
    "api.minimax.io": "minimax",
    "api.minimaxi.com": "minimax",
    "api.mistral.ai": "mistral",
    "api.siliconflow.cn": "siliconflow",
    "api.siliconflow.com": "siliconflow",
    "openrouter.ai": "openrouter",
    "ark.cn-beijing.volces.com": "volcengine",
    "api.cerebras.ai": "cerebras",
    "api.sambanova.ai": "sambanova",
    "api.hyperbolic.xyz": "hyperbolic",
    "api.studio.nebius.com": "nebius",
    "api.studio.nebius.ai": "nebius",
}
ERROR_CLASSES = (  # (substring of error_class, error_type), first match wins
    ("ratelimit", "rate_limit"),
    ("timeout", "timeout"),
    ("contextwindow", "context_overflow"),
    ("contentpolicy", "content_filter"),
    ("authentication", "auth"),
    ("permissiondenied", "auth"),
    ("badrequest", "invalid_request"),
    ("notfound", "invalid_request"),
    ("unprocessable", "invalid_request"),
    ("internalserver", "server_error"),
    ("serviceunavailable", "server_error"),
    ("apiconnection", "server_error"),
    ("apierror", "server_error"),
)


# --------------------------------------------------------------------------- LiteLLM mapping


def error_type_expr(cls: pl.Expr, code: pl.Expr) -> pl.Expr:
    """Contract error_type from LiteLLM's error_class and error_code (see the docstring)."""
    c = cls.str.to_lowercase().str.replace_all(r"[^a-z]", "")
    out = pl.when(pl.lit(False)).then(pl.lit(None, dtype=pl.String))
    for sub, et in ERROR_CLASSES:
        out = out.when(c.str.contains(sub, literal=True)).then(pl.lit(et))
    return (
        out.when(code == 429)
        .then(pl.lit("rate_limit"))
        .when(code.is_in([408, 504]))
        .then(pl.lit("timeout"))
        .when(code.is_in([401, 403]))
        .then(pl.lit("auth"))
        .when(code.is_in([400, 404, 422]))
        .then(pl.lit("invalid_request"))
        .when((code >= 500) & (code <= 599))
        .then(pl.lit("server_error"))
        .otherwise(pl.lit("other"))
    )


def _provider_route() -> pl.Expr:
    prefix = txt("model").str.extract(r"^([A-Za-z0-9_.-]+)/", 1)
    known_prefix = pl.when(prefix.str.to_lowercase().is_in(list(PROVIDER_OF_ROUTE))).then(prefix)
    host = txt("api_base").str.extract(r"^(?:[a-z]+://)?([^/:]+)", 1).str.to_lowercase()
    host_route = host.replace_strict(API_HOSTS, default=None, return_dtype=pl.String)
    return pl.coalesce(txt("custom_llm_provider"), known_prefix, host_route)


def map_spend_logs(df: pl.DataFrame) -> pl.DataFrame:
    """One file's rows -> REQUEST_SCHEMA columns, extras, `_row`, `_line`, `_reason`.
    Each text field is parsed once (one with_columns per stage), so the cost is a few
    passes over the columns whatever the number of rules."""
    df = ensure(df, COLUMNS)
    c = pl.col
    # stage 1: the raw fields, trimmed, and the JSON paths read
    meta, body = txt("metadata"), txt("proxy_server_request")
    df = df.with_columns(
        *[
            txt(n).alias(f"_t_{n}")
            for n in (
                *REQUIRED,
                "endTime",
                "completionStartTime",
                "status",
                "call_type",
                "cache_hit",
                "api_key",
                "spend",
                "model_group",
            )
        ],
        json_field(meta, "$.error_information.error_class").alias("_err_cls"),
        json_field(meta, "$.error_information.error_code").alias("_err_code"),
        json_field(meta, "$.error_information").alias("_err_info"),
        json_field(meta, "$.status").alias("_meta_status"),
        json_field(meta, "$.usage_object.prompt_tokens_details.cached_tokens").alias("_cached_1"),
        json_field(meta, "$.additional_usage_values.prompt_tokens_details.cached_tokens").alias("_cached_2"),
        json_field(meta, "$.additional_usage_values.cache_read_input_tokens").alias("_cached_3"),
        (body.is_not_null() & (body != "{}")).fill_null(False).alias("request_body_logged"),
        json_field(body, "$.stream").alias("_stream"),
        json_field(body, "$.tools").alias("_tools"),
        json_field(body, "$.functions").alias("_functions"),
        json_field(body, "$.response_format.type").alias("_format"),
        json_field(txt("request_tags"), "$[0]").alias("application"),
        _provider_route().alias("_route"),
    )
    # stage 2: typed values
    status_raw = pl.coalesce(c("_t_status"), c("_meta_status")).str.to_lowercase()
    has_error = c("_err_info").is_not_null() & (c("_err_info") != "{}")
    call = c("_t_call_type").str.to_lowercase()
    df = df.with_columns(
        timestamp(c("_t_startTime")).alias("ts"),
        timestamp(c("_t_endTime")).alias("_end"),
        timestamp(c("_t_completionStartTime")).alias("_first"),
        whole(c("_t_prompt_tokens")).alias("input_tokens"),
        whole(c("_t_completion_tokens")).alias("output_tokens"),
        pl.coalesce(whole(c("_cached_1")), whole(c("_cached_2")), whole(c("_cached_3"))).alias("cached_input_tokens"),
        whole(c("_err_code")).alias("_code"),
        pl.when(status_raw.is_in(["success", "ok"]))
        .then(pl.lit("ok"))
        .when(status_raw.is_in(["failure", "error", "failed"]))
        .then(pl.lit("error"))
        .when(status_raw.is_null() & has_error)
        .then(pl.lit("error"))
        .when(status_raw.is_null())
        .then(pl.lit("ok"))
        .alias("status"),
        (call.is_null() | call.str.contains(r"completion|responses|messages|generate_content|chat")).alias(
            "_completion"
        ),
        provider_ids(c("_route")).alias("provider"),
        c("_t_model").alias("_model"),
        c("_t_model_group").alias("_group"),
        (c("_stream").str.to_lowercase() == "true").fill_null(False).alias("stream"),
        (
            (c("_tools").is_not_null() & ~c("_tools").is_in(["[]", "null"]))
            | (c("_functions").is_not_null() & ~c("_functions").is_in(["[]", "null"]))
        )
        .fill_null(False)
        .alias("tools"),
        c("_format").is_in(["json_object", "json_schema"]).fill_null(False).alias("json_mode"),
    )
    df = resolve_models(df, ["_model", "_group"], "_route")
    rules: list[tuple[pl.Expr, pl.Expr]] = [(c(f"_t_{n}").is_null(), pl.lit(f"missing: {n}")) for n in REQUIRED]
    rules += [
        (
            c("_t_startTime").is_not_null() & c("ts").is_null(),
            pl.lit("bad_type: startTime does not parse as a timestamp"),
        ),
        (
            c("_t_prompt_tokens").is_not_null() & c("input_tokens").is_null(),
            pl.lit("bad_type: prompt_tokens is not a whole number"),
        ),
        (
            c("_t_completion_tokens").is_not_null() & c("output_tokens").is_null(),
            pl.lit("bad_type: completion_tokens is not a whole number"),
        ),
        (c("status").is_null(), pl.lit("not_allowed: status is not success or failure")),
        (~c("_completion"), pl.lit("not_a_completion: call_type is not a completion call")),
        (boolean(c("_t_cache_hit")), pl.lit("cache_hit: served from the proxy's cache, no provider call")),
        (c("provider").is_null(), pl.lit("missing: custom_llm_provider (and no provider prefix or known api_base)")),
        (c("_t_model").is_not_null() & c("_canonical").is_null(), c("_model_reason")),
    ]
    return df.select(
        c("_t_request_id").alias("request_id"),
        "ts",
        "application",
        c("_t_api_key").alias("client_id"),
        c("_canonical").alias("model"),
        "provider",
        "input_tokens",
        "output_tokens",
        "cached_input_tokens",
        "status",
        pl.when(c("status") == "error").then(error_type_expr(c("_err_cls"), c("_code"))).alias("error_type"),
        pl.when((c("_code") >= 100) & (c("_code") <= 599)).then(c("_code")).alias("http_status"),
        ms_between(c("ts"), c("_first")).alias("ttft_ms"),
        ms_between(c("ts"), c("_end")).alias("latency_ms"),
        "stream",
        "tools",
        "json_mode",
        pl.lit(1.0).alias("sample_rate"),
        number(c("_t_spend")).alias("litellm_spend"),
        c("_t_call_type").alias("litellm_call_type"),
        c("_model").alias("litellm_model"),
        c("_group").alias("litellm_model_group"),
        c("_route").alias("litellm_provider_raw"),
        "request_body_logged",
        "_row",
        "_line",
        reason_expr(rules).alias("_reason"),
    ).cast(REQUEST_SCHEMA)


def import_litellm_spend_logs(paths: list[Path], out: Path) -> ImportReport:
    """Write out/{models,endpoints,requests}/litellm_spend_logs.parquet and the report; see
    the module docstring. Raises FileNotFoundError for a missing path, ValueError when the
    paths hold no CSV."""
    return run_log_import(FORMAT, OUT_NAME, paths, "LiteLLM spend log", COLUMNS, map_spend_logs, out)
