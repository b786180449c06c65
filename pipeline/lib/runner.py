"""Run the whole Dagster job in-process from the CLI, and summarise what it did and what it published."""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from dagster._core.storage.tags import REPOSITORY_LABEL_TAG

from pipeline.lib.generations import Store, WarehouseBusy, check_not_busy

JOB = "servicelens_all"


def _instance():
    import dagster as dg

    # With DAGSTER_HOME set (the Makefile sets it), runs land in the same history that
    # `dagster dev` shows; without it they are ephemeral.
    return dg.DagsterInstance.get() if os.environ.get("DAGSTER_HOME") else dg.DagsterInstance.ephemeral()


# Runs launched from the UI carry this tag; a CLI run needs it too to be listed under the job.
REPOSITORY_LABEL = "__repository__@servicelens"


def run_config(raw_dir: Path, warehouse: Path, memory_limit: str = "3GB", log_level: str = "INFO",
               keep_generations: int | None = None) -> dict:
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
            raise WarehouseBusy(f"another servicelens run ({fh.read().strip() or 'unknown process'}) is building "
                                f"{store.warehouse}: wait for it to finish") from None
        fh.seek(0)
        fh.truncate()
        fh.write(f"PID {os.getpid()}")
        fh.flush()
        yield
    finally:
        fh.close()


def run_pipeline(raw_dir: Path, warehouse: Path, memory_limit: str = "3GB", echo: Callable[[str], None] = print,
                 log_level: str = "INFO", keep_generations: int | None = None) -> bool:
    """Materialize every asset for one drop and publish the result as a new generation of the
    warehouse. Returns True when the run, its checks and the publish succeeded; otherwise
    readers still see what they saw before, and the last line says so."""
    from pipeline.definitions import defs

    started = time.perf_counter()
    store = Store(Path(warehouse))
    before = store.current()
    try:
        check_not_busy(store)  # fail before the work, not after it
        with run_lock(store), _instance() as instance:
            result = defs().resolve_job_def(JOB).execute_in_process(
                run_config=run_config(raw_dir, warehouse, memory_limit, log_level, keep_generations), instance=instance,
                raise_on_error=False, tags={REPOSITORY_LABEL_TAG: REPOSITORY_LABEL},
            )
    except WarehouseBusy as exc:
        echo(f"Error: {exc}")
        return False
    elapsed = time.perf_counter() - started
    published = result.asset_materializations_for_node("published_warehouse")
    failed_checks = [
        ev.asset_check_evaluation_data
        for ev in result.all_events
        if ev.event_type_value == "ASSET_CHECK_EVALUATION" and not ev.asset_check_evaluation_data.passed
    ]
    if not result.success or not published:
        for ev in result.all_events:
            if ev.is_step_failure:
                error = ev.step_failure_data.error
                echo(f"FAILED {ev.step_key}: {error.message.strip() if error else ''}")
        for chk in failed_checks:
            echo(f"check {chk.check_name} on {chk.asset_key.to_user_string()} FAILED ({chk.severity.value})")
        now = store.current()
        seen = f"generation {now}" if now else "no warehouse (none was ever published)"
        echo(f"run failed after {elapsed:.1f} s; nothing was published: readers of {warehouse} still see {seen}"
             + ("" if now == before else f" (published by another process meanwhile; was {before})"))
        return False
    echo(summary(warehouse))
    for chk in failed_checks:
        echo(f"check {chk.check_name} on {chk.asset_key.to_user_string()} FAILED ({chk.severity.value})")
    meta = published[-1].metadata
    value = lambda k: meta[k].value if hasattr(meta[k], "value") else meta[k]  # noqa: E731
    echo(f"done in {elapsed:.1f} s. Warehouse: {warehouse} (generation {value('generation')}; previous: {value('previous generation')})")
    for label in ("html", "pdf"):
        if f"report {label}" in meta:
            echo(f"  report {label}: {value(f'report {label}')}")
    echo(f"  query it:   servicelens query \"select * from marts.ingest_audit\" --warehouse {warehouse}   (or: duckdb -readonly {warehouse})")
    echo("  see it:     make ui   (Dagster UI at http://127.0.0.1:3000, every asset materialized)")
    echo(f"  roll back:  servicelens generations rollback --warehouse {warehouse}   ({value('generations kept')} generations kept)")
    return not any(c.severity.value == "ERROR" for c in failed_checks)


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
    lines = [f"{'dataset':<16}{'files':>6}{'read':>13}{'loaded':>13}{'quarantined':>13}{'duplicate':>11}{'unreadable':>11}"]
    lines += [f"{d:<16}{f:>6}{r:>13,}{l:>13,}{q:>13,}{du:>11,}{e:>11}" for d, f, r, l, q, du, e in rows]
    if reasons:
        lines.append("quarantined by reason: " + "; ".join(f"{d}/{c} {n:,}" for d, c, n in reasons))
    for source_file, error in unreadable[:UNREADABLE_SHOWN]:
        lines.append(f"unreadable: {printable(source_file)}: {printable(error)}")
    if len(unreadable) > UNREADABLE_SHOWN:
        lines.append(f"unreadable: {len(unreadable) - UNREADABLE_SHOWN} more (select * from marts.ingest_audit where file_error is not null)")
    return "\n".join(lines)


UNREADABLE_SHOWN = 10


def printable(text: str, limit: int = 160) -> str:
    """A file name or message from a drop, safe for a terminal: control characters (escape
    sequences included) shown as `?`, cut to `limit` characters."""
    clean = "".join(ch if ch.isprintable() else "?" for ch in str(text))
    return clean if len(clean) <= limit else clean[: limit - 1] + "…"
