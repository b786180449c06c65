"""marts.request_rate_ranking on hand-made service objects: the rank by provider-fault rate, the
ties, and the period's counts of service objects with requests and of thin ones."""

from __future__ import annotations

import polars as pl

from pipeline.lib.duck import connect
from pipeline.sql import load_sql


def test_ranked_by_fault_rate_with_the_periods_counts(tmp_path):
    rate = [0.02, 0.01, 0.02, None, 0.05]
    so = pl.DataFrame(
        {
            "period": ["2025Q4"] * 4 + ["2025-10"],
            "period_type": ["quarter"] * 4 + ["month"],
            "provider": ["q", "p", "p", "r", "p"],
            "model": ["m1", "m1", "m2", "m1", "m1"],
            "requests_effective": [5000.0, 800.0, 300.0, None, 100.0],
            "thin": [False, True, True, None, True],
            "request_error_rate": rate,
            "request_error_rate_ci_low": [None if r is None else r / 2 for r in rate],
            "request_error_rate_ci_high": [None if r is None else r * 2 for r in rate],
            "rate_limit_rate": [0.001] * 5,
            "rate_limit_rate_ci_low": [0.0] * 5,
            "rate_limit_rate_ci_high": [0.003] * 5,
        }
    )
    path = tmp_path / "service_objects.parquet"
    so.write_parquet(path)
    got = connect().execute(load_sql("marts/request_rate_ranking"), {"service_objects": str(path)}).pl()
    q4 = got.filter(pl.col("period") == "2025Q4").sort("fault_rank")
    # r/m1 has no rate (no requests): left out. 0.02 twice: provider p before q; then 0.01
    assert q4.select("provider", "model", "fault_rank").rows() == [("p", "m2", 1), ("q", "m1", 2), ("p", "m1", 3)]
    # 3 service objects with requests, 2 of them thin (p/m2 and p/m1), on every row
    assert set(q4.select("service_objects_with_requests", "thin_service_objects").rows()) == {(3, 2)}
    assert q4["request_error_rate_ci_high"].to_list() == [0.04, 0.04, 0.02]
    # the month is ranked and counted on its own
    assert got.filter(pl.col("period") == "2025-10").select(
        "fault_rank", "service_objects_with_requests", "thin_service_objects"
    ).rows() == [(1, 1, 1)]
