"""Shared pieces of the price-table importers (litellm_prices, genai_prices): finding dated
snapshot files, the report that counts the fate of every source row per file, its
aggregated report lines, and writing the drop with the fate totals checked.

A snapshot is one JSON file whose date (YYYY-MM-DD) is in its name or the nearest folder name
above it; snapshot_ts = that date at SNAPSHOT_TIME (UTC).
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from pipeline.lib.importers import ImportIssue, ImportReport, check_paths, write_drop

SNAPSHOT_TIME = dt.time(0, 0)  # snapshot_ts / valid_from = the snapshot date at this UTC time
DATE_IN_NAME = re.compile(r"(?<!\d)(\d{4}-\d{2}-\d{2})(?!\d)")


@dataclass
class SnapshotImportReport(ImportReport):
    """ImportReport plus the fate of every source row (key) per file: `priced` (a prices
    row written), `unchanged` (the price in force repeated), a skip reason code (aggregated
    in the report), or `listed` (a report line of its own). The fates of a file sum to its
    keys, and rows_read = the sum over files."""

    fates: dict[str, Counter] = field(default_factory=dict)
    scheduled_rows: int = 0  # prices rows from dated changes announced inside a snapshot (genai-prices)

    def fate_totals(self) -> Counter:
        total: Counter = Counter()
        for c in self.fates.values():
            total.update(c)
        return total


@dataclass(frozen=True)
class Snapshot:
    date: dt.date
    path: Path

    @property
    def ts(self) -> dt.datetime:
        return dt.datetime.combine(self.date, SNAPSHOT_TIME)

    @property
    def label(self) -> str:
        return self.path.parent.name if DATE_IN_NAME.search(self.path.parent.name) else self.path.name


def snapshot_date(path: Path) -> dt.date | None:
    """The date in the file name, else in the nearest folder name above it."""
    for part in (path.name, *(p.name for p in path.parents)):
        m = DATE_IN_NAME.search(part)
        if m:
            try:
                return dt.date.fromisoformat(m.group(1))
            except ValueError:
                return None
    return None


def find_snapshot_files(paths: list[Path], name: re.Pattern, what: str) -> list[Path]:
    """JSON files named by `paths`: files as given, folders searched recursively for
    files whose name matches `name`. Each file once, in path order."""
    check_paths(paths)
    files: dict[str, Path] = {}
    for p in map(Path, paths):
        found = [p] if p.is_file() else sorted(f for f in p.rglob("*.json") if name.search(f.name))
        for f in found:
            files.setdefault(str(f.resolve()), f)
    if not files:
        raise ValueError(f"no {what} files found in: {', '.join(map(str, paths))}")
    return sorted(files.values(), key=lambda f: str(f))


def dated_snapshots(files: list[Path], report: ImportReport) -> list[Snapshot]:
    """Snapshots in date order; a file without a date, or a second file with the date of
    an earlier one, is a file-level issue."""
    by_date: dict[dt.date, Path] = {}
    for f in files:
        d = snapshot_date(f)
        if d is None:
            report.issues.append(
                ImportIssue(
                    str(f), None, "missing: snapshot date (no YYYY-MM-DD in the file or folder name); file skipped"
                )
            )
        elif d in by_date:
            report.issues.append(
                ImportIssue(str(f), None, f"conflict: another snapshot has the date {d} ({by_date[d]}); file skipped")
            )
        else:
            by_date[d] = f
    return [Snapshot(d, by_date[d]) for d in sorted(by_date)]


def add_aggregates(report: SnapshotImportReport, file: str, texts: dict[str, str]) -> None:
    """One report line (row empty) per fate of the file that `texts` describes, with its count."""
    counts = report.fates[file]
    for code in sorted(c for c in counts if c in texts):
        report.issues.append(
            ImportIssue(file, None, f"{code}: {counts[code]} keys, {texts[code]} (aggregated, not listed one by one)")
        )


def write_prices_drop(
    report: SnapshotImportReport, out_name: str, prices: pl.DataFrame, endpoints: pl.DataFrame, models: pl.DataFrame
) -> SnapshotImportReport:
    """Write out/{models,endpoints,prices}/<out_name>.parquet and the report, then check that
    every key has one fate, that the prices rows are the priced keys plus the scheduled
    changes, and that the listed keys are the report's rows."""
    write_drop(report, out_name, {"models": models, "endpoints": endpoints, "prices": prices})
    totals = report.fate_totals()
    assert sum(totals.values()) == report.rows_read, (totals, report.rows_read)
    assert totals["priced"] + report.scheduled_rows == report.rows_written["prices"]
    assert totals["listed"] == report.rows_reported
    return report
