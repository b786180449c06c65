"""Where a replay's per-day partials live, and how a day's folder is swapped into place."""

from __future__ import annotations

import ctypes
import datetime as dt
import os
import shutil
import uuid
from collections.abc import Iterable
from pathlib import Path

import polars as pl

from pipeline.paths import staging_dir

# per-day partials under the working root, one hive folder per day (date=YYYY-MM-DD)
PARTIALS = {
    "daily": ("core", "core_routing__daily"),
    "policy_daily": ("core", "core_routing__policy_daily"),
    "groups": ("marts", "routing_groups"),
    "sensitivity": ("core", "core_routing__sensitivity"),  # pipeline/lib/routing/sensitivity.py
    "cache_rates": ("marts", "routing_cache_rates"),  # published: what the view routing_decisions imputes with
    "validation": ("core", "core_routing__validation"),  # what the replay assumes vs the logs (replay_validation)
    "capacity": ("core", "core_routing__capacity"),  # where each policy sends each hour (routing_capacity)
    # per application, what replaying a fixed provider order needs (marts.routing_recommendations)
    "application_daily": ("core", "core_routing__application_daily"),
}


DECISIONS = ("marts", "routing_decisions")  # per-request decisions, only when asked for


SEGMENTS_MART = "routing_segments"  # marts/routing_segments.parquet


MAX_CANDIDATES = 62  # a fit mask is a BIGINT


def partial_dir(root: Path, name: str) -> Path:
    """The folder of one per-day partial table: `daily`, `policy_daily`, `groups`, `decisions`."""
    return Path(root).joinpath(*(DECISIONS if name == "decisions" else PARTIALS[name]))


def day_dir(folder: Path, day: dt.date) -> Path:
    return folder / f"date={day.isoformat()}"


def folder_days(folder: Path) -> list[dt.date]:
    days = []
    if folder.is_dir():
        for p in folder.iterdir():
            if p.is_dir() and p.name.startswith("date="):
                try:
                    days.append(dt.date.fromisoformat(p.name.removeprefix("date=")))
                except ValueError:
                    continue
    return sorted(days)


def staged_days(root: Path) -> list[dt.date]:
    """The days with staged requests (their hive `date=` folders), in order."""
    folder = staging_dir(root, "requests")
    return [d for d in folder_days(folder) if any(day_dir(folder, d).glob("*.parquet"))]


def day_files(root: Path, dataset: str, days: Iterable[dt.date]) -> list[str]:
    folder = staging_dir(root, dataset)
    return [str(f) for d in sorted(set(days)) for f in sorted(day_dir(folder, d).glob("*.parquet"))]


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one atomic step (Linux renameat2 with RENAME_EXCHANGE); False where
    the platform or file system cannot."""
    try:
        fn = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return False
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    at_fdcwd, rename_exchange = -100, 2
    return fn(at_fdcwd, os.fsencode(str(a)), at_fdcwd, os.fsencode(str(b)), rename_exchange) == 0


def replace_dir(new: Path | None, target: Path) -> None:
    """Put the finished folder `new` where `target` is, atomically: a reader sees the old folder
    or the new one, never neither (the two are exchanged in one rename, then the old one is
    removed; where exchange is unsupported, two renames). new=None removes `target`."""
    target.parent.mkdir(parents=True, exist_ok=True)
    if new is not None and target.exists() and _exchange(new, target):
        shutil.rmtree(new, ignore_errors=True)  # `new` now names the old folder
        return
    old = target.with_name(f".{target.name}.old-{uuid.uuid4().hex[:8]}")
    if target.exists():
        target.rename(old)
    if new is not None:
        new.rename(target)
    shutil.rmtree(old, ignore_errors=True)


def write_day_frames(df: pl.DataFrame, folder: Path) -> None:
    """A frame with a `date` column as one hive folder per day under `folder` (date in the path)."""
    for (day,), part in df.group_by(["date"]):
        out = day_dir(folder, day)
        out.mkdir(parents=True, exist_ok=True)
        part.drop("date").write_parquet(out / "part-0.parquet")
