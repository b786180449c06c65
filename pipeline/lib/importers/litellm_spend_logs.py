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
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Callable
from pathlib import Path

import duckdb
import polars as pl

from pipeline.lib.importers import (
    ImportIssue,
    ImportReport,
    check_paths,
    contract_schema,
    reason_expr,
    write_drop,
)
from pipeline.lib.importers.aliases import CANONICAL, PROVIDER_OF_ROUTE, resolve
from pipeline.lib.importers.aliases import provider_id as _provider_id

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
REQUEST_SCHEMA = contract_schema("requests")
ENDPOINT_SCHEMA = contract_schema("endpoints", endpoint_source=pl.String)
MODEL_SCHEMA = contract_schema("models")


# --------------------------------------------------------------------------- reading CSV


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
    model_df = pl.DataFrame(
        [
            {
                "model": m,
                "family": CANONICAL[m].family,
                "developer": CANONICAL[m].developer,
                "release_date": CANONICAL[m].release_date,
                "successor_of": CANONICAL[m].successor_of,
                "official_provider": CANONICAL[m].official_provider,
            }
            for m in models
        ],
        schema=MODEL_SCHEMA,
    )
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
