"""LLMPerf leaderboard raw results -> contract latency_probes, plus the models and
endpoints rows those probes need to pass staging.

Source (ray-project/llmperf-leaderboard, `raw_data/`; see
../shared/data/real/llmperf-leaderboard/SOURCE.md): `individual/<provider>_<size>.json`, a
JSON array with one object per request, and `summary/<provider>_<size>.json`, one object per
run. `import_llmperf` accepts the `raw_data` folder (or the folder holding it), an
`individual/` or `summary/` folder, or single files of either kind; each individual file is
paired with the summary file of the same name and vice versa.

latency_probes, one row per request (JSON array element):

    provider       the file-name prefix (anyscale, bedrock, ...)
    model          the size suffix: 7b / 13b / 70b -> MODEL_OF_SIZE
    ts             the summary's `timestamp` + (row - 1) seconds. llmperf records no time per
                   request, and `timestamp` is when the summary was written, after the run
                   (llmperf's LLMPerfResults sets int(time.time())). So ts is an ordinal that
                   keeps the file order and the key (provider, model, ts) unique, not the
                   request's start: do not join it to anything by time finer than the run.
    input_tokens   number_input_tokens
    output_tokens  number_output_tokens (llmperf's Llama-tokenizer count of the answer text;
                   it appears to include the begin-of-sequence token: 151 on answers capped at
                   150, 1 on empty failed answers)
    status         ok when error_code is null or blank, else error
    error_type     from error_code: 429 -> rate_limit; 408, 504 -> timeout; other 5xx ->
                   server_error; anything else -> other, including llmperf's negative
                   client-side codes (-1: the request raised without an HTTP status; -100:
                   the Bedrock client's "output too few tokens"), which are no HTTP status
    ttft_ms        ttft_s * 1000; null when the request failed
    latency_ms     end_to_end_latency_s * 1000; null when the request failed (Bedrock's -100
                   failures carry real timings; the contract nulls them all the same)

and extra columns (kept as text by staging) for provenance: `llmperf_run` (file stem),
`llmperf_row` (1-based array index), `llmperf_error_code`, `llmperf_error_msg` (raw), and
`llmperf_output_throughput_tps`: the file's request_output_throughput_token_per_s on
successful requests. That figure is NOT the contract's end-to-end throughput: in this data
it times the end-to-end latency by an integer that is not number_output_tokens but the
number of streamed chunks the client received (llmperf's `tokens_received`), so it is what
the published leaderboard summarises and is kept only to reproduce it.

models: one row per size seen, family `llama`, developer `meta`, released 2023-07-18 (the
Llama 2 release), no predecessor. official_provider = OFFICIAL_PROVIDER: Meta ran no API for
Llama 2, so, as the sample world does for families without a first-party API
(pipeline/lib/generate/world.py: llama -> together), the canonical launch-partner host is the
baseline. It serves all three sizes here, so counterfactual baselines exist and the WARN check
official_providers_have_endpoints stays quiet. Change the constant to choose otherwise.

endpoints: one row per (provider, model) with written probes. Assumptions, none of them in
the source: valid_from = the earliest run timestamp of that pair, valid_to null,
context_length 4096 (Llama 2's window), max_output_tokens null, quantization `unknown`,
supports_streaming true (llmperf streams every request), tools / json_mode / reasoning false.

Rows that cannot be mapped are not written and are listed in the report with file, row
(array index, 1-based) and reason: a value the mapping needs that is missing or not a number
(error_code; both token counts, whole numbers; ttft_s and end_to_end_latency_s on a
success), an element that is not an object, or a run without a usable summary timestamp or
with a file name that names no known size. Range rules (negative values, latency below TTFT)
are the contract's and are left to staging, which quarantines with file and row.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from pipeline.lib.importers import (
    ImportIssue,
    ImportReport,
    check_paths,
    contract_schema,
    read_json,
    reason_expr,
    write_drop,
)

FORMAT = "llmperf"
OUT_NAME = "llmperf"  # out/<dataset>/llmperf.parquet

MODEL_OF_SIZE = {"7b": "llama-2-7b-chat", "13b": "llama-2-13b-chat", "70b": "llama-2-70b-chat"}
FAMILY = "llama"
DEVELOPER = "meta"
RELEASE_DATE = dt.date(2023, 7, 18)
OFFICIAL_PROVIDER = "together"
ENDPOINT_ASSUMPTIONS = {
    "valid_to": None,
    "context_length": 4096,
    "max_output_tokens": None,
    "quantization": "unknown",
    "supports_tools": False,
    "supports_json_mode": False,
    "supports_streaming": True,
    "supports_reasoning": False,
}

RATE_LIMIT_CODES = (429,)
TIMEOUT_CODES = (408, 504)

_RUN_NAME = re.compile(r"(?P<provider>[a-z0-9][a-z0-9-]*)_(?P<size>[0-9]+b)")
_FIELDS = (
    "error_code",
    "error_msg",
    "ttft_s",
    "end_to_end_latency_s",
    "number_input_tokens",
    "number_output_tokens",
    "request_output_throughput_token_per_s",
)

PROBE_SCHEMA = contract_schema(
    "latency_probes",
    llmperf_run=pl.String,
    llmperf_row=pl.Int64,
    llmperf_error_code=pl.String,
    llmperf_error_msg=pl.String,
    llmperf_output_throughput_tps=pl.Float64,
)
MODEL_SCHEMA = contract_schema("models")
ENDPOINT_SCHEMA = contract_schema("endpoints")


@dataclass(frozen=True)
class Run:
    name: str  # file stem, e.g. anyscale_7b
    individual: Path | None
    summary: Path | None


# --------------------------------------------------------------------------- finding runs


def _sibling(path: Path, kind: str) -> Path | None:
    other = path.parent.parent / kind / path.name
    return other if other.is_file() else None


def _pairs(path: Path) -> list[tuple[Path | None, Path | None]]:
    if path.is_file():
        if path.parent.name == "summary":
            return [(_sibling(path, "individual"), path)]
        return [(path, _sibling(path, "summary"))]
    if (path / "raw_data").is_dir():
        path = path / "raw_data"
    ind, summ = path / "individual", path / "summary"
    if ind.is_dir() or summ.is_dir():
        names = sorted({p.name for d in (ind, summ) if d.is_dir() for p in d.glob("*.json")})
        return [(ind / n if (ind / n).is_file() else None, summ / n if (summ / n).is_file() else None) for n in names]
    if path.name == "individual":
        return [(p, _sibling(p, "summary")) for p in sorted(path.glob("*.json"))]
    if path.name == "summary":
        return [(_sibling(p, "individual"), p) for p in sorted(path.glob("*.json"))]
    raise ValueError(f"{path}: not an llmperf results folder (expected raw_data/, individual/ or summary/ in it)")


def find_runs(paths: list[Path]) -> list[Run]:
    """The runs named by `paths`, each once, sorted by name."""
    check_paths(paths)
    seen: dict[tuple, Run] = {}
    for p in paths:
        for ind, summ in _pairs(Path(p)):
            key = tuple(str(x.resolve()) if x else None for x in (ind, summ))
            seen.setdefault(key, Run((ind or summ).stem, ind, summ))
    if not seen:
        raise ValueError(f"no llmperf result files (*.json) found in: {', '.join(map(str, paths))}")
    return sorted(seen.values(), key=lambda r: (r.name, str(r.individual), str(r.summary)))


def _run_timestamp(run: Run) -> tuple[dt.datetime | None, str | None]:
    """(naive UTC run timestamp, None) or (None, why every row of the run is unmappable)."""
    if run.summary is None:
        return None, "missing: run timestamp (no summary/<run>.json beside the individual file)"
    try:
        obj = json.loads(run.summary.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return None, f"missing: run timestamp (summary {run.summary} unreadable: {exc})"
    ts = obj.get("timestamp") if isinstance(obj, dict) else None
    if isinstance(ts, bool) or not isinstance(ts, (int, float)) or not math.isfinite(ts):
        return None, f"missing: run timestamp (summary {run.summary} has no numeric 'timestamp')"
    return dt.datetime.fromtimestamp(ts, dt.UTC).replace(tzinfo=None), None


def _run_model(run: Run) -> tuple[str | None, str | None, str | None]:
    """(provider, model, None) or (None, None, reason)."""
    m = _RUN_NAME.fullmatch(run.name)
    if not m:
        return None, None, f"unmappable: file name {run.name!r} is not <provider>_<size> (e.g. anyscale_7b)"
    if m["size"] not in MODEL_OF_SIZE:
        return None, None, f"unmappable: model size {m['size']!r} (known: {', '.join(MODEL_OF_SIZE)})"
    return m["provider"], MODEL_OF_SIZE[m["size"]], None


# ------------------------------------------------------------------ mapping one file


def error_type_expr(code: pl.Expr) -> pl.Expr:
    """Contract error_type of an integer llmperf error_code (null code -> null)."""
    return (
        pl.when(code.is_null())
        .then(None)
        .when(code.is_in(RATE_LIMIT_CODES))
        .then(pl.lit("rate_limit"))
        .when(code.is_in(TIMEOUT_CODES))
        .then(pl.lit("timeout"))
        .when((code >= 500) & (code <= 599))
        .then(pl.lit("server_error"))
        .otherwise(pl.lit("other"))
    )


def _text(value) -> str | None:
    """A JSON value as text: strings as they are, other values as JSON (so `true` or a
    list stays recognisably non-numeric and floats keep their exact repr)."""
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value)


def _txt(f: str) -> pl.Expr:
    return pl.col(f).str.strip_chars()


def _present(f: str) -> pl.Expr:
    return _txt(f).str.len_chars().fill_null(0) > 0


def _num(f: str) -> pl.Expr:
    return _txt(f).cast(pl.Float64, strict=False)


def _is_number(f: str) -> pl.Expr:
    return _num(f).is_finite().fill_null(False)


def _is_whole(f: str) -> pl.Expr:
    return _is_number(f) & (_num(f) == _num(f).floor()) & (_num(f).abs() < 9e15)


def map_rows(
    rows: list,
    run_name: str,
    provider: str | None,
    model: str | None,
    run_ts: dt.datetime | None,
    run_reason: str | None,
) -> pl.DataFrame:
    """One file's JSON array -> a frame of PROBE_SCHEMA columns plus `_reason` (null when
    the row maps). Vectorised over the rows; only the JSON decoding is per value."""
    data = {f: [_text(r.get(f)) if isinstance(r, dict) else None for r in rows] for f in _FIELDS}
    data["_object"] = [isinstance(r, dict) for r in rows]
    data["_has_code"] = [isinstance(r, dict) and "error_code" in r for r in rows]
    df = pl.DataFrame(
        data, schema={**dict.fromkeys(_FIELDS, pl.String), "_object": pl.Boolean, "_has_code": pl.Boolean}
    )
    df = df.with_row_index("llmperf_row", offset=1).with_columns(pl.col("llmperf_row").cast(pl.Int64))

    obj = pl.col("_object")
    failed = _present("error_code")
    success = obj & pl.col("_has_code") & ~failed
    rules: list[tuple[pl.Expr, str]] = [
        (~obj, "malformed_row: not a JSON object"),
        (obj & ~pl.col("_has_code"), "missing: error_code (cannot tell success from failure)"),
        (failed & ~_is_whole("error_code"), "bad_type: error_code is not a whole number"),
    ]
    for f in ("number_input_tokens", "number_output_tokens"):
        rules += [
            (obj & ~_present(f), f"missing: {f}"),
            (_present(f) & ~_is_whole(f), f"bad_type: {f} is not a whole number"),
        ]
    for f in ("ttft_s", "end_to_end_latency_s"):
        rules += [
            (success & ~_present(f), f"missing: {f} (a successful request needs it)"),
            (success & _present(f) & ~_is_number(f), f"bad_type: {f} is not a number"),
        ]
    code = pl.when(failed & _is_whole("error_code")).then(_num("error_code").cast(pl.Int64))
    return df.select(
        (pl.lit(run_ts, dtype=pl.Datetime("us")) + pl.duration(seconds=pl.col("llmperf_row") - 1)).alias("ts"),
        pl.lit(provider, dtype=pl.String).alias("provider"),
        pl.lit(model, dtype=pl.String).alias("model"),
        _num("number_input_tokens").cast(pl.Int64, strict=False).alias("input_tokens"),
        _num("number_output_tokens").cast(pl.Int64, strict=False).alias("output_tokens"),
        pl.when(success).then(_num("ttft_s") * 1000).alias("ttft_ms"),
        pl.when(success).then(_num("end_to_end_latency_s") * 1000).alias("latency_ms"),
        pl.when(failed).then(pl.lit("error")).otherwise(pl.lit("ok")).alias("status"),
        error_type_expr(code).alias("error_type"),
        pl.lit(run_name).alias("llmperf_run"),
        pl.col("llmperf_row"),
        pl.when(failed).then(_txt("error_code")).alias("llmperf_error_code"),
        pl.when(_present("error_msg")).then(pl.col("error_msg")).alias("llmperf_error_msg"),
        pl.when(success).then(_num("request_output_throughput_token_per_s")).alias("llmperf_output_throughput_tps"),
        reason_expr(rules, run_reason).alias("_reason"),
    ).cast(PROBE_SCHEMA)


# --------------------------------------------------------------------------- the import


def import_llmperf(paths: list[Path], out: Path) -> ImportReport:
    """Write out/{latency_probes,models,endpoints}/llmperf.parquet and the report; see the
    module docstring for the mapping. Raises FileNotFoundError for a missing path and
    ValueError when the paths hold no llmperf results."""
    runs = find_runs(paths)
    report = ImportReport(FORMAT, Path(out))
    frames: list[pl.DataFrame] = []
    run_start: dict[tuple[str, str], dt.datetime] = {}
    for run in runs:
        if run.individual is None:
            report.issues.append(
                ImportIssue(
                    str(run.summary), None, "missing: no individual/<run>.json for this summary (no rows to import)"
                )
            )
            continue
        rows = read_json(run.individual, list, "a JSON array of request objects", report)
        if rows is None:
            continue
        provider, model, name_reason = _run_model(run)
        run_ts, ts_reason = _run_timestamp(run)
        run_reason = "; ".join(r for r in (name_reason, ts_reason) if r) or None
        mapped = map_rows(rows, run.name, provider, model, run_ts, run_reason)
        report.rows_read += mapped.height
        bad = mapped.filter(pl.col("_reason").is_not_null())
        report.issues += [
            ImportIssue(str(run.individual), r, why) for r, why in bad.select("llmperf_row", "_reason").iter_rows()
        ]
        good = mapped.filter(pl.col("_reason").is_null()).drop("_reason")
        if good.height:
            frames.append(good)
            key = (provider, model)
            run_start[key] = min(run_start.get(key, run_ts), run_ts)

    probes = pl.concat(frames) if frames else pl.DataFrame(schema=PROBE_SCHEMA)
    endpoints = pl.DataFrame(
        [
            {"provider": p, "model": m, "valid_from": ts, **ENDPOINT_ASSUMPTIONS}
            for (p, m), ts in sorted(run_start.items())
        ],
        schema=ENDPOINT_SCHEMA,
    )
    models = pl.DataFrame(
        [
            {
                "model": m,
                "family": FAMILY,
                "developer": DEVELOPER,
                "release_date": RELEASE_DATE,
                "successor_of": None,
                "official_provider": OFFICIAL_PROVIDER,
            }
            for m in sorted({m for _, m in run_start})
        ],
        schema=MODEL_SCHEMA,
    )
    write_drop(report, OUT_NAME, {"models": models, "endpoints": endpoints, "latency_probes": probes})
    # Every countable source row is written or reported, never both, never neither.
    assert report.rows_read == report.rows_written["latency_probes"] + report.rows_reported
    return report
