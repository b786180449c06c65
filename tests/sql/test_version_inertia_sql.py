"""Version inertia on constructed decays whose half-life is known in closed form."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from pipeline.lib.ingest import connect
from pipeline.sql import load_sql

T0 = dt.date(2025, 11, 1)


def world(tmp_path, half_life: float | None, pre_new: float = 0.0):
    """Old variant demand 1000 * 0.5 ** (d / h) after release (1000 before), the new one
    takes the rest; `half_life=None`: the new variant never takes over."""
    rows = []
    for d in range(-20, 70):
        day = T0 + dt.timedelta(days=d)
        if not (dt.date(2025, 10, 1) <= day <= dt.date(2025, 12, 31)):
            continue
        old = 1000.0 if d < 0 or half_life is None else 1000.0 * 0.5 ** (d / half_life)
        new = pre_new if d < 0 else (0.0 if half_life is None else 1000.0 - old)
        rows += [(day, "fam", "old", "p", old, 0.0), (day, "fam", "new", "p", new, 0.0)]
    daily = pl.DataFrame(rows, schema=["date", "family", "model", "provider", "requests", "tokens"], orient="row")
    models = pl.DataFrame(
        {"model": ["old", "new", "older"], "family": ["fam"] * 3, "release_date": [dt.date(2025, 5, 1), T0, dt.date(2025, 1, 1)],
         "successor_of": [None, "old", None]}
    )
    d, m = tmp_path / "daily.parquet", tmp_path / "models.parquet"
    daily.write_parquet(d)
    models.write_parquet(m)
    con = connect()
    return con.execute(load_sql("marts/version_inertia"), {"daily": str(d), "models": str(m), "before": 14, "after": 60}).pl()


@pytest.mark.parametrize("h", [5, 10, 21])
def test_half_life_of_an_exponential_decay(tmp_path, h):
    got = world(tmp_path, h)
    assert got["half_life_days"].unique().to_list() == [h]
    # the share follows the constructed curve: 0.5 ** (d / h)
    row = got.filter(pl.col("days_since_release") == 2 * h)
    assert row["old_share"][0] == pytest.approx(0.25)


def test_window_is_minus_14_to_plus_60_within_the_data(tmp_path):
    got = world(tmp_path, 10)
    days = got["days_since_release"].to_list()
    # Nov 1 + 60 days is Dec 31, the last day of the data; Oct 18 (day -14) is inside it
    assert min(days) == -14 and max(days) == (dt.date(2025, 12, 31) - T0).days == 60


def test_no_half_life_when_the_successor_never_takes_over(tmp_path):
    assert world(tmp_path, None)["half_life_days"].unique().to_list() == [None]


def test_half_of_the_pre_release_mean_not_of_one(tmp_path):
    # before the release the "new" model already has early-access demand: old share 0.8,
    # so the half-life is the first day the share is <= 0.4, i.e. 0.5 ** (d / 10) <= 0.4
    got = world(tmp_path, 10, pre_new=250.0)
    assert got["pre_release_old_share"][0] == pytest.approx(0.8)
    import math

    assert got["half_life_days"][0] == math.ceil(10 * math.log2(1 / 0.4))
