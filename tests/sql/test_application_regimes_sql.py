"""marts.application_regimes on a hand-made task_regimes worked out by hand."""

from __future__ import annotations

import polars as pl
import pytest

from tests.sql.report_marts import build, declared


def regimes(period: str, requests: list[float | None]) -> pl.DataFrame:
    n = len(requests)
    return pl.DataFrame(
        {
            "period": [period] * n,
            "period_type": ["quarter" if "Q" in period else "month"] * n,
            "application": [f"app{i}" for i in range(n)],
            "requests": requests,
            "input_p50": [100 * (i + 1) for i in range(n)],
            "input_p90": [900] * n,
            "output_p50": [10] * n,
            "output_p90": [90] * n,
            "output_share": [0.1] * n,
            "regime": ["balanced"] * n,
        },
        schema_overrides={"requests": pl.Float64},
    )


def test_each_application_s_share_of_the_period(tmp_path):
    frame = pl.concat([regimes("2025Q4", [60.0, 30.0, 10.0]), regimes("2025-10", [20.0, 20.0])])
    got = build(tmp_path, "application_regimes", task_regimes=frame)
    assert got.columns == declared("application_regimes")
    q4 = got.filter(pl.col("period") == "2025Q4")
    # 60 / 100, 30 / 100, 10 / 100, largest first; the month's shares are of the month: 20 / 40 each
    assert q4["application"].to_list() == ["app0", "app1", "app2"]
    assert q4["request_share"].to_list() == [pytest.approx(0.6), pytest.approx(0.3), pytest.approx(0.1)]
    assert got.filter(pl.col("period") == "2025-10")["request_share"].to_list() == [0.5, 0.5]
    # the columns the report shows pass through
    assert q4.row(0, named=True)["input_p50"] == 100 and q4.row(0, named=True)["regime"] == "balanced"


def test_an_unknown_count_leaves_every_share_of_its_period_unknown(tmp_path):
    frame = pl.concat([regimes("2025Q4", [60.0, None]), regimes("2025Q3", [0.0, 0.0])])
    got = build(tmp_path, "application_regimes", task_regimes=frame)
    # 2025Q4: app1's requests are unknown, so is the total; 2025Q3: a total of 0 gives no share
    assert got["request_share"].to_list() == [None] * 4


def test_without_task_regimes_it_is_empty(tmp_path):
    got = build(tmp_path, "application_regimes")
    assert got.height == 0 and got.columns == declared("application_regimes")
