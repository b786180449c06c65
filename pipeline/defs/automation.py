"""When servicelens runs by itself, as `servicelens run` does from the CLI, in two steps:
- `servicelens_new_drop` (sensor) and `servicelens_quarterly` (schedule) start
  `servicelens_prepare` when the files in the configured raw folder change (the `paths`
  resource, so SERVICELENS_RAW_DIR or data/raw) or a quarter begins;
- `servicelens_changed_days` (run-status sensor), when a prepare run succeeds, adds the drop's
  new days as partitions and requests `servicelens_build` for the days whose inputs changed
  since the published generation (pipeline/lib/plan.py), with the prepare run's configuration.
All three are STOPPED by default: nothing runs until someone turns them on in the UI
(Automation), and they need the daemon that `make ui` starts."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import dagster as dg

from pipeline.defs.marts.assets import prepare_job
from pipeline.defs.resources import ServicelensPaths, default_paths

JOB = "servicelens_prepare"
BUILD_JOB = "servicelens_build"
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
    description="Run servicelens_prepare when the files in the raw folder change (a new drop); servicelens_changed_days "
    "then builds the days that changed.",
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
        return dg.SkipReason(
            f"drop in {raw} changed {age:.0f} s ago; waiting until it has been still for {SETTLE_SECONDS} s"
        )
    context.update_cursor(fingerprint)
    return dg.RunRequest(
        run_key=f"drop-{fingerprint}",
        tags={"servicelens/raw_dir": str(raw), "servicelens/drop": fingerprint, "servicelens/drop_files": str(count)},
    )


@dg.run_status_sensor(
    name="servicelens_changed_days",
    run_status=dg.DagsterRunStatus.SUCCESS,
    monitored_jobs=[prepare_job],
    default_status=dg.DefaultSensorStatus.STOPPED,
    description="When servicelens_prepare succeeds: add the drop's new days as partitions and run servicelens_build for "
    "the days whose inputs changed since the published generation.",
)
def changed_days_sensor(context: dg.RunStatusSensorContext):
    return build_request(context.dagster_run, context.instance)


def build_request(prepare_run, instance) -> dg.SensorResult | dg.SkipReason:
    """The build a successful prepare run calls for: a run of servicelens_build over the range of
    days that changed (the new ones added as partitions), with the prepare run's configuration."""
    from pipeline.defs.partitions import DAYS
    from pipeline.lib.generations import Store
    from pipeline.lib.plan import drop_fingerprint, plan
    from pipeline.lib.runner import build_range, with_build_days

    cfg = prepare_run.run_config or {}
    warehouse = ((cfg.get("resources", {}).get("paths", {}) or {}).get("config", {}) or {}).get(
        "warehouse"
    ) or default_paths().warehouse
    store = Store(Path(warehouse))
    current = store.current()
    built = store.meta(current) if current else {}
    if built.get("drop_fingerprint") == drop_fingerprint(store.work):
        return dg.SkipReason(f"the drop is unchanged since generation {current}")
    todo = plan(store.work, built.get("day_signatures"), built_inputs=built.get("day_inputs"))
    days = build_range(todo)
    tags = {"servicelens/prepare_run": prepare_run.run_id, "servicelens/days": str(len(todo.dirty))}
    known = set(instance.get_dynamic_partitions(DAYS.name))
    new = sorted(set(days) - known)
    order = {k: i for i, k in enumerate([*instance.get_dynamic_partitions(DAYS.name), *new])}
    if days:
        tags |= {
            "dagster/asset_partition_range_start": min(days, key=order.__getitem__),
            "dagster/asset_partition_range_end": max(days, key=order.__getitem__),
        }
    selection = None
    if not days:  # only the dimensions changed: the marts and what follows them
        from pipeline.lib.runner import job, unpartitioned_keys

        selection = unpartitioned_keys(job(BUILD_JOB))
    request = dg.RunRequest(
        run_key=f"build-{prepare_run.run_id}",
        job_name=BUILD_JOB,
        run_config=with_build_days(cfg, todo),
        tags=tags,
        asset_selection=selection,
    )
    return dg.SensorResult(
        run_requests=[request], dynamic_partitions_requests=[DAYS.build_add_request(new)] if new else []
    )


@dg.definitions
def automation_defs() -> dg.Definitions:
    return dg.Definitions(schedules=[quarterly_schedule], sensors=[new_drop_sensor, changed_days_sensor])
