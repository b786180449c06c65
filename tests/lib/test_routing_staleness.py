"""marts.routing_staleness (pipeline/lib/marts/routing_staleness.py) on day sums worked out by hand."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from pipeline.lib.marts.routing_staleness import routing_staleness
from pipeline.lib.marts.routing_totals import ALL_MODELS


def _daily(rows: list[tuple]) -> pl.DataFrame:
    """rows: (day, model, objective, policy, routed, routed_sum, base_sum)."""
    return pl.DataFrame(
        [
            {
                "date": dt.date(2025, 10, d),
                "month": "2025-10",
                "quarter": "2025Q4",
                "model": m,
                "objective": o,
                "policy": p,
                "routed": w,
                "routed_sum": r,
                "base_sum": b,
            }
            for d, m, o, p, w, r, b in rows
        ]
    )


def test_cost_and_throughput_by_hand():
    daily = _daily(
        [
            # cost: causal pays 10 + 20 USD, frozen 12 + 22, the official 20 + 40
            (1, "m", "cost", "causal", 5.0, 10.0, 20.0),
            (2, "m", "cost", "causal", 5.0, 20.0, 40.0),
            (1, "m", "cost", "frozen", 5.0, 12.0, 20.0),
            (2, "m", "cost", "frozen", 5.0, 22.0, 40.0),
            # throughput: 100 requests a day; weighted tok/s sums 5000 + 6000 re-deciding, 4000 + 5000 frozen
            (1, "m", "throughput", "causal", 100.0, 5000.0, 3000.0),
            (2, "m", "throughput", "causal", 100.0, 6000.0, 3000.0),
            (1, "m", "throughput", "frozen", 100.0, 4000.0, 3000.0),
            (2, "m", "throughput", "frozen", 100.0, 5000.0, 3000.0),
            # an oracle row is not part of it
            (1, "m", "cost", "oracle", 5.0, 1.0, 20.0),
        ]
    )
    out = routing_staleness(daily, n_boot=200)
    q = {(r["model"], r["objective"]): r for r in out.filter(pl.col("period") == "2025Q4").iter_rows(named=True)}
    cost = q[("m", "cost")]
    assert (cost["causal_value"], cost["frozen_value"]) == (30.0, 34.0)
    assert cost["staleness_pct"] == pytest.approx(100 * (34 / 30 - 1))
    assert cost["causal_change_pct"] == pytest.approx(-50.0)
    assert cost["frozen_change_pct"] == pytest.approx(100 * (34 / 60 - 1))
    assert cost["staleness_ci_low"] <= cost["staleness_pct"] <= cost["staleness_ci_high"]
    tps = q[("m", "throughput")]
    assert (tps["causal_value"], tps["frozen_value"]) == (55.0, 45.0)  # requests-weighted means
    assert tps["staleness_pct"] == pytest.approx(100 * (45 / 55 - 1))
    assert tps["causal_change_pct"] == pytest.approx(100 * (55 / 30 - 1))
    # one model: all models together is the same
    assert q[(ALL_MODELS, "cost")]["staleness_pct"] == pytest.approx(cost["staleness_pct"])
    assert set(out["period"]) == {"2025Q4", "2025-10"}


def test_a_constant_ratio_has_a_point_interval():
    # frozen pays 10 % more every day: every resample of days gives 10 %
    rows = []
    for d in range(1, 8):
        rows += [
            (d, "m", "cost", "causal", 1.0, 10.0 * d, 20.0 * d),
            (d, "m", "cost", "frozen", 1.0, 11.0 * d, 20.0 * d),
        ]
    r = routing_staleness(_daily(rows), n_boot=200).row(0, named=True)
    assert r["staleness_pct"] == pytest.approx(10.0)
    assert r["staleness_ci_low"] == pytest.approx(10.0) and r["staleness_ci_high"] == pytest.approx(10.0)
    assert r["n_days"] == 7


def test_no_frozen_rows_no_staleness():
    daily = _daily([(1, "m", "cost", "causal", 1.0, 1.0, 2.0)])
    assert routing_staleness(daily).height == 0


def test_a_model_with_nothing_routed_has_no_row():
    # every request excluded: routed 0 (and sums 0) on both sides
    daily = _daily([(1, "m", "throughput", "causal", 0.0, 0.0, 0.0), (1, "m", "throughput", "frozen", 0.0, 0.0, 0.0)])
    assert routing_staleness(daily).height == 0
