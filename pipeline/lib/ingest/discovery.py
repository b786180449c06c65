"""Finding a dataset's files in a drop (issue 1): every file under <dataset>/, its format by suffix,
symbolic links refused."""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

# Columns DuckDB's readers add on request (read_parquet/read_csv filename, file_row_number,
# file_index) or tables carry (rowid): staged data may never have a column of that name,
# or a later read_parquet(..., filename = true) of staging would clash with it.
READER_COLUMNS = {"filename", "file_row_number", "file_index", "rowid"}


GLOB_CHARS = set("*?[]{}")


SYMLINK_ERROR = "symbolic link: not followed"


FORMATS = {".parquet": "parquet", ".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}


@dataclass(frozen=True)
class SourceFile:
    path: Path
    rel: str  # path relative to the drop folder: what audit and quarantine show
    fmt: str
    hive: dict[str, str] = field(default_factory=dict)
    error: str | None = None  # set for an entry that is never read (a symlink, a fifo, ...)


def discover(raw_dir: Path, dataset: str) -> list[SourceFile]:
    """Regular files of one dataset, sorted by relative path (the order that decides which of
    two rows with one key was seen first). Names starting with `_` or `.` are ignored; entries
    that are never read (symlinks, fifos, ...) are left out here, see discover_all."""
    return [sf for sf in discover_all(raw_dir, dataset) if sf.error is None]


def discover_all(raw_dir: Path, dataset: str) -> list[SourceFile]:
    """Every entry of a dataset folder that gets an audit row: the regular files, plus one
    entry with `error` set per symbolic link (file or folder, the dataset folder itself
    included: links are never followed), per other non-regular file and per folder that
    cannot be listed. Sorted by relative path."""
    base = Path(raw_dir) / dataset
    if os.path.islink(base):
        return [SourceFile(base, dataset, "symlink", {}, SYMLINK_ERROR)]
    if not base.is_dir():
        return []
    out: list[SourceFile] = []

    def unlistable(exc: OSError) -> None:
        if exc.filename and os.path.abspath(exc.filename) != os.path.abspath(base):
            out.append(
                _entry(base, dataset, exc.filename, "unknown", f"folder cannot be listed: {exc.strerror or exc}")
            )

    for dirpath, dirnames, filenames in os.walk(base, followlinks=False, onerror=unlistable):
        dirnames[:] = _subfolders(base, dataset, dirpath, dirnames, out)
        out += [_file_entry(base, dataset, os.path.join(dirpath, f)) for f in filenames if not _ignored(f)]
    return sorted(out, key=lambda sf: sf.rel)


def _ignored(name: str) -> bool:
    """Names starting with `_` or `.` are not part of the data (_manifest.json, .DS_Store, ...)."""
    return name.startswith(("_", "."))


def _subfolders(base: Path, dataset: str, dirpath: str, dirnames: list[str], out: list[SourceFile]) -> list[str]:
    """The folders of `dirpath` to walk into, sorted; a symbolic link to a folder is not walked
    into but gets an entry in `out`."""
    keep = []
    for d in sorted(dirnames):
        if _ignored(d):
            continue
        full = os.path.join(dirpath, d)
        if os.path.islink(full):
            out.append(_entry(base, dataset, full, "symlink", SYMLINK_ERROR))
        else:
            keep.append(d)
    return keep


def _file_entry(base: Path, dataset: str, full: str) -> SourceFile:
    """The entry of a non-folder: a regular file to read, or why it is never read."""
    try:
        mode = os.lstat(full).st_mode
    except OSError as exc:
        return _entry(base, dataset, full, "unknown", f"cannot be read: {exc.strerror or exc}")
    if stat.S_ISLNK(mode):
        return _entry(base, dataset, full, "symlink", SYMLINK_ERROR)
    if not stat.S_ISREG(mode):
        return _entry(base, dataset, full, "unknown", "not a regular file (fifo, socket or device): not read")
    return _entry(base, dataset, full)


def _entry(base: Path, dataset: str, full: str, fmt: str | None = None, error: str | None = None) -> SourceFile:
    """The SourceFile of the entry at `full` under the dataset folder `base`: its path relative to
    the drop, its format (by suffix unless given) and hive partition values. A name that is not
    valid UTF-8 is shown with replacement characters and never read."""
    rel_parts = Path(os.path.relpath(full, base)).parts
    rel = f"{dataset}/{'/'.join(rel_parts)}"
    try:
        rel.encode("utf-8")
    except UnicodeEncodeError:
        rel = rel.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
        fmt, error = fmt or "unknown", error or "file name is not valid UTF-8: rename it to be read"
    if fmt is None:
        fmt = FORMATS.get(os.path.splitext(full)[1].lower(), "unknown")
    hive = dict(p.split("=", 1) for p in rel_parts[:-1] if "=" in p)
    return SourceFile(Path(full), rel, fmt, hive, error)
