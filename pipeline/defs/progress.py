"""Progress a terminal user can follow during a long run: one line per finished step, with how
many of the run's steps are done, and the span of days a partitioned run builds. The UI shows the
same from the run's own events (each partitioned asset's page counts its materialized days).

Only the CLI configures this logger (`servicelens run`); runs launched from the UI keep
Dagster's default loggers."""

from __future__ import annotations

import logging
import os
import sys
import tempfile
import time
from pathlib import Path

import dagster as dg
from dagster._core.storage.tags import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
)

# On the multiprocess executor each step reports from its own process, with its own logger: the
# steps done are counted in a file per run that every process appends one byte to. An O_APPEND
# write places its byte at the end atomically and leaves the descriptor's offset just past it,
# so that offset is this step's count (the file's size, read after, could include another's).
COUNTERS = Path(tempfile.gettempdir()) / f"servicelens-progress-{os.getuid()}"
STALE_S = 86_400


def count_step_done(run_id: str) -> int:
    COUNTERS.mkdir(parents=True, exist_ok=True)
    fd = os.open(COUNTERS / run_id, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, b".")
        return os.lseek(fd, 0, os.SEEK_CUR)
    finally:
        os.close(fd)


def forget_counter(run_id: str) -> None:
    """The run's counter, and any a killed run left a day ago."""
    if not COUNTERS.is_dir():
        return
    now = time.time()
    for f in COUNTERS.iterdir():
        try:
            if f.name == run_id or now - f.stat().st_mtime > STALE_S:
                f.unlink()
        except OSError:
            pass


class _StepProgress(logging.Handler):
    def __init__(self, total: int, stream) -> None:
        super().__init__(level=logging.DEBUG)
        self.total, self.stream = total, stream

    def emit(self, record: logging.LogRecord) -> None:
        meta = getattr(record, "dagster_meta", None) or {}
        event = meta.get("dagster_event")
        if event is None:
            return
        run_id = str(meta.get("run_id") or "run")
        if event.event_type_value == "PIPELINE_START":
            forget_counter(run_id)
            tags = meta.get("job_tags") or {}
            first, last = tags.get(ASSET_PARTITION_RANGE_START_TAG), tags.get(ASSET_PARTITION_RANGE_END_TAG)
            days = f", days {first}..{last}" if first else ""
            self._say(f"{meta.get('job_name')}: {self.total} steps{days}")
        elif event.is_step_success or event.is_step_failure:
            try:
                done = str(count_step_done(run_id))
            except OSError:  # no temp folder to count in: the line without the count
                done = "?"
            seconds = event.step_success_data.duration_ms / 1000 if event.is_step_success else None
            how = f"done in {seconds:.1f} s" if seconds is not None else "FAILED"
            self._say(f"[{done}/{self.total}] {event.step_key} {how}")
        elif event.event_type_value in ("PIPELINE_SUCCESS", "PIPELINE_FAILURE", "PIPELINE_CANCELED"):
            forget_counter(run_id)

    def _say(self, line: str) -> None:
        try:
            self.stream.write(f"progress: {line}\n")
            self.stream.flush()
        except (OSError, ValueError):  # a closed or broken pipe must not fail the run
            pass


@dg.logger(
    config_schema={"total_steps": dg.Field(int, default_value=0, description="Steps the run will execute.")},
    description="One line per finished step on stderr: [done/total] step and its seconds.",
)
def step_progress_logger(init_context: dg.InitLoggerContext) -> logging.Logger:
    logger = logging.Logger("servicelens.progress", level=logging.DEBUG)
    logger.addHandler(_StepProgress(init_context.logger_config["total_steps"], sys.stderr))
    return logger


defs = dg.Definitions(loggers={"console": dg.colored_console_logger, "progress": step_progress_logger})
