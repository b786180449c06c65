"""When `servicelens_all` runs by itself: a quarterly schedule, and a sensor that starts a run
when a new drop appears in the configured raw folder (the `paths` resource, so
SERVICELENS_RAW_DIR or data/raw). Both are STOPPED by default: nothing runs until someone
turns them on in the UI (Automation), and either needs the daemon that `make ui` starts."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import dagster as dg

from pipeline.defs.resources import ServicelensPaths

JOB = "servicelens_all"
# 06:00 UTC on the first day of each quarter: the closed quarter's drop is complete by then.
QUARTERLY_CRON = "0 6 1 1,4,7,10 *"
# A drop whose newest file is younger than this may still be being copied in: wait for the
# next evaluation rather than ingesting half a drop.
SETTLE_SECONDS = 60

quarterly_schedule = dg.ScheduleDefinition(
    name="servicelens_quarterly",
    cron_schedule=QUARTERLY_CRON,
    execution_timezone="UTC",
    job_name=JOB,
    default_status=dg.DefaultScheduleStatus.STOPPED,
    description="Rebuild the warehouse from the raw folder at the start of every quarter.",
)


def drop_fingerprint(raw: Path) -> tuple[str, int, float]:
    """(fingerprint, file count, newest mtime) of the files under `raw`, hidden ones aside.
    The fingerprint hashes every file's path, size and mtime, so a new, removed, replaced or
    rewritten file changes it; an unchanged drop keeps it across evaluations."""
    digest = hashlib.sha256()
    count, newest = 0, 0.0
    for path in sorted(raw.rglob("*")):
        rel = path.relative_to(raw)
        if any(part.startswith(".") for part in rel.parts) or not path.is_file():
            continue
        st = path.stat()
        digest.update(f"{rel.as_posix()}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
        count += 1
        newest = max(newest, st.st_mtime)
    return digest.hexdigest()[:16], count, newest


@dg.sensor(
    name="servicelens_new_drop",
    job_name=JOB,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.STOPPED,
    description="Run servicelens_all when the files in the raw folder change (a new drop).",
)
def new_drop_sensor(context: dg.SensorEvaluationContext, paths: ServicelensPaths):
    raw = paths.raw
    if not raw.is_dir():
        return dg.SkipReason(f"raw folder {raw} does not exist")
    fingerprint, count, newest = drop_fingerprint(raw)
    if count == 0:
        return dg.SkipReason(f"raw folder {raw} is empty")
    if fingerprint == context.cursor:
        return dg.SkipReason(f"no new drop in {raw} ({count} files, unchanged since the last run request)")
    age = time.time() - newest
    if age < SETTLE_SECONDS:
        return dg.SkipReason(f"drop in {raw} changed {age:.0f} s ago; waiting until it has been still for {SETTLE_SECONDS} s")
    context.update_cursor(fingerprint)
    return dg.RunRequest(
        run_key=f"drop-{fingerprint}",
        tags={"servicelens/raw_dir": str(raw), "servicelens/drop": fingerprint, "servicelens/drop_files": str(count)},
    )


@dg.definitions
def automation_defs() -> dg.Definitions:
    return dg.Definitions(schedules=[quarterly_schedule], sensors=[new_drop_sensor])
