"""What a Parquet record holds, as DuckDB reads it: the staged datasets and the marts (a file
each, or a folder of day partitions), listed the same way whether the record is a local
generation (the warehouse file's tables and views) or a mirror on object storage (`servicelens
query --remote`). One listing, so the two never disagree about what a table is."""

from __future__ import annotations

import os
from dataclasses import dataclass

from pipeline.lib.contract import DATASETS


@dataclass(frozen=True)
class RecordSources:
    """Paths as the filesystem `fs` names them (no protocol prefix):
    staged: dataset -> its one `data.parquet`, or a glob of its day-partitioned files;
    mart_files: mart -> its Parquet file; mart_folders: mart -> a glob of its day folders."""

    staged: dict[str, str]
    mart_files: dict[str, str]
    mart_folders: dict[str, str]


def _table_name(name: str) -> bool:
    # our own names (lowercase, digits, underscores): anything else in the folder is not a table
    return name.replace("_", "").isalnum() and name.islower()


def _has_parquet(fs, folder: str) -> bool:
    """Whether `folder` holds a Parquet file at any depth. On a local disk the walk stops at the
    first one: a day-partitioned table is ~100 folders, and listing them all (fsspec's find stats
    every entry) cost ~0.1 s per call, paid by every step that globs a staged table. An object
    store lists a prefix in one request, so there find is the cheap way."""
    protocols = (fs.protocol,) if isinstance(fs.protocol, str) else fs.protocol
    if "file" in protocols:  # LocalFileSystem's ("file", "local"), without importing it to check
        return any(f.endswith(".parquet") for _, _, files in os.walk(folder) for f in files)
    return any(p.endswith(".parquet") for p in fs.find(folder))


def dataset_glob(fs, folder: str) -> str | None:
    """What read_parquet reads for the staged table in `folder`: its one `data.parquet`, a glob of
    its (day-partitioned) files, or None when it has no Parquet file (an empty table)."""
    if fs.isfile(f"{folder}/data.parquet"):
        return f"{folder}/data.parquet"
    if fs.isdir(folder) and _has_parquet(fs, folder):
        return f"{folder}/**/*.parquet"
    return None


def record_sources(fs, root: str) -> RecordSources:
    """The staged datasets and marts of the Parquet record at `root` on the fsspec filesystem
    `fs`; a dataset or folder mart with no Parquet file is left out (an empty table)."""
    root = root.rstrip("/")
    globs = {dataset: dataset_glob(fs, f"{root}/staging/{dataset}") for dataset in DATASETS}
    staged = {dataset: glob for dataset, glob in globs.items() if glob is not None}
    mart_files, mart_folders = {}, {}
    marts = f"{root}/marts"
    if fs.isdir(marts):
        for entry in sorted(fs.ls(marts, detail=True), key=lambda e: e["name"]):
            name = entry["name"].rstrip("/").rsplit("/", 1)[-1]
            path = f"{marts}/{name}"
            if entry["type"] == "directory":
                if _table_name(name) and _has_parquet(fs, path):
                    mart_folders[name] = f"{path}/**/*.parquet"
            elif name.endswith(".parquet") and _table_name(name.removesuffix(".parquet")):
                mart_files[name.removesuffix(".parquet")] = path
    return RecordSources(staged, mart_files, mart_folders)


def local_record_sources(root) -> RecordSources:
    """record_sources of a record on this machine's disk."""
    from fsspec.implementations.local import LocalFileSystem

    return record_sources(LocalFileSystem(), str(root))
