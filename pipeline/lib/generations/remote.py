"""The Parquet record on object storage (issue 13): a published generation mirrored to any fsspec
URL (s3://bucket/prefix with s3fs, gs://, az://, file://, memory:// in the tests), and a DuckDB
connection that reads it there, through the same fsspec filesystem registered with DuckDB (no
DuckDB extension to download).

Layout under the URL:
  generations/<name>/parquet/...   the generation's Parquet record, file for file as on disk
  generations/<name>/_complete     written once every file of the generation is there
  current                          the name of the newest complete generation, written last

An object store cannot rename a folder atomically. A reader that follows `current` reads a
generation whose every file was written before `current` named it, and a mirror that dies midway
leaves `current` naming the previous generation (its own files are then overwritten by the next
attempt). Generations beyond the `keep` newest complete ones are deleted after `current` moves,
never the one it names: a reader that resolved the previous pointer keeps its files while it is
among the kept."""

from __future__ import annotations

import os
import shlex
from collections.abc import Callable

import duckdb

from pipeline.lib.duck import lit
from pipeline.lib.generations.store import Store
from pipeline.lib.record_sources import record_sources

COMPLETE = "_complete"
POINTER = "current"


def _fs(url: str):
    import fsspec

    fs, base = fsspec.core.url_to_fs(url)
    return fs, base.rstrip("/")


def _protocol(fs) -> str:
    protocol = fs.protocol if isinstance(fs.protocol, str) else fs.protocol[0]
    return "file" if protocol == "local" else protocol


def _unchanged(store: Store, fs, base: str, src, files) -> tuple[str | None, dict[str, str]]:
    """(the generation `current` names at the URL, {file's path under the new generation's parquet
    folder: the same file there}) for those of `files` (under `src`, the new generation's Parquet)
    that are the very files of that generation: hard links of one inode in the local store. A generation's
    files are never written in place (writers replace a file by renaming a new one over it), so
    one inode is one content. Empty when the URL has no complete generation or the store no
    longer holds it: then every file is uploaded."""
    try:
        previous = fs.cat_file(f"{base}/{POINTER}").decode().strip() or None
    except FileNotFoundError:
        return None, {}
    if previous is None or not fs.exists(f"{base}/generations/{previous}/{COMPLETE}"):
        return previous, {}
    old = store.gen_parquet(previous)
    if not old.is_dir():
        return previous, {}
    same = {}
    for p in files:
        rel = p.relative_to(src).as_posix()
        q = old / rel
        if q.is_file() and os.path.samefile(p, q):
            same[rel] = f"{base}/generations/{previous}/parquet/{rel}"
    return previous, same


def _copied(fs, source: str, target: str) -> bool:
    """Copy `source` to `target` within the store; False when `source` is gone (someone removed
    part of the generation before): the caller uploads the file instead."""
    try:
        fs.cp_file(source, target)
    except FileNotFoundError:
        return False
    return True


def mirror(store: Store, url: str, keep: int = 2, log: Callable[[str], None] = lambda _m: None) -> str:
    """Copy the generation readers see to `url` (files already there from an earlier attempt are
    written again), mark it complete, point `current` at it, and prune to the `keep` newest
    complete generations. Returns its name. ValueError when there is nothing to mirror.

    A day's data costs a day here too: the files the new generation shares with the one mirrored
    before (every day a run did not rebuild) are copied within the store (S3: a server-side
    copy, no bytes through this machine); only the new and changed files are uploaded."""
    if keep < 1:
        raise ValueError(f"keep must be at least 1, got {keep}")
    name = store.current()
    if name is None:
        raise ValueError(f"{store.warehouse} has no published generation to mirror (run `servicelens run` first)")
    src = store.gen_parquet(name)
    files = sorted(p for p in src.rglob("*") if p.is_file())
    fs, base = _fs(url)
    gen = f"{base}/generations/{name}"
    if not fs.exists(f"{gen}/{COMPLETE}"):
        if fs.exists(gen):  # what a mirror that died left: not one stray file may stay
            fs.rm(gen, recursive=True)
        previous, same = _unchanged(store, fs, base, src, files)
        step = max(1, len(files) // 10)
        uploaded = uploaded_bytes = 0
        for i, p in enumerate(files, 1):
            rel = p.relative_to(src).as_posix()
            target = f"{gen}/parquet/{rel}"
            fs.makedirs(target.rsplit("/", 1)[0], exist_ok=True)
            if not (rel in same and _copied(fs, same[rel], target)):
                fs.put_file(str(p), target)
                uploaded, uploaded_bytes = uploaded + 1, uploaded_bytes + p.stat().st_size
            if i % step == 0 or i == len(files):
                log(f"mirror: {i} of {len(files)} files of generation {name}")
        fs.pipe_file(f"{gen}/{COMPLETE}", b"")
        log(
            f"mirror: generation {name}: {uploaded} of {len(files)} files uploaded ({uploaded_bytes / 1e6:,.1f} MB)"
            + (f", {len(files) - uploaded} unchanged since {previous} copied within the store" if same else "")
        )
    fs.pipe_file(f"{base}/{POINTER}", name.encode())
    _prune(fs, base, name, keep, log)
    return name


def _prune(fs, base: str, current: str, keep: int, log: Callable[[str], None]) -> None:
    root = f"{base}/generations"
    names = sorted(p.rstrip("/").rsplit("/", 1)[-1] for p in fs.ls(root, detail=False))
    complete = [n for n in names if fs.exists(f"{root}/{n}/{COMPLETE}")]
    # names sort by their UTC build time (YYYYMMDDTHHMMSSZ-...): the newest last; never the one
    # the pointer names now (another mirror, after a rollback, may have moved it)
    kept = set(complete[-keep:]) | {current, fs.cat_file(f"{base}/{POINTER}").decode().strip()}
    for n in complete:
        if n not in kept:
            fs.rm(f"{root}/{n}", recursive=True)
            log(f"mirror: removed generation {n}")


def remote_generation(url: str) -> str:
    """The generation `current` names at `url`. ValueError when there is none."""
    fs, base = _fs(url)
    try:
        name = fs.cat_file(f"{base}/{POINTER}").decode().strip()
    except FileNotFoundError:
        raise ValueError(
            f"{url} holds no mirrored generation (servicelens generations mirror --to {shlex.quote(str(url))})"
        ) from None
    return name


def connect_remote(url: str, sandbox: bool = False) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection whose schemas `staging` and `marts` are views over the
    Parquet record of the generation `current` names at `url`, as the warehouse file's tables
    and views are over the local record (the views of sql/views/ are not recreated). With
    `sandbox`, the connection reads nothing but that generation's Parquet (no local file, no
    ATTACH, INSTALL or LOAD) and its configuration is locked."""
    fs, base = _fs(url)
    name = remote_generation(url)
    root = f"{base}/generations/{name}/parquet"
    prefix = f"{_protocol(fs)}://"
    # a distinct configuration: never a DuckDB instance shared with (and locking) another connection
    con = duckdb.connect(config={"custom_user_agent": "servicelens-remote"})
    con.register_filesystem(fs)
    con.execute("create schema staging")
    con.execute("create schema marts")
    sources = record_sources(fs, root)
    # CREATE VIEW takes no parameters: the paths are quoted literals
    for dataset, glob in sources.staged.items():
        con.execute(
            f"create view staging.{dataset} as select * from read_parquet({lit(prefix + glob)}, "
            "hive_partitioning = true, union_by_name = true)"
        )
    for name, path in sources.mart_files.items():
        con.execute(f"create view marts.{name} as select * from read_parquet({lit(prefix + path)})")
    for name, glob in sources.mart_folders.items():
        con.execute(
            f"create view marts.{name} as select * from read_parquet({lit(prefix + glob)}, hive_partitioning = true)"
        )
    if sandbox:
        con.execute("set allowed_directories = $dirs", {"dirs": [f"{prefix}{root}/"]})
        con.execute("set enable_external_access = false")
        con.execute("set lock_configuration = true")
    return con
