"""Request-log importers (LiteLLM proxy spend logs, OpenRouter activity exports): hand-made
CSVs in the documented column sets, with the fate of every row worked out by hand
(tests/fixtures_logs/README.md)."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner

from pipeline.lib.contract import DATASETS
from pipeline.lib.importers import get_importer
from pipeline.lib.importers.litellm_spend_logs import (
    error_type_expr,
    import_litellm_spend_logs,
)
from pipeline.lib.importers.openrouter_activity import import_openrouter_activity
from pipeline.lib.ingest import stage_dataset

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures_logs"
LITELLM = FIXTURES / "litellm_spend_logs.csv"
OPENROUTER = FIXTURES / "openrouter_activity.csv"
KEY = "88dc28d0f030c55ed4ab77ed8faf098196cb1c05df778539800c9f1243fe6b4b"
T = dt.datetime

REQ_COLS = [
    "request_id",
    "ts",
    "application",
    "client_id",
    "model",
    "provider",
    "input_tokens",
    "output_tokens",
    "cached_input_tokens",
    "status",
    "error_type",
    "http_status",
    "ttft_ms",
    "latency_ms",
    "stream",
    "tools",
    "json_mode",
    "sample_rate",
]

# Sorted by ts. Worked out from tests/fixtures_logs/litellm_spend_logs.csv by hand.
EXPECTED_LITELLM = [
    # req-001: Together DeepSeek-V3, streamed with a tool, 256 cached tokens in metadata.usage_object
    (
        "req-001",
        T(2025, 10, 1, 12),
        "chat",
        KEY,
        "deepseek-v3",
        "together",
        1000,
        200,
        256,
        "ok",
        None,
        None,
        750.0,
        4500.0,
        True,
        True,
        False,
        1.0,
    ),
    # req-003: no custom_llm_provider, the route prefix of `model` says fireworks; +02:00 converted to UTC
    (
        "req-003",
        T(2025, 11, 3, 12),
        None,
        KEY,
        "kimi-k2-0905",
        "fireworks",
        2000,
        300,
        None,
        "ok",
        None,
        None,
        2000.0,
        2000.0,
        False,
        False,
        True,
        1.0,
    ),
    # req-004: provider from the api_base host; blank status and no error information -> ok
    (
        "req-004",
        T(2025, 11, 20, 9, 30),
        None,
        KEY,
        "qwen3-32b",
        "deepinfra",
        100,
        30,
        None,
        "ok",
        None,
        None,
        1200.0,
        1200.0,
        False,
        False,
        False,
        1.0,
    ),
    # req-002: DeepSeek's deepseek-chat on 2025-12-02 is DeepSeek-V3.2; RateLimitError 429
    (
        "req-002",
        T(2025, 12, 2, 8),
        None,
        KEY,
        "deepseek-v3.2",
        "deepseek",
        500,
        0,
        None,
        "error",
        "rate_limit",
        429,
        None,
        250.0,
        False,
        False,
        False,
        1.0,
    ),
    # req-011: blank status with error information -> error; ContextWindowExceededError 400
    (
        "req-011",
        T(2025, 12, 10, 16),
        None,
        KEY,
        "gpt-oss-120b",
        "groq",
        140000,
        0,
        None,
        "error",
        "context_overflow",
        400,
        None,
        400.0,
        False,
        False,
        False,
        1.0,
    ),  # no completionStartTime: no ttft
]
# (row, line, reason start): row 4 spans lines 5-6 (a quoted newline), so rows 5.. sit one line lower
EXPECTED_LITELLM_ISSUES = [
    (5, 7, "not_a_completion: call_type is not a completion call; non_target"),
    (6, 8, "non_target: not a model family the project studies (model 'gpt-4o')"),
    (7, 9, "cache_hit: served from the proxy's cache"),
    (8, 10, "malformed_row: 9 fields, the header has 28"),
    (9, 11, "bad_type: prompt_tokens is not a whole number"),
    (10, 12, "not_allowed: status is not success or failure"),
]

PSEUDO = hashlib.sha256(b"openrouter-key:prod-key").hexdigest()[:16]
EXPECTED_OPENROUTER = [
    # gen-1: latency = time to first token 600 + generation time 2400
    (
        "gen-1",
        T(2025, 10, 5, 9, 15, 30, 123000),
        "Cline",
        PSEUDO,
        "deepseek-v3.1",
        "deepinfra",
        1500,
        300,
        1024,
        "ok",
        None,
        None,
        600.0,
        3000.0,
        True,
        False,
        False,
        1.0,
    ),
    (
        "gen-2",
        T(2025, 10, 6, 10),
        "Cline",
        PSEUDO,
        "kimi-k2-0905",
        "groq",
        3000,
        120,
        0,
        "ok",
        None,
        None,
        200.0,
        1000.0,
        True,
        True,
        False,
        1.0,
    ),
    # gen-3: finish error, raw 429 -> rate_limit; no timings
    (
        "gen-3",
        T(2025, 10, 7, 11),
        None,
        PSEUDO,
        "glm-4.6",
        "zhipu",
        800,
        0,
        None,
        "error",
        "rate_limit",
        None,
        None,
        None,
        True,
        False,
        False,
        1.0,
    ),
    (
        "gen-4",
        T(2025, 10, 8, 12),
        "Aider",
        PSEUDO,
        "qwen3-coder-480b-a35b-instruct",
        "alibaba",
        400,
        10,
        0,
        "error",
        "content_filter",
        None,
        500.0,
        800.0,
        True,
        False,
        False,
        1.0,
    ),
    # gen-5: cancelled by the caller, blank finish reason -> ok (flagged in openrouter_cancelled)
    (
        "gen-5",
        T(2025, 10, 9, 13),
        "Aider",
        PSEUDO,
        "deepseek-r1-0528",
        "novita",
        900,
        450,
        0,
        "ok",
        None,
        None,
        1500.0,
        10500.0,
        True,
        False,
        False,
        1.0,
    ),
]
EXPECTED_OPENROUTER_ISSUES = [
    (6, 7, "non_target: not a model family the project studies (model 'openai/gpt-4o')"),
    (7, 8, "malformed_row: 24 fields, the header has 23"),
    (8, 9, "bad_type: tokens_completion is not a whole number"),
    (9, 10, "bad_type: created_at does not parse as a timestamp"),
    (10, 11, "not_allowed: finish_reason_normalized"),
    (11, 12, "closed: a target family's developer, but not open weights (model 'qwen/qwen-max')"),
]


def _issues_match(issues, expected) -> None:
    got = [(i.row, i.reason) for i in issues]
    assert [r for r, _ in got] == [r for r, _, _ in expected]
    for (row, reason), (_, line, start) in zip(got, expected, strict=False):
        assert reason.startswith(start), (row, reason)
        assert reason.endswith(f"(line {line})"), (row, reason)


def _stage(drop: Path, root: Path) -> dict[str, tuple[int, int, int, int]]:
    staged = {name: stage_dataset(spec, drop, root) for name, spec in DATASETS.items()}
    return {
        n: (r.rows_read, r.rows_loaded, r.rows_quarantined, r.rows_duplicate)
        for n, r in staged.items()
        if n in ("models", "endpoints", "requests")
    }


@pytest.fixture(scope="module")
def litellm_import(tmp_path_factory):
    out = tmp_path_factory.mktemp("ll") / "drop"
    return import_litellm_spend_logs([LITELLM], out), out


@pytest.fixture(scope="module")
def openrouter_import(tmp_path_factory):
    out = tmp_path_factory.mktemp("or") / "drop"
    return import_openrouter_activity([OPENROUTER], out), out


# --------------------------------------------------------------------------- LiteLLM spend logs


def test_litellm_requests_are_the_hand_mapped_rows(litellm_import):
    report, out = litellm_import
    got = pl.read_parquet(out / "requests" / "litellm_spend_logs.parquet")
    assert got.select(REQ_COLS).rows() == EXPECTED_LITELLM
    assert got.select(
        "request_id", "litellm_model", "litellm_provider_raw", "request_body_logged", "source_row"
    ).rows() == [
        ("req-001", "deepseek-ai/DeepSeek-V3", "together_ai", True, 1),
        ("req-003", "fireworks_ai/accounts/fireworks/models/kimi-k2-instruct-0905", "fireworks_ai", True, 3),
        ("req-004", "Qwen/Qwen3-32B", "deepinfra", False, 4),
        ("req-002", "deepseek-chat", "deepseek", False, 2),
        ("req-011", "openai/gpt-oss-120b", "groq", True, 11),
    ]
    assert (report.rows_read, report.rows_written["requests"], report.rows_reported) == (11, 5, 6)


def test_litellm_malformed_and_unmappable_rows_are_reported_with_file_row_and_line(litellm_import):
    report, out = litellm_import
    assert {i.file for i in report.issues} == {str(LITELLM)}
    _issues_match(report.issues, EXPECTED_LITELLM_ISSUES)
    with (out / "_import_report_litellm-spend-logs.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [(r["file"], int(r["row"]), r["reason"]) for r in rows] == [(i.file, i.row, i.reason) for i in report.issues]


def test_litellm_models_and_stub_endpoints(litellm_import):
    _, out = litellm_import
    models = pl.read_parquet(out / "models" / "litellm_spend_logs.parquet")
    assert models["model"].to_list() == ["deepseek-v3", "deepseek-v3.2", "gpt-oss-120b", "kimi-k2-0905", "qwen3-32b"]
    eps = pl.read_parquet(out / "endpoints" / "litellm_spend_logs.parquet")
    assert eps.select(
        "provider", "model", "valid_from", "context_length", "supports_tools", "supports_json_mode"
    ).rows() == [
        ("deepinfra", "qwen3-32b", T(2025, 11, 20, 9, 30), 131072, False, False),
        ("deepseek", "deepseek-v3.2", T(2025, 12, 2, 8), 131072, False, False),
        ("fireworks", "kimi-k2-0905", T(2025, 11, 3, 12), 262144, False, True),  # a json_schema request succeeded
        ("groq", "gpt-oss-120b", T(2025, 12, 10, 16), 131072, False, False),  # its only request failed
        ("together", "deepseek-v3", T(2025, 10, 1, 12), 131072, True, False),
    ]
    assert set(eps["endpoint_source"]) == {"stub from request logs"}


def test_litellm_drop_stages_every_written_row(litellm_import, tmp_path):
    _, out = litellm_import
    assert _stage(out, tmp_path / "wh") == {"models": (5, 5, 0, 0), "endpoints": (5, 5, 0, 0), "requests": (5, 5, 0, 0)}


@pytest.mark.parametrize(
    ("cls", "code", "expected"),
    [
        ("RateLimitError", None, "rate_limit"),
        (None, 429, "rate_limit"),
        ("Timeout", None, "timeout"),
        (None, 504, "timeout"),
        ("ContextWindowExceededError", 400, "context_overflow"),
        ("ContentPolicyViolationError", 400, "content_filter"),
        ("AuthenticationError", 401, "auth"),
        (None, 403, "auth"),
        ("BadRequestError", 400, "invalid_request"),
        ("NotFoundError", None, "invalid_request"),
        ("InternalServerError", 500, "server_error"),
        ("APIConnectionError", None, "server_error"),
        (None, 503, "server_error"),
        ("SomethingElse", None, "other"),
        (None, None, "other"),
    ],
)
def test_litellm_error_types(cls, code, expected):
    df = pl.DataFrame({"c": [cls], "n": [code]}, schema={"c": pl.String, "n": pl.Int64})
    assert df.select(error_type_expr(pl.col("c"), pl.col("n"))).item() == expected


@pytest.mark.parametrize("fixture", [LITELLM, OPENROUTER], ids=["litellm", "openrouter"])
def test_fast_and_exact_csv_readers_agree(fixture, tmp_path, monkeypatch):
    """A well-formed file is read by DuckDB (fast path), a file with a malformed record by
    Python's csv module (exact path): on the fixture without its malformed line both give
    the same fields, rows and lines (the LiteLLM one has a quoted newline)."""
    from pipeline.lib.importers import ImportReport, log_csv
    from pipeline.lib.importers import litellm_spend_logs as sl

    lines = fixture.read_text().splitlines(keepends=True)
    bad = 9 if fixture == LITELLM else 7  # 0-based: file line 10 / 8
    assert "req-008" in lines[bad] or "gen-7" in lines[bad]
    clean = tmp_path / "clean.csv"
    clean.write_text("".join(lines[:bad] + lines[bad + 1 :]))
    fast = log_csv.read_csv_rows(clean, sl.COLUMNS, ImportReport("x", tmp_path))
    assert fast is not None and log_csv._read_fast(clean, clean.read_text(), sl.COLUMNS) is not None
    monkeypatch.setattr(log_csv, "_read_fast", lambda *a: None)
    exact = log_csv.read_csv_rows(clean, sl.COLUMNS, ImportReport("x", tmp_path))
    norm = lambda df: df.with_columns(pl.col(pl.String).replace("", None))  # noqa: E731 DuckDB reads empty fields as null
    assert norm(fast).rows() == norm(exact).rows()
    assert fast["_line"].to_list() == ([2, 3, 4, 5, 7, 8, 9, 10, 11, 12] if fixture == LITELLM else list(range(2, 12)))


def test_header_names_match_loosely_and_empty_files_are_file_level(tmp_path):
    (tmp_path / "a.csv").write_text(
        "Request_ID,START_TIME,end_time,Model,Prompt_Tokens,Completion_Tokens,Custom_LLM_Provider,Status\n"
        "\n"
        "r1,2025-10-01 00:00:00,2025-10-01 00:00:01,deepseek-ai/DeepSeek-V3,10,5,together_ai,success\n"
    )
    (tmp_path / "b.csv").write_text("")
    report = import_litellm_spend_logs([tmp_path], tmp_path / "drop")
    got = pl.read_parquet(tmp_path / "drop" / "requests" / "litellm_spend_logs.parquet")
    assert got.select("request_id", "model", "provider", "latency_ms").rows() == [
        ("r1", "deepseek-v3", "together", 1000.0)
    ]
    assert [(Path(i.file).name, i.row, i.reason) for i in report.issues] == [
        ("b.csv", None, "missing: header line (empty file)")
    ]
    assert report.rows_read == 1


# --------------------------------------------------------------------------- OpenRouter activity


def test_openrouter_requests_are_the_hand_mapped_rows(openrouter_import):
    report, out = openrouter_import
    got = pl.read_parquet(out / "requests" / "openrouter_activity.parquet")
    assert got.select(REQ_COLS).rows() == EXPECTED_OPENROUTER
    assert got.select(
        "request_id", "openrouter_cancelled", "openrouter_tokens_reasoning", "openrouter_provider_name"
    ).rows() == [
        ("gen-1", False, 0, "DeepInfra"),
        ("gen-2", False, 0, "Groq"),
        ("gen-3", False, 0, "Z.AI"),
        ("gen-4", False, 0, "Alibaba"),
        ("gen-5", True, 400, "NovitaAI"),
    ]
    assert "prod-key" not in got["client_id"].to_list()  # key names are pseudonymised
    assert (report.rows_read, report.rows_written, report.rows_reported) == (
        11,
        {"models": 5, "endpoints": 5, "requests": 5},
        6,
    )


def test_openrouter_malformed_and_unmappable_rows_are_reported_with_file_row_and_line(openrouter_import):
    report, _ = openrouter_import
    assert {i.file for i in report.issues} == {str(OPENROUTER)}
    _issues_match(report.issues, EXPECTED_OPENROUTER_ISSUES)


def test_openrouter_drop_stages_every_written_row(openrouter_import, tmp_path):
    _, out = openrouter_import
    assert _stage(out, tmp_path / "wh") == {"models": (5, 5, 0, 0), "endpoints": (5, 5, 0, 0), "requests": (5, 5, 0, 0)}


def test_both_log_formats_in_one_drop_stage_together(litellm_import, openrouter_import, tmp_path):
    """The stubs of the two imports are different files of one drop; their keys do not clash."""
    drop = tmp_path / "drop"
    for _, out in (litellm_import, openrouter_import):
        for f in out.rglob("*.parquet"):
            target = drop / f.relative_to(out)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(f.read_bytes())
    assert _stage(drop, tmp_path / "wh") == {
        "models": (10, 9, 0, 1),
        "endpoints": (10, 10, 0, 0),
        "requests": (10, 10, 0, 0),
    }


def test_registry_and_cli(tmp_path):
    assert get_importer("litellm-spend-logs") is import_litellm_spend_logs
    assert get_importer("openrouter-activity") is import_openrouter_activity
    from pipeline.cli import main

    res = CliRunner().invoke(main, ["import", "openrouter-activity", str(OPENROUTER), "--out", str(tmp_path / "drop")])
    assert res.exit_code == 0, res.output
    lines = {ln.split()[0]: ln.split()[1] for ln in res.output.splitlines()[1:] if ln.strip()}
    assert (lines["requests"], lines["models"], lines["endpoints"], lines["reported"]) == ("5", "5", "5", "6")
    res = CliRunner().invoke(
        main, ["import", "litellm-spend-logs", str(tmp_path / "nope"), "--out", str(tmp_path / "d2")]
    )
    assert res.exit_code != 0 and "no such file or folder" in res.output
