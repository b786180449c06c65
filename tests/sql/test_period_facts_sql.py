"""marts.period_facts on hand-made marts and a few staged request rows."""

from __future__ import annotations

import datetime as dt

import polars as pl

from pipeline.paths import core_dir
from tests.sql.report_marts import build


def test_counts_per_period(tmp_path):
    # the per-day partials of three sampled rows on 2025-10-01: model a at p (sample rates 0.5 and
    # 0.25) and model b at q (1.0); applications chat and rag
    demand = core_dir(tmp_path, "core_demand__daily") / "day=2025-10-01"
    demand.mkdir(parents=True)
    pl.DataFrame(
        {
            "date": [dt.date(2025, 10, 1)] * 2,
            "month": ["2025-10"] * 2,
            "quarter": ["2025Q4"] * 2,
            "model": ["a", "b"],
            "provider": ["p", "q"],
            "requests": [1 / 0.5 + 1 / 0.25, 1.0],
            "logged_requests": [2, 1],
            "min_sample_rate": [0.25, 1.0],
            "max_sample_rate": [0.5, 1.0],
        }
    ).write_parquet(demand / "part-0.parquet")
    tokens = core_dir(tmp_path, "core_tokens__daily") / "day=2025-10-01"
    tokens.mkdir(parents=True)
    pl.DataFrame(
        {
            "date": [dt.date(2025, 10, 1)] * 3,
            "month": ["2025-10"] * 3,
            "quarter": ["2025Q4"] * 3,
            "application": ["chat", "rag", "chat"],
            "side": ["input", "input", "output"],
            "weight": [6.0, 1.0, 6.0],
        }
    ).write_parquet(tokens / "part-0.parquet")
    objects = pl.DataFrame(
        {
            "period": ["2025Q4"] * 3,
            "period_type": ["quarter"] * 3,
            "provider": ["p", "p", "q"],
            "model": ["a", "b", "a"],
            "listed_days": [92, 0, 10],
            "probes": [100, 0, 40],
        }
    )
    dispersion = pl.DataFrame(
        {
            "period": ["2025Q4"] * 3,
            "period_type": ["quarter"] * 3,
            "model": ["a", "a", "b"],
            "attribute": ["input_price", "ttft_p50_ms", "input_price"],
            "n_providers": [2, 1, 1],
        }
    )
    inertia = pl.DataFrame(
        {
            "old_model": ["a", "a"],
            "new_model": ["a2", "a2"],  # one pair, two days of rows
            "release_date": [dt.date(2025, 11, 3)] * 2,
            "days_since_release": [0, 1],
        }
    )
    out = build(
        tmp_path, "period_facts", service_objects=objects, provider_dispersion=dispersion, version_inertia=inertia
    )
    q = out.filter(pl.col("period") == "2025Q4").row(0, named=True)
    # the three sampled rows stand for 1 / 0.5 + 1 / 0.25 + 1 = 7 requests
    assert (q["sampled_rows"], q["sampled_rows_weight"], q["min_sample_rate"], q["max_sample_rate"]) == (
        3,
        7.0,
        0.25,
        1.0,
    )
    assert q["applications"] == 2
    # listed: (p, a) and (q, a); probed: the same two; probes 100 + 40; the median over all three is 40
    assert (q["service_objects_listed"], q["service_objects_probed"], q["probes"], q["providers"]) == (2, 2, 140, 2)
    assert (q["median_probes_per_object"], q["min_probes_per_probed_object"]) == (40, 40)
    # model a: at most 2 providers over its attributes; b: 1
    assert (q["models_compared"], q["models_with_two_providers"], q["models_with_one_provider"]) == (2, 1, 1)
    assert q["successor_releases"] == 1
    month = {r["period"]: r for r in out.filter(pl.col("period_type") == "month").iter_rows(named=True)}
    # a month is listed when some mart or request has data in it; the release month (November) has none here
    assert month["2025-10"]["sampled_rows"] == 3 and month["2025-10"]["successor_releases"] == 0
    assert "2025-11" not in month
