"""Reading a replay partial back (pipeline/lib/routing/marts.py read_partials): every day's rows
with their day, in day order, whether the days' files share one schema (one scan) or not (an
older day written with other types: each file apart, types relaxed)."""

from __future__ import annotations

import datetime as dt

import polars as pl

from pipeline.lib.routing.layout import day_dir, partial_dir
from pipeline.lib.routing.marts import read_partials


def _write(root, day: str, frame: pl.DataFrame, name: str = "daily", part: int = 0) -> None:
    folder = day_dir(partial_dir(root, name), dt.date.fromisoformat(day))
    folder.mkdir(parents=True, exist_ok=True)
    frame.write_parquet(folder / f"data_{part}.parquet")


def test_days_in_order_with_their_date_whatever_order_they_were_written(tmp_path):
    _write(tmp_path, "2025-10-03", pl.DataFrame({"model": ["c"], "routed": [3.0]}))
    _write(tmp_path, "2025-10-01", pl.DataFrame({"model": ["a", "b"], "routed": [1.0, 2.0]}))
    _write(tmp_path, "2025-10-01", pl.DataFrame({"model": ["a2"], "routed": [1.5]}), part=1)
    _write(
        tmp_path,
        "2025-10-02",
        pl.DataFrame({"model": [], "routed": []}, schema={"model": pl.String, "routed": pl.Float64}),
    )
    got = read_partials(tmp_path, "daily")
    assert got.columns == ["date", "model", "routed"]
    assert got.schema["date"] == pl.Date
    assert got.rows() == [
        (dt.date(2025, 10, 1), "a", 1.0),
        (dt.date(2025, 10, 1), "b", 2.0),
        (dt.date(2025, 10, 1), "a2", 1.5),
        (dt.date(2025, 10, 3), "c", 3.0),
    ]


def test_days_written_with_other_types_are_read_relaxed(tmp_path):
    # an older day holding an integer where newer days hold floats
    _write(
        tmp_path,
        "2025-10-01",
        pl.DataFrame({"model": ["a"], "routed": [1]}, schema={"model": pl.String, "routed": pl.Int32}),
    )
    _write(tmp_path, "2025-10-02", pl.DataFrame({"model": ["b"], "routed": [2.5]}))
    got = read_partials(tmp_path, "daily")
    assert got.schema == {"date": pl.Date, "model": pl.String, "routed": pl.Float64}
    assert got.rows() == [(dt.date(2025, 10, 1), "a", 1.0), (dt.date(2025, 10, 2), "b", 2.5)]


def test_no_day_or_only_empty_days_read_as_an_empty_frame(tmp_path):
    assert read_partials(tmp_path, "daily").shape == (0, 0)
    _write(tmp_path, "2025-10-01", pl.DataFrame({"model": []}, schema={"model": pl.String}))
    assert read_partials(tmp_path, "daily").shape == (0, 0)


def test_a_day_filter_reads_only_the_days_it_keeps(tmp_path):
    for day, model in (("2025-10-01", "a"), ("2025-10-02", "b"), ("2025-10-03", "c")):
        _write(tmp_path, day, pl.DataFrame({"model": [model]}), name="application_daily")
    got = read_partials(tmp_path, "application_daily", lambda d: d >= dt.date(2025, 10, 2))
    assert got.rows() == [(dt.date(2025, 10, 2), "b"), (dt.date(2025, 10, 3), "c")]
    assert read_partials(tmp_path, "application_daily", lambda d: d.year == 2026).shape == (0, 0)
