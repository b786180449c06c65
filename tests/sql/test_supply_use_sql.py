"""Supply vs use on a hand-made world, and the rank correlation."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest

from pipeline.lib.duck import connect
from pipeline.lib.stats import spearman_ci, spearman_rows
from pipeline.sql import load_sql

D1, D2 = dt.date(2025, 10, 1), dt.date(2025, 10, 2)


def test_breadth_adoption_and_provider_concentration(tmp_path):
    # m1: listed by p and q on both days, and by r on day 2 only -> breadth (2 + 3) / 2 = 2.5
    #     traffic: p 6, q 2 -> top1 0.75, HHI 0.75^2 + 0.25^2
    # m2: listed by p on both days, no traffic -> demand share 0
    # m3: no listing at all but 2 requests via p (a listing gap) -> breadth 0
    ts = lambda d: dt.datetime.combine(d, dt.time())  # noqa: E731
    endpoints = pl.DataFrame(
        {
            "provider": ["p", "q", "r", "p"],
            "model": ["m1", "m1", "m1", "m2"],
            "valid_from": [ts(D1), ts(D1), ts(D2) + dt.timedelta(hours=20), ts(D1)],
            "valid_to": [None, None, None, None],
        },
        schema_overrides={"valid_to": pl.Datetime("us")},
    )
    daily = pl.DataFrame(
        {
            "date": [D1, D2, D1, D2],
            "month": ["2025-10"] * 4,
            "quarter": ["2025Q4"] * 4,
            "family": ["a", "a", "a", "b"],
            "model": ["m1", "m1", "m1", "m3"],
            "provider": ["p", "p", "q", "p"],
            "requests": [3.0, 3.0, 2.0, 2.0],
            "tokens": [0.0] * 4,
        }
    )
    models = pl.DataFrame({"model": ["m1", "m2", "m3"], "family": ["a", "a", "b"]})
    paths = {k: tmp_path / f"{k}.parquet" for k in ("endpoints", "daily", "models")}
    endpoints.write_parquet(paths["endpoints"])
    daily.write_parquet(paths["daily"])
    models.write_parquet(paths["models"])
    got = connect().execute(load_sql("marts/supply_use"), {k: str(v) for k, v in paths.items()}).pl()
    q = {r["model"]: r for r in got.filter(pl.col("period") == "2025Q4").iter_rows(named=True)}
    assert q["m1"]["listing_breadth"] == pytest.approx(2.5)
    assert q["m1"]["demand_share"] == pytest.approx(0.8)
    assert q["m1"]["provider_top1_share"] == pytest.approx(0.75)
    assert q["m1"]["provider_hhi"] == pytest.approx(0.625)
    assert (q["m2"]["listing_breadth"], q["m2"]["demand_share"], q["m2"]["provider_hhi"]) == (1.0, 0.0, None)
    assert (q["m3"]["listing_breadth"], q["m3"]["demand_share"]) == (0.0, pytest.approx(0.2))


class TestSpearman:
    def test_monotone_is_one(self):
        assert spearman_rows(np.array([[1.0, 2, 3, 4]]), np.array([[10.0, 20, 25, 90]]))[0] == pytest.approx(1.0)
        assert spearman_rows(np.array([[1.0, 2, 3, 4]]), np.array([[4.0, 3, 2, 1]]))[0] == pytest.approx(-1.0)

    def test_ties_take_average_ranks(self):
        # x ranks (1.5, 1.5, 3), y ranks (1, 2, 3): r = 0.5 * ... = sqrt(3)/2
        assert spearman_rows(np.array([[1.0, 1, 2]]), np.array([[1.0, 2, 3]]))[0] == pytest.approx(np.sqrt(3) / 2)

    def test_interval_contains_the_estimate(self):
        rng = np.random.default_rng(0)
        x = rng.normal(size=40)
        y = x + rng.normal(size=40)
        rho, lo, hi = spearman_ci(x, y, n_boot=500)
        assert lo <= rho <= hi and 0 < lo


def test_average_ranks_match_scipy():
    from scipy.stats import rankdata

    from pipeline.lib.stats import average_ranks

    rng = np.random.default_rng(4)
    x = rng.integers(0, 6, size=(30, 17)).astype(float)  # many ties
    assert average_ranks(x) == pytest.approx(rankdata(x, axis=1))
    assert average_ranks(np.array([3.0, 1.0, 3.0])).tolist() == [2.5, 1.0, 2.5]
