"""marts.family_demand_tail on a hand-made family_demand worked out by hand."""

from __future__ import annotations

import polars as pl
import pytest

from tests.sql.report_marts import build, declared


def family_demand() -> pl.DataFrame:
    rows = [
        # period, type, family, requests, tokens, request share, token share, rank
        ("2025Q4", "quarter", "a", 50.0, 500.0, 0.5, 0.5, 1),
        ("2025Q4", "quarter", "c", 20.0, 100.0, 0.2, 0.1, 2),  # c and b tie at rank 2: c after b by name
        ("2025Q4", "quarter", "b", 20.0, 300.0, 0.2, 0.3, 2),
        ("2025Q4", "quarter", "d", 10.0, 100.0, 0.1, 0.1, 4),
        ("2025-10", "month", "a", 4.0, 40.0, 1.0, 1.0, 1),
    ]
    return pl.DataFrame(
        rows,
        schema={
            "period": pl.Utf8,
            "period_type": pl.Utf8,
            "family": pl.Utf8,
            "requests": pl.Float64,
            "tokens": pl.Float64,
            "request_share": pl.Float64,
            "token_share": pl.Float64,
            "rank": pl.Int64,
        },
        orient="row",
    )


def test_every_family_with_those_after_it(tmp_path):
    got = build(tmp_path, "family_demand_tail", family_demand=family_demand())
    assert got.columns == declared("family_demand_tail")
    q4 = got.filter(pl.col("period") == "2025Q4")
    assert q4.select("position", "family").rows() == [(1, "a"), (2, "b"), (3, "c"), (4, "d")]
    # position 3 (all but the top 2): c and d: 20 + 10 = 30 requests, 100 + 100 = 200 tokens, shares 0.3 and 0.2
    third = q4.row(2, named=True)
    assert (third["families"], third["requests"], third["tokens"]) == (2, 30.0, 200.0)
    assert (third["request_share"], third["token_share"]) == (pytest.approx(0.3), pytest.approx(0.2))
    # position 1 is the whole period; the last position is its own family
    assert (q4.row(0, named=True)["families"], q4.row(0, named=True)["requests"]) == (4, 100.0)
    assert (q4.row(3, named=True)["families"], q4.row(3, named=True)["requests"]) == (1, 10.0)
    # the month is its own period
    assert got.filter(pl.col("period") == "2025-10").select("families", "requests").rows() == [(1, 4.0)]


def test_without_family_demand_it_is_empty(tmp_path):
    got = build(tmp_path, "family_demand_tail")
    assert got.height == 0 and got.columns == declared("family_demand_tail")
