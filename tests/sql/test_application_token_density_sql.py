"""marts.application_token_density on a hand-made histogram worked out by hand."""

from __future__ import annotations

import polars as pl
import pytest

from tests.sql.report_marts import build, declared


def histogram() -> pl.DataFrame:
    rows = [
        # period, type, application, input bin, output bin, requests
        ("2025Q4", "quarter", "chat", 5, 3, 30.0),
        ("2025Q4", "quarter", "chat", 6, 3, 10.0),
        ("2025Q4", "quarter", "code", 10, 8, 5.0),
        ("2025-10", "month", "chat", 5, 3, 2.0),
    ]
    return pl.DataFrame(
        rows,
        schema={
            "period": pl.Utf8,
            "period_type": pl.Utf8,
            "application": pl.Utf8,
            "input_bin": pl.Int32,
            "output_bin": pl.Int32,
            "requests": pl.Float64,
        },
        orient="row",
    )


def test_each_bin_s_share_of_the_application_with_its_regime(tmp_path):
    regimes = pl.DataFrame(
        {"period": ["2025Q4"], "period_type": ["quarter"], "application": ["chat"], "regime": ["prompt-heavy"]}
    )
    got = build(tmp_path, "application_token_density", task_regimes_histogram=histogram(), task_regimes=regimes)
    assert got.columns == declared("application_token_density")
    rows = {(r["period"], r["application"], r["input_bin"]): r for r in got.iter_rows(named=True)}
    # chat in 2025Q4: 30 / (30 + 10) = 0.75 and 10 / 40 = 0.25; code's one bin holds all of it;
    # the month's bin is the month's: 2 / 2 = 1
    assert rows[("2025Q4", "chat", 5)]["share"] == pytest.approx(0.75)
    assert rows[("2025Q4", "chat", 6)]["share"] == pytest.approx(0.25)
    assert rows[("2025Q4", "code", 10)]["share"] == 1.0
    assert rows[("2025-10", "chat", 5)]["share"] == 1.0
    # the regime of the application in the same period; none for code (no task_regimes row), nor for the month
    assert rows[("2025Q4", "chat", 5)]["regime"] == "prompt-heavy"
    assert rows[("2025Q4", "code", 10)]["regime"] is None
    assert rows[("2025-10", "chat", 5)]["regime"] is None


def test_an_application_without_known_requests_has_no_shares(tmp_path):
    frame = histogram().with_columns(requests=pl.lit(None, pl.Float64))
    got = build(tmp_path, "application_token_density", task_regimes_histogram=frame)
    assert got["share"].null_count() == got.height == 4


def test_without_the_histogram_it_is_empty(tmp_path):
    got = build(tmp_path, "application_token_density")
    assert got.height == 0 and got.columns == declared("application_token_density")
