"""marts.routing_totals on a world worked out by hand: two models, two days, cost objective."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from pipeline.lib.marts.routing_totals import routing_totals
from pipeline.lib.routing import DAILY_SCHEMA


def _row(day: int, model: str, routed: float, base_sum: float, routed_sum: float, imputed: float) -> dict:
    row = dict.fromkeys(DAILY_SCHEMA, 0.0)
    row.update(
        date=dt.date(2025, 10, day),
        month="2025-10",
        quarter="2025Q4",
        model=model,
        objective="cost",
        policy="oracle",
        baseline_provider="official",
        routed=routed,
        excluded=1.0,
        imputed=imputed,
        base_sum=base_sum,
        routed_sum=routed_sum,
    )
    return row


def test_all_models_are_the_sums_over_models_and_days():
    daily = pl.DataFrame(
        [
            _row(1, "a", 10, 100.0, 80.0, 5),
            _row(1, "b", 30, 50.0, 45.0, 0),
            _row(2, "a", 20, 200.0, 150.0, 10),
            _row(2, "b", 0, 0.0, 0.0, 0),  # b routed nothing on day 2: not counted among the models that day
        ],
        schema=DAILY_SCHEMA,
    )
    out = routing_totals(daily, n_boot=200, seed=0)
    q = out.filter(pl.col("period") == "2025Q4").row(0, named=True)
    # cost, a total: (80 + 45 + 150) / (100 + 50 + 200) - 1 = 275 / 350 - 1
    assert q["change_pct"] == pytest.approx(100 * (275 / 350 - 1))
    assert q["baseline_value"] == pytest.approx(350.0) and q["routed_value"] == pytest.approx(275.0)
    assert q["requests_routed"] == 60 and q["requests_excluded"] == 4 and q["n_days"] == 2
    assert q["models"] == 2
    assert q["requests_imputed_share"] == pytest.approx(15 / 60)
    # the day bootstrap resamples the two days' totals (routed / baseline: 125 / 150, 150 / 200): the interval lies
    # between the two days' own changes
    assert 100 * (150 / 200 - 1) <= q["ci_low"] <= q["change_pct"] <= q["ci_high"] <= 100 * (125 / 150 - 1)
    assert set(out["period"]) == {"2025Q4", "2025-10"}


def test_no_days_give_the_columns_and_no_rows():
    out = routing_totals(pl.DataFrame(schema=DAILY_SCHEMA))
    assert out.height == 0
    assert "models" in out.columns and "requests_imputed_share" in out.columns and "model" not in out.columns
