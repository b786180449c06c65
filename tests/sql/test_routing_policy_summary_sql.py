"""marts.routing_policy_summary on a hand-made routing_policies worked out by hand."""

from __future__ import annotations

import polars as pl
import pytest

from tests.sql.report_marts import build, declared

SCHEMA = {
    "period": pl.Utf8,
    "period_type": pl.Utf8,
    "model": pl.Utf8,
    "policy": pl.Utf8,
    "scenario": pl.Utf8,
    "requests_routed": pl.Float64,
    "requests_excluded": pl.Float64,
    "total_cost_usd": pl.Float64,
    "expected_success_rate": pl.Float64,
    "cost_change_pct": pl.Float64,
    "tps_change_pct": pl.Float64,
}


def policies() -> pl.DataFrame:
    rows = [
        # model, policy, routed, excluded, cost, success, cost change, tps change
        ("m1", "cheapest", 100.0, 10.0, 5.0, 0.99, -20.0, 10.0),
        ("m2", "cheapest", 50.0, 0.0, 2.0, 0.95, -10.0, None),
        ("m3", "cheapest", 30.0, 5.0, 1.0, 0.97, 0.0, 40.0),
        ("m1", "official", 100.0, 10.0, 6.25, 0.98, 0.0, 0.0),
        ("m2", "official", 0.0, 7.0, None, 1.0, None, None),  # nothing routed: no cost
    ]
    return pl.DataFrame([("2025Q4", "quarter", *r[:2], "observed", *r[2:]) for r in rows], schema=SCHEMA, orient="row")


def test_policies_over_the_models(tmp_path):
    got = build(tmp_path, "routing_policy_summary", routing_policies=policies())
    assert got.columns == declared("routing_policy_summary")
    rows = {r["policy"]: r for r in got.iter_rows(named=True)}
    # cheapest: 3 models; routed 100 + 50 + 30 = 180, excluded 10 + 0 + 5 = 15, cost 5 + 2 + 1 = 8;
    # median cost change of -20, -10, 0 = -10; median tps change of 10 and 40 (m2's null left out) = 25;
    # lowest success min(0.99, 0.95, 0.97) = 0.95
    c = rows["cheapest"]
    assert (c["period_type"], c["scenario"], c["models"]) == ("quarter", "observed", 3)
    assert (c["requests_routed"], c["requests_excluded"], c["total_cost_usd"]) == (180.0, 15.0, pytest.approx(8.0))
    assert (c["median_cost_change_pct"], c["median_tps_change_pct"]) == (pytest.approx(-10.0), pytest.approx(25.0))
    assert c["lowest_success_rate"] == pytest.approx(0.95)
    # official: m2 routed nothing and adds 0 to the cost: 6.25; its null change is left out of the median
    o = rows["official"]
    assert (o["models"], o["requests_routed"], o["requests_excluded"], o["total_cost_usd"]) == (2, 100.0, 17.0, 6.25)
    assert (o["median_cost_change_pct"], o["lowest_success_rate"]) == (0.0, 0.98)


def test_a_policy_that_routed_nothing_cost_nothing(tmp_path):
    frame = policies().filter(pl.col("model") == "m2", pl.col("policy") == "official")
    got = build(tmp_path, "routing_policy_summary", routing_policies=frame)
    assert got.row(0, named=True)["total_cost_usd"] == 0.0


def test_a_mart_without_period_type_reads_it_from_the_label(tmp_path):
    frame = pl.concat([policies(), policies().with_columns(period=pl.lit("2025-11"))]).drop("period_type")
    got = build(tmp_path, "routing_policy_summary", routing_policies=frame)
    assert set(got.select("period", "period_type").unique().rows()) == {("2025Q4", "quarter"), ("2025-11", "month")}


def test_without_routing_policies_it_is_empty(tmp_path):
    got = build(tmp_path, "routing_policy_summary")
    assert got.height == 0 and got.columns == declared("routing_policy_summary")
