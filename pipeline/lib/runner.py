"""Run the whole Dagster job in-process from the CLI, and summarise what it did."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

JOB = "servicelens_all"


def _instance():
    import dagster as dg

    # With DAGSTER_HOME set (the Makefile sets it), runs land in the same history that
    # `dagster dev` shows; without it they are ephemeral.
    return dg.DagsterInstance.get() if os.environ.get("DAGSTER_HOME") else dg.DagsterInstance.ephemeral()


def run_config(raw_dir: Path, warehouse: Path, memory_limit: str = "3GB", log_level: str = "INFO") -> dict:
    return {
        "resources": {
            "paths": {"config": {"raw_dir": str(raw_dir), "warehouse": str(warehouse), "memory_limit": memory_limit}},
            "duckdb": {"config": {"database": str(warehouse)}},
        },
        "loggers": {"console": {"config": {"log_level": log_level}}},
    }


def run_pipeline(raw_dir: Path, warehouse: Path, memory_limit: str = "3GB", echo: Callable[[str], None] = print, log_level: str = "INFO") -> bool:
    """Materialize every asset for one drop. Returns True when the run and all checks passed."""
    from pipeline.definitions import defs

    started = time.perf_counter()
    job = defs().resolve_job_def(JOB)
    with _instance() as instance:
        result = job.execute_in_process(
            run_config=run_config(raw_dir, warehouse, memory_limit, log_level), instance=instance, raise_on_error=False
        )
    elapsed = time.perf_counter() - started
    if not result.success:
        for ev in result.all_events:
            if ev.is_step_failure:
                echo(f"FAILED {ev.step_key}: {ev.step_failure_data.error.message.strip() if ev.step_failure_data.error else ''}")
        echo(f"run failed after {elapsed:.1f} s; the previous warehouse at {warehouse} is unchanged")
        return False
    failed_checks = [
        ev.asset_check_evaluation_data
        for ev in result.all_events
        if ev.event_type_value == "ASSET_CHECK_EVALUATION" and not ev.asset_check_evaluation_data.passed
    ]
    echo(summary(warehouse))
    for chk in failed_checks:
        echo(f"check {chk.check_name} on {chk.asset_key.to_user_string()} FAILED ({chk.severity.value})")
    echo(f"done in {elapsed:.1f} s. Warehouse: {warehouse}")
    for mat in result.asset_materializations_for_node("quarterly_report"):
        meta = mat.metadata
        for label in ("html", "pdf"):
            if label in meta:
                value = meta[label].value if hasattr(meta[label], "value") else meta[label]
                echo(f"  report {label}: {value}")
    echo("  query it:   servicelens query \"select * from marts.ingest_audit\"   (or: duckdb " + str(warehouse) + ")")
    echo("  see it:     make ui   (Dagster UI at http://127.0.0.1:3000, every asset materialized)")
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
    finally:
        con.close()
    lines = [f"{'dataset':<16}{'files':>6}{'read':>13}{'loaded':>13}{'quarantined':>13}{'duplicate':>11}{'unreadable':>11}"]
    lines += [f"{d:<16}{f:>6}{r:>13,}{l:>13,}{q:>13,}{du:>11,}{e:>11}" for d, f, r, l, q, du, e in rows]
    if reasons:
        lines.append("quarantined by reason: " + "; ".join(f"{d}/{c} {n:,}" for d, c, n in reasons))
    return "\n".join(lines)
