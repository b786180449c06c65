"""Shared pieces of the price-table importers (litellm_prices, genai_prices): finding dated
snapshot files, the report that counts the fate of every source row per file, its
aggregated report lines, reading a source value as a number or a token count, keeping one
key per (provider, model) and snapshot, and writing the drop with the fate totals checked.
Turning the kept keys into prices, endpoints and models is in price_series.

A snapshot is one JSON file whose date (YYYY-MM-DD) is in its name or the nearest folder name
above it; snapshot_ts = that date at SNAPSHOT_TIME (UTC).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from pipeline.lib.importers import ImportIssue, ImportReport, check_paths, write_drop
from pipeline.lib.importers.aliases import Resolution

SNAPSHOT_TIME = dt.time(0, 0)  # snapshot_ts / valid_from = the snapshot date at this UTC time
DATE_IN_NAME = re.compile(r"(?<!\d)(\d{4}-\d{2}-\d{2})(?!\d)")
NATIVE_CONTEXT = "model card (aliases.py)"  # context_length_source when the source has no limit

SKIP_TEXT = {
    "not_a_model": "skipped: sample_spec documents the fields and is not a model",
    "not_chat": "skipped: mode is not chat, completion or responses (embeddings, images, audio, rerank ...)",
    "non_target": "skipped: not a model family the project studies",
    "closed": "skipped: a target family's developer but not open weights (qwen-max, moonshot-v1, mistral-medium ...)",
    "derivative": "skipped: third-party fine-tunes or merges of target models",
    "out_of_scope": "skipped: open weights but not a chat model studied (guard, embedding, base, OCR ...)",
}
UNCHANGED_TEXT = (
    "no new prices row: the price equals the one in force, written at an earlier snapshot "
    "(the endpoint state continues)"
)
AGGREGATED_TEXT = {**SKIP_TEXT, "unchanged": UNCHANGED_TEXT}  # fates reported as one line per snapshot


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


def resolution_fate(res: Resolution, where: str) -> tuple[str, str]:
    """The fate of a key the alias map does not place (status other than ok): a target family's
    unknown spelling is listed (with `where` naming the key), any other class is skipped."""
    if res.status == "unmapped":
        return "listed", f"{res.reason} {where}"
    return "skipped", res.status


def as_number(value) -> float | None | str:
    """A finite number, None when absent, or the string 'bad' for anything else."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return "bad"
    return float(value)


def as_count(value) -> int | None | str:
    """A whole number >= 1, None when absent, or 'bad'."""
    n = as_number(value)
    if n is None or n == "bad":
        return n
    return int(n) if n == int(n) and n >= 1 else "bad"


def choose(candidates: list[dict]) -> tuple[list[dict], list[tuple[dict, dict]]]:
    """One candidate per (provider, model): the standard offering (see litellm_prices).
    Returns (kept, [(dropped, kept instead)])."""
    groups: dict[tuple[str, str], list[dict]] = {}
    for c in candidates:
        groups.setdefault((c["provider"], c["model"]), []).append(c)
    kept, dropped = [], []
    for group in groups.values():
        group.sort(key=lambda c: (c["_rank"], "/" not in c["_key"], len(c["_key"]), c["_key"]))
        kept.append(group[0])
        dropped += [(c, group[0]) for c in group[1:]]
    return kept, dropped


def dropped_reason(c: dict, winner: dict) -> str:
    return (
        f"duplicate_offering: key {c['_key']!r} and the kept key {winner['_key']!r} both map to "
        f"({c['provider']}, {c['model']}) in this snapshot; the kept one is the standard offering"
    )


class KeyFates:
    """The fates of one snapshot's source rows as they are mapped: candidates kept, rows listed
    in the report (in row order), skipped rows counted by reason code."""

    def __init__(self, file: str, report: ImportReport):
        self.file, self.report = file, report
        self.candidates: list[dict] = []
        self.skipped: Counter = Counter()
        self.listed = 0

    def add(self, row: int, fate: str, value) -> None:
        """`fate` "kept" (value: the candidate), "listed" (value: the report text) or "skipped"
        (value: the reason code)."""
        if fate == "kept":
            self.candidates.append(value)
        elif fate == "listed":
            self.report.issues.append(ImportIssue(self.file, row, value))
            self.listed += 1
        else:
            self.skipped[value] += 1

    def finish(self) -> tuple[list[dict], Counter]:
        """(one candidate per (provider, model), the skip counts with `listed`), after listing
        the candidates dropped as duplicate offerings."""
        kept, dropped = choose(self.candidates)
        for c, winner in dropped:
            self.report.issues.append(ImportIssue(self.file, c["_row"], dropped_reason(c, winner)))
        self.skipped["listed"] = self.listed + len(dropped)
        return kept, self.skipped


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
