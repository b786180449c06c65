"""marts.replay_validation (issue 17): what the replay assumes for the requests a provider served
(its probes' bucket medians, 1 - its bucket's probe success) beside what their logs observed, on
a hand-sized world whose sums are worked out by hand, and the mart's merge of day sums."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from pipeline.lib.duck import connect
from pipeline.lib.marts.replay_validation import replay_validation
from pipeline.sql import load_sql

H9, H10 = dt.datetime(2025, 10, 1, 9), dt.datetime(2025, 10, 1, 10)


def _validation(requests: list[tuple], buckets: list[tuple]) -> pl.DataFrame:
    con = connect()
    try:
        con.execute(
            "create table pass_requests (date date, ts timestamp, model varchar, provider varchar, status varchar, "
            "error_type varchar, ttft_ms double, latency_ms double, output_tokens bigint, sample_rate double)"
        )
        con.executemany("insert into pass_requests values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", requests)
        con.execute(
            "create table buckets (model varchar, provider varchar, bucket timestamp, probes bigint, success_rate double, "
            "rate_limit_rate double, decode_tps_p50 double, ttft_p50_ms double, ttft_p90_ms double)"
        )
        con.executemany("insert into buckets values (?, ?, ?, ?, ?, ?, ?, ?, ?)", buckets)
        sql = load_sql("core/core_routing__validation")
        return con.execute(sql, {"bucket_minutes": 60, "model_filter": ["m1"]}).pl().sort("provider", "metric")
    finally:
        con.close()


def _req(minute: int, provider: str, status="ok", error=None, ttft=None, latency=None, out=100, rate=1.0, hour=H9):
    ts = hour + dt.timedelta(minutes=minute)
    return (ts.date(), ts, "m1", provider, status, error, ttft, latency, out, rate)


def test_the_day_sums_compare_each_served_request_with_its_bucket():
    # provider a, 09:00 bucket: TTFT median 200 ms, decode 50 tok/s, 90 % of probes ok
    # 10:00 bucket: no probe of a -> its request there has no prediction
    buckets = [("m1", "a", H9, 10, 0.9, 0.0, 50.0, 200.0, 400.0)]
    requests = [
        # ok, TTFT 300, decode 100 tokens in (2300 - 300) ms = 50 tok/s, weight 1
        _req(5, "a", ttft=300.0, latency=2300.0),
        # ok, TTFT 100, decode 100 tokens in 1 s = 100 tok/s, sampled at 0.5: weight 2
        _req(20, "a", ttft=100.0, latency=1100.0, rate=0.5),
        # a provider fault: a failure, no TTFT
        _req(30, "a", status="error", error="timeout"),
        # a client error: the caller's, on neither side
        _req(40, "a", status="error", error="auth"),
        # in a bucket without a probe of a: unpredicted
        _req(10, "a", ttft=500.0, latency=1500.0, hour=H10),
        # another model: not replayed, not compared
        (H9.date(), H9, "m2", "a", "ok", None, 1.0, 2.0, 10, 1.0),
    ]
    v = {r["metric"]: r for r in _validation(requests, buckets).iter_rows(named=True)}
    ttft, decode, fail = v["ttft_ms"], v["decode_tps"], v["failure_rate"]
    assert ttft["requests_logged"] == 2 and ttft["w"] == 3.0 and ttft["w2"] == 5.0
    assert ttft["predicted_sum"] == pytest.approx(3 * 200.0)
    assert ttft["observed_sum"] == pytest.approx(300.0 + 2 * 100.0)
    assert ttft["unpredicted"] == 1.0
    assert decode["predicted_sum"] == pytest.approx(3 * 50.0)
    assert decode["observed_sum"] == pytest.approx(50.0 + 2 * 100.0)
    # failures: three requests compared (weights 1, 2, 1), one failed; the replay expects 10 %
    assert fail["w"] == 4.0
    assert fail["predicted_sum"] == pytest.approx(4 * 0.1)
    assert fail["observed_sum"] == pytest.approx(1.0)
    assert fail["unpredicted"] == 1.0
    assert (ttft["month"], ttft["quarter"]) == ("2025-10", "2025Q4")


def _day(date: str, metric: str, w: float, pred: float, obs: float, unpredicted: float = 0.0) -> dict:
    d = dt.date.fromisoformat(date)
    return {
        "date": d,
        "month": date[:7],
        "quarter": "2025Q4",
        "model": "m1",
        "provider": "a",
        "metric": metric,
        "requests_logged": int(w),
        "w": w,
        "w2": w,
        "predicted_sum": pred,
        "observed_sum": obs,
        "unpredicted": unpredicted,
    }


def test_the_mart_merges_days_into_means_and_a_gap():
    # two October days and one November day of TTFT: predicted 200 ms throughout, observed 250,
    # 300 and 220 ms over 10, 30 and 60 requests
    daily = pl.DataFrame(
        [
            _day("2025-10-01", "ttft_ms", 10, 2000.0, 2500.0),
            _day("2025-10-02", "ttft_ms", 30, 6000.0, 9000.0, unpredicted=5),
            _day("2025-11-01", "ttft_ms", 60, 12000.0, 13200.0),
        ]
    )
    out = replay_validation(daily, n_boot=200)
    q = out.filter(pl.col("period") == "2025Q4").row(0, named=True)
    assert q["requests"] == 100 and q["requests_unpredicted"] == 5 and q["n_days"] == 3
    assert q["predicted_value"] == pytest.approx(200.0)
    assert q["observed_value"] == pytest.approx((2500 + 9000 + 13200) / 100)  # 247 ms
    assert q["gap"] == pytest.approx(47.0)
    assert q["gap_pct"] == pytest.approx(23.5)
    # every resample is a mix of the three days' ratios 1.25, 1.5 and 1.1
    assert 10 <= q["gap_pct_ci_low"] <= q["gap_pct"] <= q["gap_pct_ci_high"] <= 50
    oct_ = out.filter(pl.col("period") == "2025-10").row(0, named=True)
    assert oct_["gap_pct"] == pytest.approx(100 * (11500 / 8000 - 1))
    assert out.filter(pl.col("period") == "2025-11").row(0, named=True)["gap_pct"] == pytest.approx(10.0)


def test_a_perfect_replay_has_no_gap_and_no_interval_width():
    daily = pl.DataFrame([_day(f"2025-10-0{i}", "decode_tps", 10, 500.0, 500.0) for i in range(1, 6)])
    q = replay_validation(daily, n_boot=100).filter(pl.col("period_type") == "quarter").row(0, named=True)
    assert q["gap"] == 0 and q["gap_pct"] == 0
    assert q["gap_pct_ci_low"] == pytest.approx(0.0) and q["gap_pct_ci_high"] == pytest.approx(0.0)


def test_no_days_give_an_empty_mart_with_its_columns():
    from pipeline.lib.marts.replay_validation import SCHEMA

    assert replay_validation(pl.DataFrame()).schema == pl.Schema(SCHEMA)
