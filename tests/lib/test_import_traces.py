"""The public-trace importers (Azure LLM inference 2023, BurstGPT, Mooncake, ServeGen):
hand-written fixtures (tests/fixtures_traces, README there) with the fate of every line worked
out by hand, and the public samples checked against their own files: row counts and medians
recomputed here with csv / json / numpy, ServeGen's sampled rates against the published rates
within Poisson error, and every written row staged without loss."""

from __future__ import annotations

import ast
import csv
import datetime as dt
import json
import math
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from click.testing import CliRunner

from pipeline.lib.contract import DATASETS
from pipeline.lib.duck import connect
from pipeline.lib.importers import FORMATS, get_importer
from pipeline.lib.importers.azure_trace import import_azure_trace
from pipeline.lib.importers.burstgpt import import_burstgpt
from pipeline.lib.importers.mooncake import import_mooncake
from pipeline.lib.importers.servegen import (
    WINDOW_S,
    import_servegen,
    load_lengths,
    pool_lengths,
)
from pipeline.lib.ingest import stage_dataset
from pipeline.paths import ingest_dir, staging_dir
from tests.conftest import real_data

FIX = Path(__file__).resolve().parents[1] / "fixtures_traces"
EPOCH = dt.datetime(2025, 3, 1)  # trace_common.DEFAULT_EPOCH
BG_ORIGIN = dt.datetime(2023, 6, 30, 16)  # BurstGPT day 0 = 2023-07-01 00:00 at UTC+8
S = dt.timedelta(seconds=1)
IMPORTERS = {
    "azure-llm-trace": import_azure_trace,
    "burstgpt": import_burstgpt,
    "mooncake": import_mooncake,
    "servegen": import_servegen,
}


def _requests(out: Path, fmt: str) -> pl.DataFrame:
    return pl.read_parquet(out / "requests" / f"{fmt}.parquet")


def _issues(report) -> list[tuple[str, int | None, str]]:
    return [(Path(i.file).name, i.row, i.reason) for i in report.issues]


def _assert_issues(report, expected: list[tuple[str, int, str]]) -> None:
    """Exactly the expected (file, line) pairs are reported, each reason holding its text(s),
    and the report file holds the same lines."""
    got = _issues(report)
    assert sorted((f, r) for f, r, _ in got) == sorted({(f, r) for f, r, _ in expected})
    for f, r, text in expected:
        (reason,) = [why for gf, gr, why in got if (gf, gr) == (f, r)]
        assert text in reason, (f, r, reason)
    assert _report_csv(report.out, report.format) == got


def _report_csv(out: Path, fmt: str) -> list[tuple[str, int | None, str]]:
    with (out / f"_import_report_{fmt}.csv").open(newline="") as fh:
        return [(Path(r["file"]).name, int(r["row"]) if r["row"] else None, r["reason"]) for r in csv.DictReader(fh)]


def _stage(drop: Path, root: Path) -> dict[str, tuple[int, int, int, int]]:
    """Stage every dataset of the contract (the empty ones stage empty); the accounting of
    the three the importers write."""
    staged = {name: stage_dataset(spec, drop, root) for name, spec in DATASETS.items()}
    return {
        name: (r.rows_read, r.rows_loaded, r.rows_quarantined, r.rows_duplicate)
        for name, r in staged.items()
        if name in ("models", "endpoints", "requests")
    }


def _staged_requests(root: Path, sql: str) -> list[tuple]:
    return (
        connect()
        .execute(
            sql.replace("REQUESTS", "read_parquet($p, hive_partitioning = true)"),
            {"p": str(staging_dir(root, "requests") / "**" / "*.parquet")},
        )
        .fetchall()
    )


def _nonblank_lines(path: Path) -> list[str]:
    return [ln for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()]


def _within_poisson(n: int, lam: float, sigmas: float = 4.0) -> bool:
    return abs(n - lam) <= sigmas * math.sqrt(lam) + 1


# ------------------------------------------------------------------------------ Azure


@pytest.fixture
def azure_import(tmp_path):
    out = tmp_path / "drop"
    return import_azure_trace([FIX / "azure"], out), out


def test_azure_fixture_rows_are_the_hand_mapped_ones(azure_import):
    report, out = azure_import
    got = _requests(out, "azure-llm-trace")
    assert got.select(
        "request_id",
        "ts",
        "application",
        "model",
        "provider",
        "input_tokens",
        "output_tokens",
        "status",
        "error_type",
        "sample_rate",
        "trace_line",
    ).rows() == [
        (
            "azure-code-000002",
            dt.datetime(2023, 11, 16, 18, 17, 3, 979960),
            "code",
            "azure-llm-2023",
            "azure",
            4808,
            10,
            "ok",
            None,
            1.0,
            2,
        ),
        # 7 fractional digits: the 100-ns digit is dropped (contract timestamps are microseconds)
        (
            "azure-code-000008",
            dt.datetime(2023, 11, 16, 18, 17, 7, 1),
            "code",
            "azure-llm-2023",
            "azure",
            1000,
            0,
            "ok",
            None,
            1.0,
            8,
        ),
        (
            "azure-conv-000002",
            dt.datetime(2023, 11, 16, 18, 15, 46, 680590),
            "conversation",
            "azure-llm-2023",
            "azure",
            374,
            44,
            "ok",
            None,
            1.0,
            2,
        ),
        (
            "azure-conv-000003",
            dt.datetime(2023, 11, 16, 18, 15, 50, 995169),
            "conversation",
            "azure-llm-2023",
            "azure",
            396,
            109,
            "ok",
            None,
            1.0,
            3,
        ),
    ]
    assert got["azure_timestamp"][1] == "2023-11-16 18:17:07.0000019"
    assert got.select("stream", "tools", "json_mode").unique().rows() == [(False, False, False)]
    # 7 + 2 data lines, the blank line 4 is no row: 4 written, 4 reported
    assert (report.rows_read, report.rows_written["requests"], report.rows_reported) == (8, 4, 4)


def test_azure_fixture_malformed_rows_are_reported_with_file_and_line(azure_import):
    report, _ = azure_import
    code = "AzureLLMInferenceTrace_code.csv"
    _assert_issues(
        report,
        [
            (code, 3, "malformed_row: 3 fields expected"),
            (code, 5, "bad_type: TIMESTAMP is not a timestamp"),
            (code, 6, "bad_type: ContextTokens is not a whole number"),
            (code, 7, "missing: ContextTokens"),
        ],
    )


def test_azure_fixture_models_and_endpoints(azure_import):
    _, out = azure_import
    assert pl.read_parquet(out / "models" / "azure-llm-trace.parquet").rows() == [
        ("azure-llm-2023", "azure-trace", "unknown", dt.date(2023, 11, 16), None, "azure"),
    ]
    # context: the largest input + output (4808 + 10) rounded up to a power of two
    assert pl.read_parquet(out / "endpoints" / "azure-llm-trace.parquet").rows() == [
        (
            "azure",
            "azure-llm-2023",
            dt.datetime(2023, 11, 16, 18, 15, 46, 680590),
            None,
            8192,
            None,
            "unknown",
            False,
            False,
            False,
            False,
        ),
    ]


def test_azure_file_without_a_needed_column_or_service_reports_every_row(tmp_path):
    (tmp_path / "AzureLLMInferenceTrace_code.csv").write_text("TIMESTAMP,ContextTokens\n2023-11-16 18:00:00,5\n")
    (tmp_path / "AzureLLMInferenceTrace_chat.csv").write_text(
        "TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:00:00,5,1\n"
    )
    (tmp_path / "AzureLLMInferenceTrace_empty.csv").write_text("")
    report = import_azure_trace([tmp_path], tmp_path / "drop")
    got = {(f, r): why for f, r, why in _issues(report)}
    assert got[("AzureLLMInferenceTrace_code.csv", 2)] == "missing: column GeneratedTokens (not in the header)"
    assert got[("AzureLLMInferenceTrace_chat.csv", 2)].startswith("unmappable: file name")
    assert got[("AzureLLMInferenceTrace_empty.csv", None)].startswith("empty:")
    assert (report.rows_read, report.rows_written["requests"], report.rows_reported) == (2, 0, 2)
    assert report.rows_written == {"models": 0, "endpoints": 0, "requests": 0}


# ------------------------------------------------------------------------------ BurstGPT


@pytest.fixture
def burstgpt_import(tmp_path):
    out = tmp_path / "drop"
    return import_burstgpt([FIX / "burstgpt"], out), out


def test_burstgpt_fixture_rows_are_the_hand_mapped_ones(burstgpt_import):
    report, out = burstgpt_import
    got = _requests(out, "burstgpt").select(
        "request_id",
        "ts",
        "application",
        "model",
        "provider",
        "input_tokens",
        "output_tokens",
        "status",
        "error_type",
        "latency_ms",
        "ttft_ms",
        "burstgpt_session_id",
    )
    # files in path order: burstgpt3_slice.csv sorts before burstgpt_slice.csv
    assert got.rows() == [
        (
            "burstgpt3-slice-000002",
            BG_ORIGIN + 19440110 * S,
            "conversation_log",
            "gpt-4",
            "azure-openai",
            906,
            446,
            "ok",
            None,
            43000.0,
            None,
            "1722ac82-0a46-4bf0-aa08-89794e7a2b3f",
        ),
        (
            "burstgpt3-slice-000003",
            BG_ORIGIN + 19440161.5 * S,
            "api_log",
            "chatgpt",
            "azure-openai",
            36,
            29,
            "ok",
            None,
            2000.0,
            None,
            None,
        ),
        (
            "burstgpt-slice-000002",
            BG_ORIGIN + 5 * S,
            "conversation_log",
            "chatgpt",
            "azure-openai",
            472,
            18,
            "ok",
            None,
            None,
            None,
            None,
        ),
        # zero response tokens: a failed request
        (
            "burstgpt-slice-000003",
            BG_ORIGIN + 45 * S,
            "conversation_log",
            "gpt-4",
            "azure-openai",
            0,
            0,
            "error",
            "other",
            None,
            None,
            None,
        ),
        (
            "burstgpt-slice-000007",
            BG_ORIGIN + 233 * S,
            "api_log",
            "gpt-4",
            "azure-openai",
            586,
            293,
            "ok",
            None,
            None,
            None,
            None,
        ),
    ]
    assert BG_ORIGIN + 19440110 * S == dt.datetime(2024, 2, 10, 16, 1, 50)  # day 225 of the trace
    assert (report.rows_read, report.rows_written["requests"], report.rows_reported) == (10, 5, 5)


def test_burstgpt_fixture_malformed_rows_are_reported_with_file_and_line(burstgpt_import):
    report, _ = burstgpt_import
    _assert_issues(
        report,
        [
            ("burstgpt3_slice.csv", 4, "bad_type: Elapsed time is not a number"),
            ("burstgpt3_slice.csv", 5, "missing: Timestamp"),
            ("burstgpt_slice.csv", 4, "unmappable: model 'Claude' (known: ChatGPT, GPT-4)"),
            ("burstgpt_slice.csv", 5, "malformed_row: 6 fields expected"),
            ("burstgpt_slice.csv", 6, "bad_type: Response tokens is not a whole number"),
        ],
    )


def test_burstgpt_fixture_models(burstgpt_import):
    _, out = burstgpt_import
    assert pl.read_parquet(out / "models" / "burstgpt.parquet").rows() == [
        ("chatgpt", "gpt", "openai", dt.date(2022, 11, 30), None, "openai"),
        ("gpt-4", "gpt", "openai", dt.date(2023, 3, 14), None, "openai"),
    ]
    # context: largest input + output rounded up to a power of two: chatgpt 472 + 18, gpt-4 906 + 446
    assert pl.read_parquet(out / "endpoints" / "burstgpt.parquet").select(
        "provider", "model", "valid_from", "context_length"
    ).rows() == [
        ("azure-openai", "chatgpt", BG_ORIGIN + 5 * S, 512),
        ("azure-openai", "gpt-4", BG_ORIGIN + 45 * S, 2048),
    ]


def test_burstgpt_origin_is_a_parameter(tmp_path):
    import_burstgpt(
        [FIX / "burstgpt" / "burstgpt_slice.csv"], tmp_path / "drop", day0=dt.datetime(2024, 1, 1), utc_offset_hours=0
    )
    assert _requests(tmp_path / "drop", "burstgpt")["ts"][0] == dt.datetime(2024, 1, 1, 0, 0, 5)


# ------------------------------------------------------------------------------ Mooncake


@pytest.fixture
def mooncake_import(tmp_path):
    out = tmp_path / "drop"
    return import_mooncake([FIX / "mooncake"], out), out


def test_mooncake_fixture_rows_are_the_hand_mapped_ones(mooncake_import):
    report, out = mooncake_import
    got = _requests(out, "mooncake").select(
        "request_id",
        "ts",
        "application",
        "model",
        "provider",
        "input_tokens",
        "output_tokens",
        "status",
        "cached_input_tokens",
        "mooncake_hash_ids",
    )
    assert got.rows() == [
        (
            "mooncake-conversation-000001",
            EPOCH,
            "conversation",
            "mooncake-kimi",
            "moonshot",
            6758,
            500,
            "ok",
            None,
            "[0,1,2]",
        ),
        (
            "mooncake-conversation-000002",
            EPOCH + 1.5 * S,
            "conversation",
            "mooncake-kimi",
            "moonshot",
            100,
            7,
            "ok",
            None,
            "[]",
        ),
        (
            "mooncake-conversation-000008",
            EPOCH + 3.0005 * S,
            "conversation",
            "mooncake-kimi",
            "moonshot",
            1000,
            0,
            "ok",
            None,
            None,
        ),
        (
            "mooncake-synthetic-000001",
            EPOCH + 0.25 * S,
            "synthetic",
            "mooncake-kimi",
            "moonshot",
            11587,
            69,
            "ok",
            None,
            "[7]",
        ),
    ]
    # 8 lines, line 5 blank: 7 rows in conversation + 1 in synthetic
    assert (report.rows_read, report.rows_written["requests"], report.rows_reported) == (8, 4, 4)


def test_mooncake_fixture_malformed_rows_are_reported_with_file_and_line(mooncake_import):
    report, _ = mooncake_import
    conv = "conversation_trace.jsonl"
    _assert_issues(
        report,
        [
            (conv, 3, "malformed_json: not valid JSON"),
            (conv, 4, "malformed_json: not a JSON object"),
            (conv, 6, "bad_type: timestamp is not a number"),
            (conv, 6, "bad_type: input_length is not a whole number"),
            (conv, 7, "missing: input_length"),
        ],
    )


def test_mooncake_epoch_is_a_parameter(tmp_path):
    import_mooncake([FIX / "mooncake" / "synthetic_trace.jsonl"], tmp_path / "drop", epoch=dt.datetime(2024, 6, 1))
    assert _requests(tmp_path / "drop", "mooncake")["ts"].to_list() == [dt.datetime(2024, 6, 1, 0, 0, 0, 250000)]


# ------------------------------------------------------------------------------ ServeGen


def _servegen(tmp_path, name="drop", paths=None, **kw):
    out = tmp_path / name
    kw.setdefault("sample_rate", 1.0)
    return import_servegen(paths or [FIX / "servegen"], out, **kw), out


def test_servegen_fixture_windows_are_expanded_or_reported(tmp_path):
    report, _ = _servegen(tmp_path)
    _assert_issues(
        report,
        [
            ("chunk-1-trace.csv", 4, "bad_type: rate is not a number"),
            ("chunk-1-trace.csv", 5, "malformed_row: 6 fields expected"),
            ("chunk-1-trace.csv", 6, "out_of_range: rate is negative"),
            ("chunk-1-trace.csv", 2, "missing: token lengths"),  # language/m-small: no dataset.json in the pool
        ],
    )
    assert {Path(i.file).parent.name for i in report.issues if i.row == 2} == {"m-small"}
    # 6 + 2 + 2 windows; expanded: chunk-1 lines 1-3, chunk-2 lines 1-2, m-small line 1
    assert (report.rows_read, report.windows_expanded, report.rows_reported) == (10, 6, 4)
    assert report.requests_expected == pytest.approx((2.5 + 1.0 + 1.5) * WINDOW_S)


def test_servegen_fixture_counts_times_and_lengths(tmp_path):
    _, out = _servegen(tmp_path)
    got = _requests(out, "servegen")
    counts = {(c, ln): n for (c, ln, n) in got.group_by("client_id", "trace_line").len().rows()}
    assert set(counts) == {("deepseek-r1/chunk-1", 2), ("deepseek-r1/chunk-1", 3), ("deepseek-r1/chunk-2", 1)}
    for key, rate in {
        ("deepseek-r1/chunk-1", 2): 2.5,
        ("deepseek-r1/chunk-1", 3): 1.0,
        ("deepseek-r1/chunk-2", 1): 1.5,
    }.items():
        assert _within_poisson(counts[key], rate * WINDOW_S), (key, counts[key])
    # arrivals inside their window, in time order, ranked 1..n in the id
    start = {2: 600, 3: 1200, 1: 0}
    off = got.select(
        ((pl.col("ts") - pl.lit(EPOCH)).dt.total_microseconds() / 1e6).alias("s"), "trace_line", "client_id"
    )
    assert off.select(((pl.col("s") - pl.col("trace_line").replace_strict(start)).is_between(0, WINDOW_S)).all()).item()
    assert got.group_by("client_id", "trace_line").agg(pl.col("ts").is_sorted()).select(pl.col("ts").all()).item()
    first = got.filter(pl.col("client_id") == "deepseek-r1/chunk-1", pl.col("trace_line") == 2)["request_id"]
    assert first[0] == "servegen-deepseek-r1-chunk-1-000002-00001" and first[-1].endswith(f"-{len(first):05d}")
    # lengths: chunk-1 its own PMFs; chunk-2 (no dataset.json) the pool's, here chunk-1's alone
    assert dict(got.group_by("client_id").agg(pl.col("servegen_lengths").unique().first()).iter_rows()) == {
        "deepseek-r1/chunk-1": "client",
        "deepseek-r1/chunk-2": "pool",
    }
    assert set(got["input_tokens"]) == {10, 20} and set(got["output_tokens"]) == {100}
    assert set(got["servegen_reason_ratio"]) == {0.5}
    n = got.height
    share_10 = (got["input_tokens"] == 10).sum() / n
    assert abs(share_10 - 0.25) <= 4 * math.sqrt(0.25 * 0.75 / n)
    assert got.select("model", "provider", "application", "status", "sample_rate").unique().rows() == [
        ("deepseek-r1", "alibaba", "reason", "ok", 1.0)
    ]
    assert pl.read_parquet(out / "models" / "servegen.parquet").rows() == [
        ("deepseek-r1", "deepseek", "deepseek", dt.date(2025, 1, 20), None, "deepseek")
    ]
    ep = pl.read_parquet(out / "endpoints" / "servegen.parquet")
    assert ep.select("provider", "model", "context_length", "supports_reasoning").rows() == [
        ("alibaba", "deepseek-r1", 128, True)
    ]


def test_servegen_is_deterministic_under_a_seed(tmp_path):
    a = _requests(_servegen(tmp_path, "a")[1], "servegen")
    b = _requests(_servegen(tmp_path, "b")[1], "servegen")
    c = _requests(_servegen(tmp_path, "c", seed=1)[1], "servegen")
    assert a.equals(b)
    assert not a.equals(c)
    # a client's requests do not depend on which other files are imported
    alone = _requests(
        _servegen(tmp_path, "d", paths=[FIX / "servegen/data/reason/deepseek-r1/chunk-2-trace.csv"])[1], "servegen"
    )
    assert alone.equals(a.filter(pl.col("client_id") == "deepseek-r1/chunk-2"))


def test_servegen_without_pool_lengths_reports_clients_without_their_own(tmp_path):
    report, out = _servegen(tmp_path, pool_lengths_fallback=False)
    assert ("chunk-2-trace.csv", 1) in {(f, r) for f, r, _ in _issues(report)}
    assert set(_requests(out, "servegen")["client_id"]) == {"deepseek-r1/chunk-1"}


def test_servegen_pool_mixture_is_request_weighted(tmp_path):
    pool = tmp_path / "reason" / "p"
    pool.mkdir(parents=True)
    (pool / "chunk-1-trace.csv").write_text("0,3,1,Gamma,1,1\n")  # 1,800 requests in window 0
    (pool / "chunk-2-trace.csv").write_text("0,1,1,Gamma,1,1\n")  # 600
    (pool / "chunk-1-dataset.json").write_text(
        json.dumps({"0": {"input_tokens": "{10: 1.0}", "output_tokens": "{5: 1.0}"}})
    )
    (pool / "chunk-2-dataset.json").write_text(
        json.dumps({"0": {"input_tokens": "{20: 1.0}", "output_tokens": "{5: 1.0}"}})
    )
    mix = pool_lengths({pool / f"chunk-{i}-trace.csv": load_lengths(pool / f"chunk-{i}-dataset.json") for i in (1, 2)})
    values, probs = mix.pmfs[0]["input_tokens"]
    assert values.tolist() == [10, 20] and probs.tolist() == pytest.approx([0.75, 0.25])
    # an unusable dataset.json is a file-level issue and its client takes the pool's lengths
    (pool / "chunk-2-dataset.json").write_text('{"0": {"input_tokens": "{10: \'x\'}"}}')
    report, out = _servegen(tmp_path, paths=[pool], sample_rate=0.01)
    assert [(f, r) for f, r, _ in _issues(report)] == [("chunk-2-dataset.json", None)]
    assert _issues(report)[0][2].startswith("malformed_json: chunk-2-dataset.json unusable")
    assert dict(
        _requests(out, "servegen").group_by("client_id").agg(pl.col("servegen_lengths").first()).iter_rows()
    ) == {"p/chunk-1": "client", "p/chunk-2": "pool"}


# ------------------------------------------------------------------------------ all formats


FIXTURE_PATHS = {"azure-llm-trace": "azure", "burstgpt": "burstgpt", "mooncake": "mooncake", "servegen": "servegen"}


def test_fixture_drops_stage_every_written_row_of_each_format(tmp_path):
    """All four fixture imports in one drop (each writes <dataset>/<format>.parquet), staged
    once: per format and dataset, every written row is loaded, none quarantined."""
    drop, root = tmp_path / "drop", tmp_path / "wh"
    written = {fmt: IMPORTERS[fmt]([FIX / sub], drop).rows_written for fmt, sub in FIXTURE_PATHS.items()}
    staged = _stage(drop, root)
    for dataset in ("models", "endpoints", "requests"):
        n = sum(w[dataset] for w in written.values())
        assert staged[dataset] == (n, n, 0, 0), (dataset, staged[dataset])
        audit = pl.read_parquet(ingest_dir(root, dataset) / "audit.parquet")
        per_file = {
            Path(f).stem: (r, ld, q)
            for f, r, ld, q in audit.select("source_file", "rows_read", "rows_loaded", "rows_quarantined").rows()
        }
        assert per_file == {fmt: (w[dataset], w[dataset], 0) for fmt, w in written.items()}, dataset
        assert all(w[dataset] > 0 for w in written.values())


def test_registry_and_cli(tmp_path):
    from pipeline.cli import main

    for fmt, func in IMPORTERS.items():
        assert fmt in FORMATS and get_importer(fmt) is func
    res = CliRunner().invoke(main, ["import", "azure-llm-trace", str(FIX / "azure"), "--out", str(tmp_path / "drop")])
    assert res.exit_code == 0, res.output
    lines = {ln.split()[0]: ln.split()[1] for ln in res.output.splitlines()[1:] if ln.strip()}
    assert (lines["requests"], lines["models"], lines["endpoints"], lines["reported"]) == ("4", "1", "1", "4")
    res = CliRunner().invoke(main, ["import", "mooncake", str(tmp_path / "nope"), "--out", str(tmp_path / "drop2")])
    assert res.exit_code != 0 and "no such file or folder" in res.output


def test_no_files_and_bad_parameters(tmp_path):
    (tmp_path / "empty").mkdir()
    for func in IMPORTERS.values():
        with pytest.raises(ValueError, match="no .* files"):
            func([tmp_path / "empty"], tmp_path / "drop")
    with pytest.raises(ValueError, match="sample_rate"):
        import_servegen([FIX / "servegen"], tmp_path / "drop", sample_rate=0)


# ------------------------------------------------------------------------------ public samples


@pytest.fixture(scope="module")
def real(tmp_path_factory):
    """fmt -> (source folder, report, staged accounting, staging root), imported and staged
    once per format on first use."""
    cache: dict[str, tuple] = {}
    folders = {
        "azure-llm-trace": "azure-llm-inference-2023",
        "burstgpt": "burstgpt-slices",
        "mooncake": "mooncake-fast25",
        "servegen": "servegen",
    }

    def get(fmt: str):
        if fmt not in cache:
            base = real_data(folders[fmt])
            tmp = tmp_path_factory.mktemp(fmt)
            report = IMPORTERS[fmt]([base], tmp / "drop")
            cache[fmt] = (base, report, _stage(tmp / "drop", tmp / "wh"), tmp / "wh", tmp / "drop")
        return cache[fmt]

    return get


@pytest.mark.realdata
@pytest.mark.parametrize("fmt", sorted(IMPORTERS))
def test_real_sample_stages_with_every_written_row_loaded(real, fmt):
    _, report, staged, _, _ = real(fmt)
    for dataset in ("models", "endpoints", "requests"):
        n = report.rows_written[dataset]
        assert n > 0 and staged[dataset] == (n, n, 0, 0), (dataset, staged[dataset])


@pytest.mark.realdata
def test_real_azure_counts_and_medians(real):
    base, report, _, root, _ = real("azure-llm-trace")
    raw = {}
    for name, app in (("AzureLLMInferenceTrace_code.csv", "code"), ("AzureLLMInferenceTrace_conv.csv", "conversation")):
        with (base / name).open(newline="") as fh:
            rows = list(csv.reader(fh))
        assert rows[0] == ["TIMESTAMP", "ContextTokens", "GeneratedTokens"]
        raw[app] = np.array([[int(r[1]), int(r[2])] for r in rows[1:]])
    assert {k: len(v) for k, v in raw.items()} == {"code": 8819, "conversation": 19366}  # SOURCE.md
    assert report.rows_read == 8819 + 19366 == report.rows_written["requests"] + report.rows_reported
    assert report.issues == []
    staged = {
        app: (n, p_in, p_out)
        for app, n, p_in, p_out in _staged_requests(
            root,
            "select application, count(*), quantile_cont(input_tokens, 0.5), quantile_cont(output_tokens, 0.5) "
            "from REQUESTS group by all",
        )
    }
    for app, arr in raw.items():
        assert staged[app] == (len(arr), np.median(arr[:, 0]), np.median(arr[:, 1])), app
    # SOURCE.md's table: medians 1,469 / 13 (code) and 1,020 / 129 (conversation)
    assert (staged["code"][1:], staged["conversation"][1:]) == ((1469, 13), (1020, 129))


@pytest.mark.realdata
def test_real_burstgpt_counts_models_and_failures(real):
    base, report, _, root, _ = real("burstgpt")
    expected = {}
    for name in ("burstgpt_slice.csv", "burstgpt3_slice.csv"):
        with (base / name).open(newline="") as fh:
            for r in csv.DictReader(fh):
                key = (
                    name,
                    r["Model"].lower(),
                    r["Log Type"].lower().replace(" ", "_"),
                    "error" if int(r["Response tokens"]) == 0 else "ok",
                )
                expected[key] = expected.get(key, 0) + 1
    assert sum(expected.values()) == 800 == report.rows_read == report.rows_written["requests"] + report.rows_reported
    assert report.issues == []
    got = {
        tuple(k[:4]): k[4]
        for k in _staged_requests(
            root, "select trace_file, model, application, status, count(*) from REQUESTS group by all"
        )
    }
    assert got == expected
    # SOURCE.md: failures 17 and 1; GPT-4 80 and 95
    failures = {
        f: sum(n for k, n in got.items() if k[0] == f and k[3] == "error")
        for f in ("burstgpt_slice.csv", "burstgpt3_slice.csv")
    }
    gpt4 = {f: sum(n for k, n in got.items() if k[0] == f and k[1] == "gpt-4") for f in failures}
    assert (failures, gpt4) == (
        {"burstgpt_slice.csv": 17, "burstgpt3_slice.csv": 1},
        {"burstgpt_slice.csv": 80, "burstgpt3_slice.csv": 95},
    )
    (lat,) = _staged_requests(root, "select count(latency_ms) from REQUESTS")
    assert lat == (400,)  # Elapsed time only in the release-2 slice


@pytest.mark.realdata
def test_real_mooncake_counts_and_medians(real):
    base, report, _, root, _ = real("mooncake")
    raw = {}
    for name, app in (("conversation_trace.jsonl", "conversation"), ("synthetic_trace.jsonl", "synthetic")):
        objs = [json.loads(ln) for ln in _nonblank_lines(base / name)]
        raw[app] = np.array([[o["input_length"], o["output_length"], o["timestamp"]] for o in objs])
    assert {k: len(v) for k, v in raw.items()} == {"conversation": 12031, "synthetic": 3993}  # SOURCE.md
    assert report.rows_read == 12031 + 3993 == report.rows_written["requests"] + report.rows_reported
    assert report.issues == []
    staged = {
        r[0]: r[1:]
        for r in _staged_requests(
            root,
            "select application, count(*), quantile_cont(input_tokens, 0.5), quantile_cont(output_tokens, 0.5), "
            "max(epoch_ms(ts) - epoch_ms(timestamp '2025-03-01')) from REQUESTS group by all",
        )
    }
    for app, arr in raw.items():
        assert staged[app] == (len(arr), np.median(arr[:, 0]), np.median(arr[:, 1]), arr[:, 2].max()), app
    assert staged["conversation"][1:4] == (6909, 350, 3536999)  # SOURCE.md


def _servegen_source(base: Path) -> dict[str, dict[str, np.ndarray]]:
    """pool -> client -> published rates (req/s) per window, read with the csv module."""
    out: dict[str, dict[str, np.ndarray]] = {}
    for f in sorted((base / "data").rglob("chunk-*-trace.csv")):
        with f.open(newline="") as fh:
            rates = np.array([float(r[1]) for r in csv.reader(fh) if r])
        out.setdefault(f.parent.name, {})[f.name.removesuffix("-trace.csv")] = rates
    return out


@pytest.mark.realdata
def test_real_servegen_windows_are_all_accounted(real):
    base, report, _, _, _ = real("servegen")
    src = _servegen_source(base)
    assert {p: len(c) for p, c in src.items()} == {"deepseek-r1": 73, "mm-image": 35, "m-small": 43}  # SOURCE.md
    n_windows = sum(len(r) for c in src.values() for r in c.values())
    assert n_windows == 73 * 144 + 35 * 144 + 43 * 2016 == report.rows_read
    assert report.rows_read == report.windows_expanded + report.rows_reported
    # only active windows of pools without any dataset.json are reported
    active_without_lengths = sum(int((r > 0).sum()) for p in ("mm-image", "m-small") for r in src[p].values())
    assert report.rows_reported == active_without_lengths == len(report.issues)
    assert all(i.reason.startswith("missing: token lengths") for i in report.issues)
    assert report.requests_expected == pytest.approx(
        0.01 * WINDOW_S * sum(r.sum() for r in src["deepseek-r1"].values())
    )


@pytest.mark.realdata
def test_real_servegen_per_client_rates_match_the_source(real):
    base, report, _, root, _ = real("servegen")
    rates = _servegen_source(base)["deepseek-r1"]
    got = {
        c: (n, w)
        for c, n, w in _staged_requests(
            root, "select client_id, count(*), sum(1 / sample_rate) from REQUESTS group by all"
        )
    }
    lam = {f"deepseek-r1/{c}": 0.01 * WINDOW_S * r.sum() for c, r in rates.items()}
    assert set(got) == {c for c, v in lam.items() if v > 0}
    for c, expect in lam.items():
        n = got.get(c, (0, 0))[0]
        assert _within_poisson(n, expect), (c, n, expect)  # a count within 4 sigma of its Poisson mean
    # the weighted counts estimate the published requests: the pool's total within 4 sigma
    total_w = sum(w for _, w in got.values())
    assert abs(total_w - sum(lam.values()) / 0.01) <= 4 * math.sqrt(sum(lam.values())) / 0.01
    # SOURCE.md: the top client holds 0.29 of the requests; the weighted share agrees within 4 sigma
    top = max(lam, key=lam.get)
    p = lam[top] / sum(lam.values())
    n = sum(v for v, _ in got.values())
    assert round(p, 2) == 0.29 and abs(got[top][0] / n - p) <= 4 * math.sqrt(p * (1 - p) / n)
    # the 5 clients with a dataset.json draw their own lengths; the other 68 the pool's
    sources = dict(
        _staged_requests(root, "select client_id, string_agg(distinct servegen_lengths) from REQUESTS group by all")
    )
    own = {c for c, s in sources.items() if s == "client"}
    assert own == {f"deepseek-r1/chunk-{i}" for i in (35, 48, 3, 13, 12)} and len(sources) - len(own) == 68


@pytest.mark.realdata
def test_real_servegen_lengths_follow_the_client_pmf(real):
    """chunk-35 (the largest client): per 6-h dataset window, the mean sampled input and output
    tokens equal the PMF means within 4 standard errors."""
    base, _, _, _, drop = real("servegen")
    pmf_doc = json.loads((base / "data/reason/deepseek-r1/chunk-35-dataset.json").read_text())
    # a request lies in its 10-min window, and 6-h boundaries are window boundaries
    got = (
        _requests(drop, "servegen")
        .filter(pl.col("client_id") == "deepseek-r1/chunk-35")
        .with_columns(((pl.col("ts") - pl.lit(EPOCH)).dt.total_seconds() // 21600 * 21600).alias("win"))
    )
    for start, fields in pmf_doc.items():
        sel = got.filter(pl.col("win") == int(start))
        for f, col in (("input_tokens", "input_tokens"), ("output_tokens", "output_tokens")):
            pmf = ast.literal_eval(fields[f])
            v, p = np.array(list(pmf), float), np.array(list(pmf.values()))
            p = p / p.sum()
            mean, sd = (v * p).sum(), math.sqrt(((v - (v * p).sum()) ** 2 * p).sum())
            assert abs(sel[col].mean() - mean) <= 4 * sd / math.sqrt(sel.height), (start, f)


@pytest.mark.realdata
def test_real_servegen_is_deterministic_and_independent_of_the_other_files(real, tmp_path):
    base, _, _, _, drop = real("servegen")
    full = _requests(drop, "servegen")
    report = import_servegen([base / "data" / "reason" / "deepseek-r1"], tmp_path / "drop")
    assert report.issues == []
    assert _requests(tmp_path / "drop", "servegen").equals(full)  # all of the requests are deepseek-r1's


def test_format_options_from_the_command_line(tmp_path):
    from click.testing import CliRunner

    from pipeline.cli import main

    out = tmp_path / "drop"
    got = CliRunner().invoke(
        main, ["import", "azure-llm-trace", str(FIX / "azure"), "--out", str(out), "--set", "sample_rate=0.5"]
    )
    assert got.exit_code == 0, got.output
    assert set(_requests(out, "azure-llm-trace")["sample_rate"]) == {0.5}
    bad = CliRunner().invoke(
        main, ["import", "azure-llm-trace", str(FIX / "azure"), "--out", str(out), "--set", "seed=3"]
    )
    assert bad.exit_code != 0 and "sample_rate (default 1.0)" in bad.output
    typed = CliRunner().invoke(
        main, ["import", "azure-llm-trace", str(FIX / "azure"), "--out", str(out), "--set", "sample_rate=half"]
    )
    assert typed.exit_code != 0 and "cannot read 'half' as float" in typed.output
