"""marts.pareto_by_provider on a hand-made marts.service_pareto: placed and dominated service
objects per provider, and the period's totals."""

from __future__ import annotations

import polars as pl

from pipeline.lib.duck import connect
from pipeline.sql import load_sql


def test_placed_and_dominated_per_provider(tmp_path):
    rows = [
        # (provider, model, dominated); None: not placed
        ("p", "a", True),
        ("p", "b", True),
        ("p", "c", False),
        ("q", "a", False),
        ("q", "b", None),
        ("r", "a", None),  # r has nothing placed: no row
    ]
    par = pl.DataFrame(
        {
            "period": ["2025Q4"] * len(rows),
            "period_type": ["quarter"] * len(rows),
            "provider": [r[0] for r in rows],
            "model": [r[1] for r in rows],
            "dominated": [r[2] for r in rows],
        }
    )
    path = tmp_path / "service_pareto.parquet"
    par.write_parquet(path)
    got = connect().execute(load_sql("marts/pareto_by_provider"), {"service_pareto": str(path)}).pl()
    # p: 3 placed, 2 dominated; q: 1 placed (b is not), none dominated; the period: 4 placed, 2 dominated
    assert got.select("provider", "placed", "dominated", "period_placed", "period_dominated").rows() == [
        ("p", 3, 2, 4, 2),
        ("q", 1, 0, 4, 2),
    ]
