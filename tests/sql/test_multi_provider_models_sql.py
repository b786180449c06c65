"""marts.multi_provider_models on hand-made service objects: only models listed by two or more
providers, ranked by their requests over them; unlisted providers do not count."""

from __future__ import annotations

import polars as pl

from pipeline.lib.duck import connect
from pipeline.sql import load_sql


def test_models_with_two_or_more_listing_providers_ranked_by_requests(tmp_path):
    rows = [
        # (provider, model, listed_days, requests)
        ("p", "a", 92.0, 100.0),
        ("q", "a", 10.0, 50.0),  # a: 2 providers, 150 requests
        ("p", "b", 92.0, 400.0),
        ("q", "b", 92.0, None),
        ("r", "b", 92.0, 100.0),  # b: 3 providers, 400 + 100 = 500 requests (no requests counts 0)
        ("p", "c", 92.0, 150.0),
        ("q", "c", 92.0, None),  # c: 2 providers, 150 requests, tied with a: a first by name
        ("p", "d", 92.0, 9000.0),
        ("q", "d", 0.0, 9000.0),  # d: q does not list it (0 days): one provider, left out
        ("p", "e", 92.0, None),
        ("q", "e", 92.0, None),  # e: 2 providers, no requests at all: 0
    ]
    so = pl.DataFrame(
        {
            "period": ["2025Q4"] * len(rows),
            "period_type": ["quarter"] * len(rows),
            "provider": [r[0] for r in rows],
            "model": [r[1] for r in rows],
            "is_official": [r[0] == "p" for r in rows],
            "blended_usd_per_mtok": [1.0] * len(rows),
            "decode_tps_p50": [50.0] * len(rows),
            "listed_days": [r[2] for r in rows],
            "requests": [r[3] for r in rows],
        }
    )
    path = tmp_path / "service_objects.parquet"
    so.write_parquet(path)
    got = connect().execute(load_sql("marts/multi_provider_models"), {"service_objects": str(path)}).pl()
    models = got.select("model", "model_providers", "model_requests", "model_rank").unique().sort("model_rank")
    assert models.rows() == [("b", 3, 500.0, 1), ("a", 2, 150.0, 2), ("c", 2, 150.0, 3), ("e", 2, 0.0, 4)]
    assert set(got["models"]) == {4}
    # one row per listing provider of each such model: 3 + 2 + 2 + 2
    assert got.height == 9 and "d" not in got["model"]
