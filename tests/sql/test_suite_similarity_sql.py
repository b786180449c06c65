"""marts.suite_similarity on a hand-made vendor_verification worked out by hand."""

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
    "similarity_to_official": pl.Float64,
    "cases": pl.Int64,
}


def test_mean_similarity_per_suite_other_than_tool_calls(tmp_path):
    rows = [
        ("2025Q4", "quarter", "p1", "m1", "json_mode", False, 0.8, 100),
        ("2025Q4", "quarter", "p2", "m1", "json_mode", False, 0.5, 50),
        ("2025Q4", "quarter", "p3", "m1", "json_mode", False, None, 70),  # no similarity: left out
        ("2025Q4", "quarter", "off", "m1", "json_mode", True, 1.0, 100),  # the official API
        ("2025Q4", "quarter", "p1", "m1", "streaming", False, 0.9, 40),
        ("2025Q4", "quarter", "p1", "m1", "tool_calls", False, 0.2, 30),  # tool_calls: another mart
    ]
    got = build(tmp_path, "suite_similarity", vendor_verification=pl.DataFrame(rows, schema=SCHEMA, orient="row"))
    assert got.columns == declared("suite_similarity")
    assert got["suite"].to_list() == ["json_mode", "streaming"]
    by_suite = {r["suite"]: r for r in got.iter_rows(named=True)}
    # json_mode: p1 and p2, mean (0.8 + 0.5) / 2 = 0.65 over 100 + 50 = 150 answers
    assert (by_suite["json_mode"]["service_objects"], by_suite["json_mode"]["cases"]) == (2, 150)
    assert by_suite["json_mode"]["mean_similarity"] == pytest.approx(0.65)
    # streaming: p1 alone
    assert (by_suite["streaming"]["service_objects"], by_suite["streaming"]["cases"]) == (1, 40)
    assert by_suite["streaming"]["mean_similarity"] == pytest.approx(0.9)
    assert got.schema["cases"] == pl.Int64  # a count, not a 128-bit sum


def test_without_vendor_verification_it_is_empty(tmp_path):
    got = build(tmp_path, "suite_similarity")
    assert got.height == 0 and got.columns == declared("suite_similarity")
