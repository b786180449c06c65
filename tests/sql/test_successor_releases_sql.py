"""marts.successor_releases on a hand-made version_inertia worked out by hand."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from tests.sql.report_marts import build, declared


def curve(old: str, new: str, release: dt.date, half_life: float | None, ci: bool = True) -> list[dict]:
    """Days -1..2 of a pair: the pair's values repeated on every day."""
    return [
        {
            "family": "fam",
            "old_model": old,
            "new_model": new,
            "release_date": release,
            "days_since_release": d,
            "old_share": 1.0 - 0.2 * max(d, 0),
            "pre_release_old_share": 0.96,
            "half_life_days": half_life,
            **(
                {"half_life_ci_low": half_life and half_life - 1, "half_life_ci_high": half_life and half_life + 2}
                if ci
                else {}
            ),
        }
        for d in (-1, 0, 1, 2)
    ]


def summary() -> pl.DataFrame:
    return pl.DataFrame(
        {"period": ["2025Q4"], "family": ["fam"], "superseded_share_last_7_days": [0.25]},
    )


def test_one_row_per_pair_with_its_quarter(tmp_path):
    rows = curve("a1", "a2", dt.date(2025, 11, 1), 4.5) + curve("b1", "b2", dt.date(2025, 9, 30), None)
    got = build(tmp_path, "successor_releases", version_inertia=pl.DataFrame(rows), version_inertia_summary=summary())
    assert got.columns == declared("successor_releases")
    # one row per pair (not per day): a2 released in Q4 (Nov 1), b2 in Q3 (Sep 30)
    assert got.select("period", "old_model", "new_model").rows() == [("2025Q3", "b1", "b2"), ("2025Q4", "a1", "a2")]
    a = got.row(1, named=True)
    assert (a["pre_release_old_share"], a["half_life_days"], a["half_life_ci_low"], a["half_life_ci_high"]) == (
        pytest.approx(0.96),
        4.5,
        3.5,
        6.5,
    )
    # the family's superseded share at the end of the release's quarter; Q3 has no summary row
    assert (a["superseded_share_last_7_days"], got.row(0, named=True)["superseded_share_last_7_days"]) == (0.25, None)
    assert got.row(0, named=True)["half_life_days"] is None


def test_a_mart_from_before_the_intervals_reads_them_as_null(tmp_path):
    rows = curve("a1", "a2", dt.date(2025, 11, 1), 2, ci=False)  # an integer half-life, no interval columns
    got = build(tmp_path, "successor_releases", version_inertia=pl.DataFrame(rows))
    r = got.row(0, named=True)
    assert (r["half_life_days"], r["half_life_ci_low"], r["half_life_ci_high"]) == (2.0, None, None)
    assert got.schema["half_life_days"] == pl.Float64


def test_without_version_inertia_it_is_empty(tmp_path):
    got = build(tmp_path, "successor_releases")
    assert got.height == 0 and got.columns == declared("successor_releases")
