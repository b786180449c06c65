"""marts.provider_scorecard on hand-made service objects: probe success weighted by probes,
medians over service objects, the request-weighted fault rate over those with a rate."""

from __future__ import annotations

import polars as pl
import pytest

from pipeline.lib.duck import connect
from pipeline.sql import load_sql


def test_one_row_per_provider_over_its_service_objects(tmp_path):
    so = pl.DataFrame(
        {
            "period": ["2025Q4"] * 4,
            "period_type": ["quarter"] * 4,
            "provider": ["p", "p", "p", "q"],
            "model": ["m1", "m2", "m3", "m1"],
            "probes": [100, 300, 0, 50],
            "probe_success_rate": [0.9, 0.98, None, 1.0],
            "uptime_min_day": [0.8, 0.95, None, 1.0],
            "ttft_p50_ms": [100.0, 300.0, None, 50.0],
            "decode_tps_p50": [10.0, 40.0, None, 20.0],
            "requests": [1000.0, 3000.0, 500.0, 0.0],
            "request_error_rate": [0.01, 0.002, None, None],
        }
    )
    path = tmp_path / "service_objects.parquet"
    so.write_parquet(path)
    got = connect().execute(load_sql("marts/provider_scorecard"), {"service_objects": str(path)}).pl()
    p, q = got.sort("provider").to_dicts()
    # p: m1 and m2 probed (m3 has no probe); 400 probes; success (0.9 x 100 + 0.98 x 300) / 400 = 0.96
    assert (p["models_probed"], p["probes"], p["probe_success_rate"]) == (2, 400, pytest.approx(0.96))
    # worst day the lower of 0.8 and 0.95; medians of (100, 300) and (10, 40): the means of the two
    assert (p["worst_day"], p["ttft_p50_ms"], p["decode_tps_p50"]) == (0.8, 200.0, 25.0)
    # faults (0.01 x 1000 + 0.002 x 3000) / (1000 + 3000) = 16 / 4000 = 0.004; m3's 500 requests
    # have no rate and stay out of the denominator
    assert p["request_error_rate"] == pytest.approx(0.004)
    # q: no request with a rate -> no fault rate
    assert (q["models_probed"], q["probes"], q["probe_success_rate"], q["request_error_rate"]) == (1, 50, 1.0, None)
