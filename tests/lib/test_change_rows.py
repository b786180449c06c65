"""How a change reads in the report (pipeline/lib/report/sections/change_rows.py): a rate moves
by points, latency and prices by percent."""

from __future__ import annotations

from pipeline.lib.report.sections.change_rows import change, short_change


def _row(metric: str, before: float, after: float, pct: float | None, lo=None, hi=None) -> dict:
    return {
        "metric": metric,
        "detector": "pelt_l1",
        "before_value": before,
        "after_value": after,
        "change_pct": pct,
        "change_ci_low": lo,
        "change_ci_high": hi,
    }


def test_a_rate_rising_from_near_zero_reads_in_points():
    # 0.1 % -> 5.9 % of requests rate-limited: +5.8 points (a ratio of +5,800 % says nothing)
    r = _row("rate_limit_rate", 0.001, 0.059, 5800.0)
    assert change(r) == "+5.8 points"
    assert short_change(r) == "+6 pts"
    # schema accuracy 1.0 -> 0.69: -31.0 points
    assert change(_row("schema_accuracy", 1.0, 0.69, -31.0, -34.8, -22.2)) == "-31.0 points"


def test_latency_reads_in_percent_with_its_interval():
    r = _row("ttft_p50_ms", 400.0, 600.0, 50.0, 42.1, 58.3)
    assert change(r) == "+50.0 % [42.1, 58.3]"
    assert short_change(r) == "+50 %"
