"""marts.context_limit_by_provider on a hand-made marts.context_limit_behaviour: models per provider
and majority behaviour, and per behaviour over every provider."""

from __future__ import annotations

import polars as pl

from pipeline.lib.duck import connect
from pipeline.sql import load_sql


def test_models_by_provider_and_behaviour(tmp_path):
    behaviours = ["error", "error", "truncation", "error", "silent_acceptance", "error"]
    cl = pl.DataFrame(
        {
            "period": ["2025Q4"] * 5 + ["2025-10"],
            "period_type": ["quarter"] * 5 + ["month"],
            "provider": ["p", "p", "p", "q", "q", "q"],
            "model": ["m1", "m2", "m3", "m1", "m2", "m1"],
            "behaviour": behaviours,
        }
    )
    path = tmp_path / "context_limit_behaviour.parquet"
    cl.write_parquet(path)
    got = connect().execute(load_sql("marts/context_limit_by_provider"), {"context_limit_behaviour": str(path)}).pl()
    q4 = got.filter(pl.col("period") == "2025Q4").select("provider", "behaviour", "models", "behaviour_models")
    # 2025Q4: p errors on m1 and m2, truncates m3; q errors on m1, silently accepts m2.
    # error over both providers: 2 + 1 = 3
    assert q4.rows() == [
        ("p", "error", 2, 3),
        ("p", "truncation", 1, 1),
        ("q", "error", 1, 3),
        ("q", "silent_acceptance", 1, 1),
    ]
    # the month counts its own rows only
    assert got.filter(pl.col("period") == "2025-10").select("provider", "models", "behaviour_models").rows() == [
        ("q", 1, 1)
    ]
