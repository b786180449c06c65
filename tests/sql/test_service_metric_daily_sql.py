"""sql/marts/service_metric_daily.sql on a tiny hand-made quarter: two days of probes, requests and
compat answers, each daily value worked out here."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from pipeline.lib.service import build_service_metric_daily
from pipeline.paths import core_dir, staging_dir

D = dt.datetime


def _write(folder, frame: pl.DataFrame) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    frame.write_parquet(folder / "data.parquet")


@pytest.fixture
def daily(tmp_path) -> dict:
    # probes of p / m: Oct 1 at 00:00 and 12:00 two ok probes (ttft 100 and 300 ms, decode 50 and 70
    # tok/s) and a failure; Oct 2 one ok probe (ttft 200, decode 40)
    _write(
        staging_dir(tmp_path, "latency_probes"),
        pl.DataFrame(
            {
                "ts": [D(2025, 10, 1, 0), D(2025, 10, 1, 12), D(2025, 10, 1, 18), D(2025, 10, 2, 6)],
                "provider": ["p"] * 4,
                "model": ["m"] * 4,
                "status": ["ok", "ok", "error", "ok"],
                "ttft_ms": [100.0, 300.0, None, 200.0],
                "decode_tps": [50.0, 70.0, None, 40.0],
            }
        ),
    )
    # requests of p / m on Oct 1 over two hours: 100 + 50 weighted requests of which 10 client
    # errors, 7 provider faults and 14 rate limits; squared weights 140 + 60
    hourly = pl.DataFrame(
        {
            "date": [dt.date(2025, 10, 1)] * 2,
            "hour": [D(2025, 10, 1, 0), D(2025, 10, 1, 1)],
            "provider": ["p"] * 2,
            "model": ["m"] * 2,
            "requests": [100.0, 50.0],
            "client_errors": [10.0, 0.0],
            "provider_faults": [5.0, 2.0],
            "rate_limits": [4.0, 10.0],
            "rate_base_w2": [140.0, 60.0],
        }
    )
    _write(core_dir(tmp_path, "core_requests__hourly") / "day=2025-10-01", hourly)
    _write(staging_dir(tmp_path, "models"), pl.DataFrame({"model": ["m"], "official_provider": ["o"]}))
    # compat answers on Oct 1: cases c1..c4; the official o calls a tool on c1, c2, c3 (c3 twice: its
    # first answer counts); p calls on c1 (schema valid), c2 (invalid) and c4 (valid)
    cases = ["c1", "c2", "c3", "c3", "c4", "c1", "c2", "c3", "c4"]
    _write(
        staging_dir(tmp_path, "compat_probes"),
        pl.DataFrame(
            {
                "ts": [D(2025, 10, 1, 2, i) for i in range(9)],
                "provider": ["o"] * 5 + ["p"] * 4,
                "model": ["m"] * 9,
                "suite": ["tool_calls"] * 9,
                "case_id": cases,
                "finish_reason": ["tool_calls", "tool_calls", "tool_calls", "stop", "stop"]
                + ["tool_calls", "tool_calls", "stop", "tool_calls"],
                "schema_valid": [True, True, True, None, None, True, False, None, True],
            }
        ),
    )
    df = build_service_metric_daily(tmp_path)
    return {(r["provider"], str(r["date"]), r["metric"]): (r["value"], r["samples"]) for r in df.iter_rows(named=True)}


def test_probe_series(daily):
    assert daily[("p", "2025-10-01", "ttft_p50_ms")] == (200.0, 2)  # median of 100 and 300
    assert daily[("p", "2025-10-01", "decode_tps_p50")] == (60.0, 2)
    assert daily[("p", "2025-10-01", "probe_success_rate")] == pytest.approx((2 / 3, 3))
    assert daily[("p", "2025-10-02", "ttft_p50_ms")] == (200.0, 1)
    assert daily[("p", "2025-10-02", "probe_success_rate")] == (1.0, 1)


def test_request_rates_leave_client_errors_out(daily):
    # base = 150 - 10 = 140; Kish n = 140^2 / 200 = 98
    assert daily[("p", "2025-10-01", "request_error_rate")] == pytest.approx((7 / 140, 98))
    assert daily[("p", "2025-10-01", "rate_limit_rate")] == pytest.approx((14 / 140, 98))


def test_compat_series(daily):
    # p's tool calls: c1 valid, c2 invalid, c4 valid
    assert daily[("p", "2025-10-01", "schema_accuracy")] == pytest.approx((2 / 3, 3))
    # vs o's first answers: TP c1, c2; FN c3; FP c4 -> F1 = 4 / (4 + 1 + 1)
    assert daily[("p", "2025-10-01", "tool_call_f1")] == pytest.approx((4 / 6, 4))
    # the official's own schema accuracy is a series too; it has no F1 against itself
    assert daily[("o", "2025-10-01", "schema_accuracy")] == (1.0, 3)
    assert ("o", "2025-10-01", "tool_call_f1") not in daily
    assert not any(k[0] == "p" and k[1] == "2025-10-02" and k[2] == "schema_accuracy" for k in daily)
