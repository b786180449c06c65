"""Version inertia on constructed decays whose half-life is known in closed form. Noise-free
shares fit exactly, so the fitted half-life is the constructed one and its interval has no
width; a fit on noisy shares is checked in tests/lib/test_inertia.py."""

from __future__ import annotations

import datetime as dt
import math

import polars as pl
import pytest

from pipeline.lib.demand import publish_inertia
from pipeline.lib.duck import connect
from pipeline.sql import load_sql

T0 = dt.date(2025, 11, 1)


def day_mean(d: int, h: float) -> float:
    """The mean of 0.5 ** (t / h) over t in [d, d + 1): (0.5 ** (d / h) - 0.5 ** ((d + 1) / h)) h / ln 2."""
    return (0.5 ** (d / h) - 0.5 ** ((d + 1) / h)) * h / math.log(2)


def first_below(level: float, h: float) -> int:
    """The first day whose mean share is at or below `level`."""
    return next(d for d in range(10_000) if day_mean(d, h) <= level)


def world(
    tmp_path,
    half_life: float | None,
    pre_new: float = 0.0,
    t0: dt.date = T0,
    first: dt.date = dt.date(2025, 10, 1),
    last: dt.date = dt.date(2025, 12, 31),
):
    """The old variant keeps 0.5 ** (t / h) of the pair's demand at time t (days since the start
    of the release day t0): its demand on day d is 1000 x the mean of that over the day (1000
    before the release), the new one takes the rest, on the days first..last; `half_life=None`:
    the new variant never takes over."""
    rows = []
    for d in range(-200, 200):
        day = t0 + dt.timedelta(days=d)
        if not (first <= day <= last):
            continue
        old = 1000.0 if d < 0 or half_life is None else 1000.0 * day_mean(d, half_life)
        new = pre_new if d < 0 else (0.0 if half_life is None else 1000.0 - old)
        rows += [(day, "fam", "old", "p", old, 0.0), (day, "fam", "new", "p", new, 0.0)]
    daily = pl.DataFrame(rows, schema=["date", "family", "model", "provider", "requests", "tokens"], orient="row")
    models = pl.DataFrame(
        {
            "model": ["old", "new", "older"],
            "family": ["fam"] * 3,
            "release_date": [dt.date(2025, 5, 1), t0, dt.date(2025, 1, 1)],
            "successor_of": [None, "old", None],
        }
    )
    d, m = tmp_path / "daily.parquet", tmp_path / "models.parquet"
    daily.write_parquet(d)
    models.write_parquet(m)
    con = connect()
    series = con.execute(
        load_sql("marts/version_inertia"), {"daily": str(d), "models": str(m), "before": 14, "after": 60}
    ).pl()
    return publish_inertia(series, after=60)


def one(got: pl.DataFrame, column: str):
    values = got[column].unique().to_list()
    assert len(values) == 1, values
    return values[0]


@pytest.mark.parametrize("h", [5, 10, 21])
def test_half_life_of_an_exponential_decay(tmp_path, h):
    got = world(tmp_path, h)
    assert one(got, "half_life_days") == pytest.approx(h, rel=1e-5)
    assert (one(got, "half_life_ci_low"), one(got, "half_life_ci_high")) == (
        pytest.approx(h, rel=1e-4),
        pytest.approx(h, rel=1e-4),
    )
    assert one(got, "half_life_first_below_days") == first_below(0.5, h)
    assert one(got, "half_life_fit_days") == 61  # days 0..60, the last day of the data
    # the share follows the constructed curve: day 2h holds the mean of 0.5 ** (t / h) over the day
    row = got.filter(pl.col("days_since_release") == 2 * h)
    assert row["old_share"][0] == pytest.approx(day_mean(2 * h, h))


def test_window_is_minus_14_to_plus_60_within_the_data(tmp_path):
    got = world(tmp_path, 10)
    days = got["days_since_release"].to_list()
    # Nov 1 + 60 days is Dec 31, the last day of the data; Oct 18 (day -14) is inside it
    assert min(days) == -14 and max(days) == (dt.date(2025, 12, 31) - T0).days == 60


def test_no_half_life_when_the_successor_never_takes_over(tmp_path):
    got = world(tmp_path, None)
    assert (one(got, "half_life_days"), one(got, "half_life_ci_low"), one(got, "half_life_first_below_days")) == (
        None,
        None,
        None,
    )


def test_half_of_the_pre_release_mean_not_of_one(tmp_path):
    # before the release the "new" model already has early-access demand: old share 0.8,
    # so the half-life is where 0.5 ** (t / 10) = 0.4: t = 10 log2(2.5) = 13.22 days
    got = world(tmp_path, 10, pre_new=250.0)
    assert got["pre_release_old_share"][0] == pytest.approx(0.8)
    assert one(got, "half_life_days") == pytest.approx(10 * math.log2(2.5), rel=1e-5)
    assert one(got, "half_life_first_below_days") == first_below(0.4, 10)


def test_half_life_found_past_the_published_window(tmp_path):
    # h = 70 > the +60 rows published: the search runs on to the end of the data (Dec 31 is
    # day 91 after an Oct 1 release), so the half-life is 70, not null
    got = world(tmp_path, 70, t0=dt.date(2025, 10, 1), first=dt.date(2025, 9, 1))
    assert one(got, "half_life_days") == pytest.approx(70, rel=1e-5) and one(
        got, "half_life_first_below_days"
    ) == first_below(0.5, 70)
    assert got["days_since_release"].max() == 60 and one(got, "half_life_fit_days") == 92


def test_a_fit_reaches_past_the_data_but_not_far(tmp_path):
    # data ends at day 60: the share never reaches half, but the fit does, at 70 (within twice
    # the last day fitted); at h = 130 it would be more than twice as far out: null
    got = world(tmp_path, 70, t0=dt.date(2025, 11, 1))
    assert one(got, "half_life_days") == pytest.approx(70, rel=1e-5) and one(got, "half_life_first_below_days") is None
    assert one(world(tmp_path, 130, t0=dt.date(2025, 11, 1)), "half_life_days") is None


def test_pair_released_before_the_data_has_shares_but_no_half_life(tmp_path):
    # released Sep 21, data from Oct 1: days 10..60 are published with the decay's shares;
    # days -7..-1 are not in the data, so there is no pre-release mean and no half-life
    got = world(tmp_path, 10, t0=dt.date(2025, 9, 21))
    days = got["days_since_release"].to_list()
    assert (min(days), max(days)) == (10, 60)
    assert got.filter(pl.col("days_since_release") == 20)["old_share"][0] == pytest.approx(day_mean(20, 10))
    assert got["pre_release_old_share"].unique().to_list() == [None]
    assert (one(got, "half_life_days"), one(got, "half_life_first_below_days")) == (None, None)


def test_pair_released_more_than_60_days_before_the_data_is_left_out(tmp_path):
    assert world(tmp_path, 10, t0=dt.date(2025, 7, 31)).height == 0  # day +62 is Oct 1
