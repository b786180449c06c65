"""marts.run_parameters states the settings the code runs with, and the replay's own settings as
the replay recorded them (not the defaults)."""

from __future__ import annotations

import polars as pl

from pipeline.lib import regimes
from pipeline.lib.marts.run_parameters import build_run_parameters
from pipeline.lib.stats import INTERVAL_LEVEL, N_BOOT
from pipeline.paths import marts_file


def _values(root) -> dict:
    return {
        r["name"]: r["value_num"] if r["value_num"] is not None else r["value"]
        for r in build_run_parameters(root).iter_rows(named=True)
    }


def test_the_replay_settings_are_read_from_what_the_replay_wrote(tmp_path):
    out = marts_file(tmp_path, "routing_sensitivity")
    out.parent.mkdir(parents=True)
    # two variants; the run used 120-minute buckets, the point rule and a 0.8 threshold
    pl.DataFrame(
        {
            "bucket_minutes": [120, 240],
            "availability_confidence": [0.0, 0.0],
            "min_success": [0.8, 0.8],
            "is_run_setting": [True, False],
        }
    ).write_parquet(out)
    got = _values(tmp_path)
    assert (got["routing_bucket_minutes"], got["routing_availability_confidence"], got["routing_min_success"]) == (
        120,
        0.0,
        0.8,
    )
    assert got["interval_level"] == INTERVAL_LEVEL and got["bootstrap_resamples"] == N_BOOT
    assert got["regime_long_context_input_p50"] == regimes.LONG_CONTEXT_INPUT_P50


def test_without_a_replay_the_replay_settings_are_null(tmp_path):
    got = _values(tmp_path)
    assert got["routing_bucket_minutes"] is None and got["routing_min_success"] is None
