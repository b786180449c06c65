"""marts.service_change_summary on a hand-made changelog, counted by hand per quarter and month."""

from __future__ import annotations

import datetime as dt

import polars as pl

from pipeline.lib.marts.service_changes import SCHEMA
from tests.sql.report_marts import build, declared


def row(provider, model, metric, day, detector, official=False) -> dict:
    return {
        **dict.fromkeys(SCHEMA),
        "provider": provider,
        "model": model,
        "metric": metric,
        "changed_at": dt.datetime.fromisoformat(day),
        "detector": detector,
        "official": official,
    }


def test_changes_counted_by_how_they_were_found(tmp_path):
    rows = [
        row("p", "m", "ttft_p50_ms", "2025-10-03", "pelt_l1", official=True),
        row("p", "m", "input_usd_per_mtok", "2025-11-01 12:00:00", "price_snapshot", official=True),
        row("p", "m", "output_usd_per_mtok", "2025-11-01 12:00:00", "price_snapshot", official=True),
        row("q", "m", "quantization", "2025-11-20", "endpoint_state"),
        row("q", "m", "listing", "2025-12-31 23:00:00", "endpoint_state"),
        row("o", "n", "tool_call_f1", "2025-12-02", "pelt_l1", official=True),
        row("q", "m", "listing", "2026-01-01", "endpoint_state"),  # the next quarter
    ]
    got = build(tmp_path, "service_change_summary", service_changes=pl.DataFrame(rows, schema=SCHEMA))
    assert got.columns == declared("service_change_summary")
    by = {(r["period"], r["period_type"]): r for r in got.iter_rows(named=True)}
    cols = ["changes", "detected_changes", "price_changes", "endpoint_changes", "listing_events", "official_changes",
            "official_service_objects"]  # fmt: skip
    # 2025Q4: 5 changes (2 detected, 2 prices, 1 quantization), the delisting apart; 4 at official
    # APIs, p for m (3) and o for n (1)
    assert [by["2025Q4", "quarter"][c] for c in cols] == [5, 2, 2, 1, 1, 4, 2]
    assert [by["2025-11", "month"][c] for c in cols] == [3, 0, 2, 1, 0, 2, 1]
    assert [by["2025-12", "month"][c] for c in cols] == [1, 1, 0, 0, 1, 1, 1]
    assert [by["2026Q1", "quarter"][c] for c in cols] == [0, 0, 0, 0, 1, 0, 0]
    assert sorted(by) == sorted(
        [("2025Q4", "quarter"), ("2026Q1", "quarter"), ("2025-10", "month"), ("2025-11", "month"),
         ("2025-12", "month"), ("2026-01", "month")]
    )  # fmt: skip


def test_without_changes_it_is_empty(tmp_path):
    got = build(tmp_path, "service_change_summary")
    assert got.height == 0 and got.columns == declared("service_change_summary")
