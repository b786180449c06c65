"""marts.provider_tool_calls on a hand-made vendor_verification worked out by hand."""

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
    "schema_accuracy": pl.Float64,
    "similarity_to_official": pl.Float64,
}


def verification() -> pl.DataFrame:
    rows = [
        # period, type, provider, model, suite, official, f1, verdict, schema accuracy, similarity
        ("2025Q4", "quarter", "p1", "m1", "tool_calls", False, 0.9, "pass", 1.0, 0.95),
        ("2025Q4", "quarter", "p1", "m2", "tool_calls", False, 0.6, "fail", None, 0.75),
        ("2025Q4", "quarter", "p1", "m3", "tool_calls", False, None, "undecided", 0.2, 0.1),  # no F1: left out
        ("2025Q4", "quarter", "p1", "m1", "json_mode", False, None, "undecided", None, 0.5),  # another suite
        ("2025Q4", "quarter", "p2", "m1", "tool_calls", False, 0.8, "undecided", 0.5, None),
        ("2025Q4", "quarter", "off", "m1", "tool_calls", True, 0.99, None, 1.0, None),  # the official API
        ("2025-10", "month", "p1", "m1", "tool_calls", False, 0.7, "pass", 1.0, 0.9),
    ]
    return pl.DataFrame(rows, schema=SCHEMA, orient="row")


def test_one_row_per_provider_over_its_models(tmp_path):
    got = build(tmp_path, "provider_tool_calls", vendor_verification=verification())
    assert got.columns == declared("provider_tool_calls")
    rows = {(r["period"], r["provider"]): r for r in got.iter_rows(named=True)}
    assert set(rows) == {("2025Q4", "p1"), ("2025Q4", "p2"), ("2025-10", "p1")}
    # p1 in 2025Q4: m1 and m2 (m3 has no F1, json_mode is another suite); mean F1 (0.9 + 0.6) / 2 = 0.75;
    # one fail, one pass; schema accuracy 1.0 (m2's null left out); similarity (0.95 + 0.75) / 2 = 0.85
    p1 = rows[("2025Q4", "p1")]
    assert (p1["service_objects"], p1["fail"], p1["pass"], p1["undecided"]) == (2, 1, 1, 0)
    assert p1["mean_tool_call_f1"] == pytest.approx(0.75)
    assert p1["mean_schema_accuracy"] == pytest.approx(1.0)
    assert p1["mean_similarity"] == pytest.approx(0.85)
    # p2: one model, undecided, F1 0.8, schema accuracy 0.5, no similarity
    p2 = rows[("2025Q4", "p2")]
    assert (p2["service_objects"], p2["fail"], p2["pass"], p2["undecided"]) == (1, 0, 0, 1)
    assert (p2["mean_tool_call_f1"], p2["mean_schema_accuracy"], p2["mean_similarity"]) == (
        pytest.approx(0.8),
        pytest.approx(0.5),
        None,
    )
    # the month: p1's m1 alone
    assert rows[("2025-10", "p1")]["mean_tool_call_f1"] == pytest.approx(0.7)
    # the official API has no row
    assert "off" not in got["provider"].to_list()
    # within a period, the best mean F1 first
    assert got.filter(pl.col("period") == "2025Q4")["provider"].to_list() == ["p2", "p1"]


def test_without_vendor_verification_it_is_empty(tmp_path):
    got = build(tmp_path, "provider_tool_calls")
    assert got.height == 0 and got.columns == declared("provider_tool_calls")
