"""marts.tool_call_verdicts on a hand-made vendor_verification worked out by hand."""

from __future__ import annotations

import polars as pl
import pytest

from tests.sql.report_marts import build, declared

SCHEMA = {
    "period": pl.Utf8,
    "period_type": pl.Utf8,
    "provider": pl.Utf8,
    "model": pl.Utf8,
    "suite": pl.Utf8,
    "is_official": pl.Boolean,
    "tool_call_f1": pl.Float64,
    "verdict": pl.Utf8,
}


def test_service_objects_by_verdict_and_the_median_f1(tmp_path):
    rows = [
        ("2025Q4", "quarter", "p1", "m1", "tool_calls", False, 0.9, "pass"),
        ("2025Q4", "quarter", "p1", "m2", "tool_calls", False, 0.6, "fail"),
        ("2025Q4", "quarter", "p2", "m1", "tool_calls", False, 0.8, "undecided"),
        ("2025Q4", "quarter", "p2", "m2", "tool_calls", False, None, "undecided"),  # no F1: left out
        ("2025Q4", "quarter", "p2", "m1", "streaming", False, 0.1, "undecided"),  # another suite
        ("2025Q4", "quarter", "off", "m1", "tool_calls", True, 0.1, None),  # the official API
        ("2025-10", "month", "p1", "m1", "tool_calls", False, 0.7, "pass"),
        ("2025-10", "month", "p2", "m1", "tool_calls", False, 0.5, "fail"),
    ]
    got = build(tmp_path, "tool_call_verdicts", vendor_verification=pl.DataFrame(rows, schema=SCHEMA, orient="row"))
    assert got.columns == declared("tool_call_verdicts")
    rows = {r["period"]: r for r in got.iter_rows(named=True)}
    # 2025Q4: three third-party service objects with an F1, one per verdict; median of 0.6, 0.8, 0.9 = 0.8
    q = rows["2025Q4"]
    assert (q["period_type"], q["service_objects"], q["fail"], q["pass"], q["undecided"]) == ("quarter", 3, 1, 1, 1)
    assert q["median_tool_call_f1"] == pytest.approx(0.8)
    # 2025-10: two; the median of an even count is the mean of the middle two: (0.5 + 0.7) / 2 = 0.6
    m = rows["2025-10"]
    assert (m["service_objects"], m["fail"], m["pass"], m["undecided"]) == (2, 1, 1, 0)
    assert m["median_tool_call_f1"] == pytest.approx(0.6)


def test_without_vendor_verification_it_is_empty(tmp_path):
    got = build(tmp_path, "tool_call_verdicts")
    assert got.height == 0 and got.columns == declared("tool_call_verdicts")
