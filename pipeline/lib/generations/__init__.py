"""Generations: a run publishes one complete warehouse or nothing.

What a reader sees (the DuckDB file, its views, the Parquet record beside it) is one
*generation*, a folder that is never changed once built. Two symlinks that never move lead
readers through one pointer, `current`, and publishing is one atomic rename of that pointer:

    <dir>/wh.duckdb   -> wh.store/current/wh.duckdb
    <dir>/wh/         -> wh.store/current/parquet
    <dir>/wh.store/
        current       -> generations/<name>           the one thing a publish changes
        generations/<name>/{wh.duckdb, parquet/, reports/, generation.json}
        work/         the assets' working Parquet (Dagster's materializations; readers never look here)
        history.jsonl one line per publication: what `current` pointed to, and when

A generation's Parquet is a hard-linked snapshot of `work/` (no bytes copied); that is safe
because nothing in the pipeline writes a file in place (every write is a new file renamed
over the old name, which leaves the linked copy alone). A run killed at any moment leaves
`current` as it was; its half-built generation and temporary files are removed by the next
publish. The last few published generations are kept for comparison and rollback.

By what each part does: store (layout, pointer, history), build, publish (and roll back).
"""

from __future__ import annotations

from pipeline.lib.generations.build import (
    PRIVATE,
    finish_generation,
    new_generation_name,
    pending_reports,
    record_report,
    snapshot,
    start_generation,
)
from pipeline.lib.generations.publish import check_not_busy, clean_work, prune, publish, rollback, writer_holding
from pipeline.lib.generations.store import DEFAULT_KEEP, GENERATION_META, GenerationError, Store, WarehouseBusy

__all__ = [
    "DEFAULT_KEEP",
    "GENERATION_META",
    "GenerationError",
    "Store",
    "WarehouseBusy",
    "PRIVATE",
    "finish_generation",
    "new_generation_name",
    "pending_reports",
    "record_report",
    "snapshot",
    "start_generation",
    "check_not_busy",
    "clean_work",
    "prune",
    "publish",
    "rollback",
    "writer_holding",
]
