"""The quarterly schedule and the new-drop sensor, evaluated directly (no daemon, no run)."""

from __future__ import annotations

import os
import time
from datetime import UTC

import dagster as dg
import pytest

from pipeline.defs.automation import (
    QUARTERLY_CRON,
    SETTLE_SECONDS,
    new_drop_sensor,
    quarterly_schedule,
)
from pipeline.defs.resources import ServicelensPaths


def _age(path, seconds=SETTLE_SECONDS + 60):
    """Backdate a file so it counts as settled."""
    t = time.time() - seconds
    os.utime(path, (t, t))


def _write(path, text="x"):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    _age(path)
    return path


def _evaluate(raw, cursor=None):
    """One sensor tick: (result, cursor afterwards)."""
    ctx = dg.build_sensor_context(cursor=cursor, resources={"paths": ServicelensPaths(raw_dir=str(raw))})
    result = new_drop_sensor(ctx)
    return result, ctx.cursor


class TestNewDropSensor:
    def test_requests_a_run_per_new_drop_and_skips_an_unchanged_one(self, tmp_path):
        raw = tmp_path / "raw"
        _write(raw / "requests" / "date=2025-10-01" / "a.csv")
        _write(raw / "models" / "models.csv")

        first, cursor = _evaluate(raw)
        assert isinstance(first, dg.RunRequest) and cursor
        assert first.run_key == f"drop-{cursor}" and first.tags["servicelens/drop_files"] == "2"

        second, cursor2 = _evaluate(raw, cursor)
        assert isinstance(second, dg.SkipReason) and "no new drop" in second.skip_message
        assert cursor2 == cursor

        _write(raw / "requests" / "date=2025-10-02" / "b.csv")
        third, cursor3 = _evaluate(raw, cursor)
        assert isinstance(third, dg.RunRequest) and cursor3 != cursor and third.run_key != first.run_key

    def test_a_rewritten_file_is_a_new_drop(self, tmp_path):
        raw = tmp_path / "raw"
        f = _write(raw / "prices" / "p.csv", "a")
        _, cursor = _evaluate(raw)
        _write(f, "ab")
        assert isinstance(_evaluate(raw, cursor)[0], dg.RunRequest)

    def test_hidden_files_are_not_a_drop(self, tmp_path):
        raw = tmp_path / "raw"
        _write(raw / "models" / "m.csv")
        _, cursor = _evaluate(raw)
        _write(raw / ".DS_Store")
        _write(raw / "models" / ".m.csv.partial")
        assert isinstance(_evaluate(raw, cursor)[0], dg.SkipReason)

    def test_waits_while_the_drop_is_still_being_written(self, tmp_path):
        raw = tmp_path / "raw"
        _write(raw / "models" / "m.csv")
        (raw / "requests").mkdir()
        (raw / "requests" / "fresh.csv").write_text("x", encoding="utf-8")  # mtime now
        result, cursor = _evaluate(raw)
        assert isinstance(result, dg.SkipReason) and "waiting" in result.skip_message
        assert cursor is None  # not consumed: the next tick still sees it as new
        _age(raw / "requests" / "fresh.csv")
        assert isinstance(_evaluate(raw, cursor)[0], dg.RunRequest)

    @pytest.mark.parametrize(
        ("make", "says"),
        [
            (lambda raw: None, "does not exist"),  # the configured folder is missing
            (lambda raw: (raw / "requests").mkdir(parents=True), "is empty"),  # folders, no files
        ],
    )
    def test_missing_or_empty_folder_skips_saying_so(self, tmp_path, make, says):
        raw = tmp_path / "raw"
        make(raw)
        result, cursor = _evaluate(raw)
        assert isinstance(result, dg.SkipReason) and says in result.skip_message and str(raw) in result.skip_message
        assert cursor is None

    def test_watches_the_configured_raw_folder_and_targets_the_job(self):
        from pipeline.definitions import defs

        repo = defs().get_repository_def()
        sensor = repo.get_sensor_def("servicelens_new_drop")
        assert sensor.job_name == "servicelens_prepare"  # then servicelens_changed_days builds the days
        assert sensor.default_status == dg.DefaultSensorStatus.STOPPED
        assert 30 <= sensor.minimum_interval_seconds <= 600
        assert "paths" in sensor.required_resource_keys


class TestQuarterlySchedule:
    def test_runs_the_job_at_the_start_of_each_quarter_and_is_off_by_default(self):
        from pipeline.definitions import defs

        schedule = defs().get_repository_def().get_schedule_def("servicelens_quarterly")
        assert schedule is not None and schedule.job_name == "servicelens_prepare"
        assert schedule.cron_schedule == QUARTERLY_CRON == quarterly_schedule.cron_schedule
        assert schedule.default_status == dg.DefaultScheduleStatus.STOPPED
        minute, hour, day, months, weekday = QUARTERLY_CRON.split()
        assert (day, months, weekday) == ("1", "1,4,7,10", "*")

    def test_next_ticks_fall_on_quarter_starts(self):
        from datetime import datetime

        from dagster._utils.schedules import cron_string_iterator

        start = datetime(2025, 11, 15, tzinfo=UTC).timestamp()
        ticks = cron_string_iterator(start, QUARTERLY_CRON, "UTC")
        got = [next(ticks).strftime("%Y-%m-%d %H:%M") for _ in range(4)]
        assert got == ["2026-01-01 06:00", "2026-04-01 06:00", "2026-07-01 06:00", "2026-10-01 06:00"]


class TestChangedDaysSensor:
    def test_a_successful_prepare_run_requests_the_build_of_the_changed_days(self, tiny_drop, tmp_path):
        from pipeline.defs.automation import build_request
        from pipeline.defs.partitions import DAYS
        from pipeline.lib.runner import job, run_config

        warehouse = tmp_path / "wh.duckdb"
        with dg.DagsterInstance.ephemeral() as instance:
            cfg = run_config(tiny_drop, warehouse, log_level="ERROR")
            prepared = job("servicelens_prepare").execute_in_process(run_config=cfg, instance=instance)
            result = build_request(instance.get_run_by_id(prepared.run_id), instance)
            # nothing published yet: every day with rows in the tiny drop (tests/fixtures.py: requests on
            # 2025-09-30, 10-01 and 10-02 UTC, compat probes on 10-01) is new
            (request,) = result.run_requests
            paths = request.run_config["resources"]["paths"]["config"]
            assert request.job_name == "servicelens_build"
            assert paths == {
                **cfg["resources"]["paths"]["config"],
                "build_days": "2025-09-30..2025-10-02",
                "recount_days": "",
            }
            assert (
                request.tags["dagster/asset_partition_range_start"],
                request.tags["dagster/asset_partition_range_end"],
            ) == ("2025-09-30", "2025-10-02")
            (add,) = result.dynamic_partitions_requests
            assert add.partitions_def_name == DAYS.name and sorted(add.partition_keys) == [
                "2025-09-30",
                "2025-10-01",
                "2025-10-02",
            ]
