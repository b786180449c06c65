"""marts.half_life_summary on hand-made successor releases worked out by hand."""

from __future__ import annotations

import polars as pl
import pytest

from tests.sql.report_marts import build, declared


def releases(rows: list[tuple[str, str, float | None]]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "period": [p for p, _, _ in rows],
            "new_model": [m for _, m, _ in rows],
            "half_life_days": [h for *_, h in rows],
        },
        schema={"period": pl.Utf8, "new_model": pl.Utf8, "half_life_days": pl.Float64},
    )


def test_releases_and_their_half_lives_per_quarter(tmp_path):
    rows = [
        ("2025Q4", "a", 10.0),
        ("2025Q4", "b", 22.0),
        ("2025Q4", "c", 13.0),
        ("2025Q4", "d", None),  # no fit
        ("2025Q3", "e", None),
    ]
    got = build(tmp_path, "half_life_summary", successor_releases=releases(rows))
    assert got.columns == declared("half_life_summary")
    by_period = {r["period"]: r for r in got.iter_rows(named=True)}
    # 2025Q4: 4 releases, 3 fitted, 1 not; mean (10 + 22 + 13) / 3 = 15, from 10 to 22
    q4 = by_period["2025Q4"]
    assert (q4["successor_releases"], q4["releases_with_half_life"], q4["releases_without_half_life"]) == (4, 3, 1)
    assert (q4["mean_half_life_days"], q4["min_half_life_days"], q4["max_half_life_days"]) == (
        pytest.approx(15.0),
        10.0,
        22.0,
    )
    # 2025Q3: one release, no fit: no mean
    q3 = by_period["2025Q3"]
    assert (q3["successor_releases"], q3["releases_with_half_life"], q3["mean_half_life_days"]) == (1, 0, None)


def test_without_releases_it_is_empty(tmp_path):
    got = build(tmp_path, "half_life_summary")
    assert got.height == 0 and got.columns == declared("half_life_summary")
