"""marts.routing_staleness (pipeline/lib/marts/routing_staleness.py) on day sums worked out by hand."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from pipeline.lib.marts.routing_staleness import routing_staleness
from pipeline.lib.marts.routing_totals import ALL_MODELS


def _policy_daily(rows: list[tuple]) -> pl.DataFrame:
    """rows: (day, model, policy, routed, cost_sum, tps_sum, tps_weight), one TTFT row each."""
    return pl.DataFrame(
        [
            {
                "date": dt.date(2025, 10, d),
                "month": "2025-10",
                "quarter": "2025Q4",
                "model": m,
                "policy": p,
                "ttft_ms": 500.0,
                "routed": w,
                "excluded": 0.0,
                "cost_sum": c,
                "tps_sum": t,
                "tps_weight": tw,
                "success_sum": w,
            }
            for d, m, p, w, c, t, tw in rows
        ]
    )


def _day(d: int, m: str, official: tuple, live: tuple, frozen: tuple, fastest: tuple, frozen_fast: tuple) -> list:
    """A day of model m: (cost, tps_sum) of each policy over 100 requests, all with a throughput."""
    return [
        (d, m, "official", 100.0, official[0], official[1], 100.0),
        (d, m, "cheapest_list_price", 100.0, live[0], live[1], 100.0),
        (d, m, "frozen_cheapest", 100.0, frozen[0], frozen[1], 100.0),
        (d, m, "fastest", 100.0, fastest[0], fastest[1], 100.0),
        (d, m, "frozen_fastest", 100.0, frozen_fast[0], frozen_fast[1], 100.0),
    ]


def test_cost_and_throughput_by_hand():
    # cost: official 20 + 40 USD, re-decided list price 10 + 20, frozen 12 + 22;
    # throughput (weighted tok/s sums over 100 requests a day): official 3000 + 3000,
    # fastest 5000 + 6000, frozen_fastest 4000 + 5000
    rows = _day(1, "m", (20, 3000), (10, 0), (12, 0), (0, 5000), (0, 4000))
    rows += _day(2, "m", (40, 3000), (20, 0), (22, 0), (0, 6000), (0, 5000))
    out = routing_staleness(_policy_daily(rows), n_boot=200)
    q = {(r["model"], r["objective"]): r for r in out.filter(pl.col("period") == "2025Q4").iter_rows(named=True)}
    cost = q[("m", "cost")]
    assert (cost["redeciding_policy"], cost["frozen_policy"]) == ("cheapest_list_price", "frozen_cheapest")
    assert (cost["redeciding_value"], cost["frozen_value"]) == (30.0, 34.0)
    assert cost["staleness_pct"] == pytest.approx(100 * (34 / 30 - 1))
    assert cost["redeciding_change_pct"] == pytest.approx(-50.0)
    assert cost["frozen_change_pct"] == pytest.approx(100 * (34 / 60 - 1))
    assert cost["staleness_ci_low"] <= cost["staleness_pct"] <= cost["staleness_ci_high"]
    tps = q[("m", "throughput")]
    assert (tps["redeciding_value"], tps["frozen_value"]) == (55.0, 45.0)  # requests-weighted means
    assert tps["staleness_pct"] == pytest.approx(100 * (45 / 55 - 1))
    assert tps["redeciding_change_pct"] == pytest.approx(100 * (55 / 30 - 1))
    assert (cost["requests_routed"], cost["n_days"]) == (200.0, 2)
    # one model: all models together is the same
    assert q[(ALL_MODELS, "cost")]["staleness_pct"] == pytest.approx(cost["staleness_pct"])
    assert set(out["period"]) == {"2025Q4", "2025-10"}


def test_all_models_add_a_days_sums_first():
    # model a: frozen pays 10 % more (11 vs 10), model b: the same (50 vs 50): together 61 / 60
    rows = _day(1, "a", (20, 1), (10, 0), (11, 0), (0, 1), (0, 1)) + _day(
        1, "b", (80, 1), (50, 0), (50, 0), (0, 1), (0, 1)
    )
    out = routing_staleness(_policy_daily(rows), n_boot=50).filter(pl.col("objective") == "cost")
    by_model = {r["model"]: r["staleness_pct"] for r in out.filter(pl.col("period") == "2025Q4").iter_rows(named=True)}
    assert by_model["a"] == pytest.approx(10.0)
    assert by_model["b"] == pytest.approx(0.0)
    assert by_model[ALL_MODELS] == pytest.approx(100 * (61 / 60 - 1))


def test_a_constant_ratio_has_a_point_interval():
    # the frozen order pays 10 % more every day: every resample of days gives 10 %
    rows = []
    for d in range(1, 8):
        rows += _day(d, "m", (20.0 * d, 1), (10.0 * d, 0), (11.0 * d, 0), (0, 1), (0, 1))
    r = routing_staleness(_policy_daily(rows), n_boot=200).filter(pl.col("objective") == "cost").row(0, named=True)
    assert r["staleness_pct"] == pytest.approx(10.0)
    assert r["staleness_ci_low"] == pytest.approx(10.0) and r["staleness_ci_high"] == pytest.approx(10.0)
    assert r["n_days"] == 7


def test_without_the_frozen_policies_or_with_nothing_routed_there_is_no_row():
    assert routing_staleness(_policy_daily([(1, "m", "official", 1.0, 1.0, 1.0, 1.0)])).height == 0
    nothing = [
        (d, m, p, 0.0, c, t, 0.0) for d, m, p, _w, c, t, _tw in _day(1, "m", (0, 0), (0, 0), (0, 0), (0, 0), (0, 0))
    ]
    assert routing_staleness(_policy_daily(nothing)).height == 0
