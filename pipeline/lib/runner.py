"""Run the whole Dagster job in-process from the CLI, and summarise what it did and what it published."""

from __future__ import annotations

import fcntl
import os
import shlex
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from dagster._core.storage.tags import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
    REPOSITORY_LABEL_TAG,
)

from pipeline.defs.partitions import DAYS
from pipeline.lib.generations import Store, WarehouseBusy, check_not_busy, clean_work
from pipeline.lib.plan import NO_DAYS, Plan, day_spans, drop_fingerprint, plan


class RunRefused(RuntimeError):
    """The run cannot start as configured; nothing was touched."""


def cluster_executor() -> str | None:
    """`celery` or `k8s` when SERVICELENS_EXECUTOR sends the steps to workers (pipeline/defs/executors.py)."""
    kind = os.environ.get("SERVICELENS_EXECUTOR", "").strip().lower()
    return kind if kind in ("celery", "k8s") else None


def _instance(processes: int = 1):
    import dagster as dg

    if cluster_executor() and not os.environ.get("DAGSTER_HOME"):
        raise RunRefused(
            f"SERVICELENS_EXECUTOR={cluster_executor()} needs DAGSTER_HOME: the workers report to that instance"
        )

    # With DAGSTER_HOME set (the Makefile sets it), runs land in the same history that
    # `dagster dev` shows; without it they are ephemeral (on disk for several processes, which
    # share the instance's storage).
    if os.environ.get("DAGSTER_HOME"):
        return dg.DagsterInstance.get()
    return dg.DagsterInstance.local_temp() if processes > 1 else dg.DagsterInstance.ephemeral()


# The jobs the multiprocess executor's forkserver loaded before forking its step processes
# (pipeline/lib/step_preload.py); empty in every other process, which loads them when asked.
PRELOADED: dict = {}


def job(name: str):
    """The job `name` of the definitions: a module-level function, so Dagster can load it again
    in every process of the multiprocess executor (dagster.reconstructable)."""
    if name in PRELOADED:
        return PRELOADED[name]
    from pipeline.definitions import defs

    return defs().resolve_job_def(name)


def prepare_job():
    return job("servicelens_prepare")


def build_job():
    return job("servicelens_build")


# Runs launched from the UI carry this tag; a CLI run needs it too to be listed under the job.
REPOSITORY_LABEL = "__repository__@servicelens"


def run_config(
    raw_dir: Path,
    warehouse: Path,
    memory_limit: str = "3GB",
    log_level: str = "INFO",
    keep_generations: int | None = None,
) -> dict:
    paths = {"raw_dir": str(raw_dir), "warehouse": str(warehouse), "memory_limit": memory_limit}
    if keep_generations is not None:
        paths["keep_generations"] = keep_generations
    return {
        "resources": {
            "paths": {"config": paths},
            "duckdb": {"config": {"database": str(warehouse)}},
        },
        "loggers": {"console": {"config": {"log_level": log_level}}},
    }


@contextmanager
def run_lock(store: Store) -> Iterator[None]:
    """One CLI run per warehouse at a time: both would write the same working Parquet."""
    store.base.mkdir(parents=True, exist_ok=True)
    fh = (store.base / "run.lock").open("a+")
    try:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            raise WarehouseBusy(
                f"another servicelens run ({fh.read().strip() or 'unknown process'}) is building "
                f"{store.warehouse}: wait for it to finish"
            ) from None
        fh.seek(0)
        fh.truncate()
        fh.write(f"PID {os.getpid()}")
        fh.flush()
        yield
    finally:
        fh.close()


def check_drop_apart(raw_dir: Path, store: Store) -> None:
    """Refuse a drop that lies where the warehouse keeps its Parquet link or its store: publishing
    would take the drop's folder for a warehouse written before generations and move it away."""
    raw = Path(os.path.abspath(raw_dir))
    for place in (Path(os.path.abspath(store.parquet_link)), Path(os.path.abspath(store.base))):
        if raw == place or place in raw.parents:
            raise RunRefused(
                f"the drop {raw_dir} lies where the warehouse keeps its Parquet ({place}): "
                "put the drop or the warehouse elsewhere"
            )


def run_pipeline(
    raw_dir: Path,
    warehouse: Path,
    memory_limit: str = "3GB",
    echo: Callable[[str], None] = print,
    log_level: str = "INFO",
    keep_generations: int | None = None,
    full: bool = False,
    days: tuple[str, str] | None = None,
    processes: int = 1,
) -> bool:
    """Bring the warehouse up to the drop and publish the result as a new generation. Two
    Dagster runs: `servicelens_prepare` (inventory, dimensions, the parse cache), then
    `servicelens_build` for the days whose inputs changed since the published generation (all of
    them with `full`; plus the span `days`, a backfill), and the marts, warehouse, report and publish. Returns True when both runs,
    their checks and the publish succeeded, or when the drop is unchanged; otherwise readers
    still see what they saw before, and the last line says so. With processes > 1 the build runs
    on Dagster's multiprocess executor (each asset step in its own process)."""
    started = time.perf_counter()
    store = Store(Path(warehouse))
    before = store.current()
    cfg = run_config(raw_dir, warehouse, memory_limit, log_level, keep_generations)
    try:
        check_not_busy(store)  # fail before the work, not after it
        check_drop_apart(Path(raw_dir), store)
        with run_lock(store), _instance(processes) as instance:
            prepared = _execute("servicelens_prepare", cfg, instance)
            if not prepared.success:
                return _failed(prepared, store, before, warehouse, started, echo)
            built = store.meta(before) if before else {}
            fingerprint = drop_fingerprint(store.work)
            if not full and days is None and built.get("drop_fingerprint") == fingerprint:
                clean_work(store)  # what killed runs left; publishing would have done it
                echo(
                    f"the drop is unchanged since generation {before}: nothing to build "
                    f"({time.perf_counter() - started:.1f} s; `servicelens run --full` rebuilds every day)"
                )
                return True
            todo = plan(
                store.work, built.get("day_signatures"), full=full, force=days, built_inputs=built.get("day_inputs")
            )
            echo(describe(todo))
            result = _execute(
                "servicelens_build", with_build_days(cfg, todo), instance, days=build_range(todo), processes=processes
            )
    except (WarehouseBusy, RunRefused) as exc:
        echo(f"Error: {exc}")
        return False
    published = result.asset_materializations_for_node("published_warehouse")
    if not result.success or not published:
        return _failed(result, store, before, warehouse, started, echo)
    failed_checks = _failed_checks(result)
    echo(summary(warehouse))
    for chk in failed_checks:
        if chk.severity.value == "WARN":  # a warning is news for the reader, not a failed run
            echo(f"warning: check {chk.check_name} on {chk.asset_key.to_user_string()} did not pass (see its metadata)")
        else:
            echo(f"check {chk.check_name} on {chk.asset_key.to_user_string()} FAILED ({chk.severity.value})")
    meta = published[-1].metadata
    value = lambda k: meta[k].value if hasattr(meta[k], "value") else meta[k]  # noqa: E731
    elapsed = time.perf_counter() - started
    work = step_seconds(prepared) + step_seconds(result)
    if (
        processes == 1 and not cluster_executor()
    ):  # steps in one process run one after the other: the rest is orchestration
        echo(
            f"time: {elapsed:.1f} s = {work:.1f} s in asset steps + {elapsed - work:.1f} s orchestration (two Dagster runs, "
            f"{len(todo.dirty)} of {len(todo.days)} days)"
        )
    slowest = sorted(step_durations(prepared) + step_durations(result), key=lambda kv: -kv[1])[:5]
    echo("slowest steps: " + ", ".join(f"{k} {v:.1f} s" for k, v in slowest))
    echo(
        f"done in {elapsed:.1f} s. Warehouse: {warehouse} "
        f"(generation {value('generation')}; previous: {value('previous generation')})"
    )
    for label in ("html", "pdf"):
        if f"report {label}" in meta:
            echo(f"  report {label}: {value(f'report {label}')}")
    for line in next_steps(warehouse, value("generations kept")):
        echo(line)
    return not any(c.severity.value == "ERROR" for c in failed_checks)


def next_steps(warehouse: Path, generations_kept: int) -> list[str]:
    """The commands a user runs next, with the warehouse's path quoted for a POSIX shell (a path
    may hold spaces, quotes or $): each line can be pasted as printed."""
    wh = shlex.quote(str(warehouse))
    return [
        f'  query it:   servicelens query "select * from marts.ingest_audit" --warehouse {wh}   (or: duckdb -readonly {wh})',
        "  see it:     make ui   (Dagster UI at http://127.0.0.1:3000, every asset materialized)",
        f"  roll back:  servicelens generations rollback --warehouse {wh}   ({generations_kept} generations kept)",
    ]


def with_build_days(cfg: dict, todo: Plan) -> dict:
    """`cfg` telling the build's partitioned assets which days of its range to build and which
    to recount: the range runs from the first to the last of them, they may be scattered over it."""
    if not todo.dirty and not todo.recount:
        return cfg
    paths = {
        **cfg.get("resources", {}).get("paths", {}).get("config", {}),
        "build_days": day_spans(todo.dirty) or NO_DAYS,
        "recount_days": day_spans(list(todo.recount)),
    }
    return {**cfg, "resources": {**cfg.get("resources", {}), "paths": {"config": paths}}}


def build_range(todo: Plan) -> list[str]:
    """The days the build's partition range must hold: the days to build, or when there are
    none but days to recount, one of those (stg_requests counts them, a partition must run it)."""
    return sorted(todo.dirty) or sorted(todo.recount)[-1:]


def describe(todo: Plan) -> str:
    """One line: how many days the build takes, of how many, and why."""
    recounted = (
        f"; {len(todo.recount)} days recounted, not rebuilt (their new rows repeat rows already loaded)"
        if todo.recount
        else ""
    )
    if not todo.dirty:
        return (
            f"plan: no day to build of {len(todo.days)}{recounted}; rebuilding the marts, the warehouse and the report"
        )
    why: dict[str, int] = {}
    for d in todo.dirty:
        why[todo.reasons.get(d, "changed")] = why.get(todo.reasons.get(d, "changed"), 0) + 1
    spans = day_spans(todo.dirty).split(",")
    span = ", ".join(spans) if len(spans) <= 4 else f"{', '.join(spans[:3])}, ... {spans[-1]}"
    return (
        f"plan: {len(todo.dirty)} of {len(todo.days)} days to build ({span}; "
        + ", ".join(f"{n} {reason}" for reason, n in why.items())
        + ")"
        + recounted
    )


def _execute(name: str, cfg: dict, instance, days: list[str] | None = None, processes: int = 1):
    """One run of the job `name`; for the build, over the partition range that holds `days`
    (new days are added to the instance's partitions first), or over its unpartitioned assets
    only when no day changed. In this process, or on the multiprocess executor."""
    import dagster as dg

    job_def = job(name)
    tags = {REPOSITORY_LABEL_TAG: REPOSITORY_LABEL}
    selection = None
    if days is not None:
        if days:
            known = set(instance.get_dynamic_partitions(DAYS.name))
            new = sorted(set(days) - known)
            if new:
                instance.add_dynamic_partitions(DAYS.name, new)
            order = {k: i for i, k in enumerate(instance.get_dynamic_partitions(DAYS.name))}
            first, last = min(days, key=order.__getitem__), max(days, key=order.__getitem__)
            tags |= {ASSET_PARTITION_RANGE_START_TAG: first, ASSET_PARTITION_RANGE_END_TAG: last}
        else:
            selection = unpartitioned_keys(job_def)
    steps = len((job_def.get_subset(asset_selection=set(selection)) if selection else job_def).graph.nodes)
    cfg = {**cfg, "loggers": {**cfg["loggers"], "progress": {"config": {"total_steps": steps}}}}
    if processes > 1 or cluster_executor():
        target = dg.reconstructable(prepare_job if name == "servicelens_prepare" else build_job)
        run_config = (
            cfg
            if cluster_executor()
            else {**cfg, "execution": {"config": {"multiprocess": multiprocess_config(processes)}}}
        )
        return dg.execute_job(target, instance, run_config=run_config, tags=tags, asset_selection=selection)
    return job_def.execute_in_process(
        run_config=cfg, instance=instance, raise_on_error=False, tags=tags, asset_selection=selection
    )


def multiprocess_config(processes: int) -> dict:
    """Dagster's multiprocess executor, its step processes forked from a server that has loaded
    Dagster, the definitions and the jobs once (pipeline/lib/step_preload.py) rather than each
    spawned fresh, which loads them again: about 1.5 s a step."""
    return {
        "max_concurrent": processes,
        "start_method": {"forkserver": {"preload_modules": ["pipeline.lib.step_preload"]}},
    }


def unpartitioned_keys(job_def) -> list:
    """The assets of a job that take no partition: the build when no day changed (the dimensions
    did: the marts, the warehouse, the report and the publish still run)."""
    graph = job_def.asset_layer.asset_graph
    return sorted(
        (k for k in job_def.asset_layer.executable_asset_keys if graph.get(k).partitions_def is None),
        key=lambda k: k.to_user_string(),
    )


def step_durations(result) -> list[tuple[str, float]]:
    """Each successful step of a run and its compute seconds, as Dagster measured them."""
    return [(ev.step_key, ev.step_success_data.duration_ms / 1000) for ev in result.all_events if ev.is_step_success]


def step_seconds(result) -> float:
    """The time a run spent inside its steps."""
    return sum(s for _, s in step_durations(result))


def _failed_checks(result) -> list:
    return [
        ev.asset_check_evaluation_data
        for ev in result.all_events
        if ev.event_type_value == "ASSET_CHECK_EVALUATION" and not ev.asset_check_evaluation_data.passed
    ]


def _failed(
    result, store: Store, before: str | None, warehouse: Path, started: float, echo: Callable[[str], None]
) -> bool:
    for ev in result.all_events:
        if ev.is_step_failure:
            error = ev.step_failure_data.error
            echo(f"FAILED {ev.step_key}: {error.message.strip() if error else ''}")
    for chk in _failed_checks(result):
        echo(f"check {chk.check_name} on {chk.asset_key.to_user_string()} FAILED ({chk.severity.value})")
    now = store.current()
    seen = f"generation {now}" if now else "no warehouse (none was ever published)"
    echo(
        f"run failed after {time.perf_counter() - started:.1f} s; nothing was published: readers of {warehouse} still see {seen}"
        + ("" if now == before else f" (published by another process meanwhile; was {before})")
    )
    return False


def summary(warehouse: Path) -> str:
    import duckdb

    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        rows = con.execute(
            "select dataset, count(*) as files, sum(rows_read), sum(rows_loaded), sum(rows_quarantined), sum(rows_duplicate), "
            "count(file_error) from marts.ingest_audit group by all order by dataset"
        ).fetchall()
        reasons = con.execute(
            "select dataset, split_part(reason, ':', 1) as code, count(*) from marts.quarantine group by all order by 1, 3 desc"
        ).fetchall()
        unreadable = con.execute(
            "select source_file, file_error from marts.ingest_audit where file_error is not null order by all"
        ).fetchall()
    finally:
        con.close()
    lines = [
        f"{'dataset':<16}{'files':>6}{'read':>13}{'loaded':>13}{'quarantined':>13}{'duplicate':>11}{'unreadable':>11}"
    ]
    lines += [f"{d:<16}{f:>6}{r:>13,}{ld:>13,}{q:>13,}{du:>11,}{e:>11}" for d, f, r, ld, q, du, e in rows]
    if reasons:
        lines.append("quarantined by reason: " + "; ".join(f"{d}/{c} {n:,}" for d, c, n in reasons))
    for source_file, error in unreadable[:UNREADABLE_SHOWN]:
        lines.append(f"unreadable: {printable(source_file)}: {printable(error)}")
    if len(unreadable) > UNREADABLE_SHOWN:
        lines.append(
            f"unreadable: {len(unreadable) - UNREADABLE_SHOWN} more (select * from marts.ingest_audit where file_error is not null)"
        )
    return "\n".join(lines)


UNREADABLE_SHOWN = 10


def printable(text: str, limit: int = 160) -> str:
    """A file name or message from a drop, safe for a terminal: control characters (escape
    sequences included) shown as `?`, cut to `limit` characters."""
    clean = "".join(ch if ch.isprintable() else "?" for ch in str(text))
    return clean if len(clean) <= limit else clean[: limit - 1] + "…"
