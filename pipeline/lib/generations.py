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
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import socket
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import duckdb

from pipeline.paths import parquet_root

GENERATION_META = "generation.json"
DEFAULT_KEEP = 3


class WarehouseBusy(RuntimeError):
    """Another process holds the published warehouse open for writing."""


class GenerationError(RuntimeError):
    """A generation that cannot be published (missing, incomplete)."""


@dataclass(frozen=True)
class Store:
    """Where one warehouse's generations live, derived from the path readers open."""

    warehouse: Path

    @property
    def base(self) -> Path:
        w = Path(self.warehouse)
        return w.with_name(w.with_suffix("").name + ".store")

    @property
    def parquet_link(self) -> Path:
        return parquet_root(self.warehouse)

    @property
    def work(self) -> Path:
        return self.base / "work"

    @property
    def generations(self) -> Path:
        return self.base / "generations"

    @property
    def current_link(self) -> Path:
        return self.base / "current"

    @property
    def history_file(self) -> Path:
        return self.base / "history.jsonl"

    @property
    def pending_file(self) -> Path:
        """The generation the latest `warehouse` materialization built (not yet published)."""
        return self.base / "pending.json"

    def gen_dir(self, name: str) -> Path:
        return self.generations / name

    def gen_db(self, name: str) -> Path:
        return self.gen_dir(name) / Path(self.warehouse).name

    def gen_parquet(self, name: str) -> Path:
        return self.gen_dir(name) / "parquet"

    def gen_reports(self, name: str) -> Path:
        return self.gen_dir(name) / "reports"

    # ---------------------------------------------------------------- reading state

    def current(self) -> str | None:
        """The published generation's name, or None before the first publish."""
        try:
            target = os.readlink(self.current_link)
        except (FileNotFoundError, OSError):
            return None
        return Path(target).name

    def is_complete(self, name: str) -> bool:
        return (self.gen_dir(name) / GENERATION_META).is_file()

    def meta(self, name: str) -> dict:
        try:
            return json.loads((self.gen_dir(name) / GENERATION_META).read_text())
        except (OSError, ValueError):
            return {}

    def history(self) -> list[dict]:
        if not self.history_file.exists():
            return []
        out = []
        for line in self.history_file.read_text().splitlines():
            try:
                out.append(json.loads(line))
            except ValueError:
                continue  # a line cut by a kill mid-append
        return out

    def pending(self) -> str | None:
        try:
            name = json.loads(self.pending_file.read_text())["generation"]
        except (OSError, ValueError, KeyError, TypeError):
            return None
        return name if self.is_complete(name) else None

    def listing(self) -> list[dict]:
        """Every complete generation on disk, oldest first, with its publication times."""
        published: dict[str, list[str]] = {}
        for h in self.history():
            published.setdefault(h.get("generation", ""), []).append(h.get("published_at", ""))
        current = self.current()
        rows = []
        if self.generations.is_dir():
            for d in sorted(self.generations.iterdir()):
                if not self.is_complete(d.name):
                    continue
                meta = self.meta(d.name)
                rows.append(
                    {
                        "generation": d.name,
                        "current": d.name == current,
                        "built_at": meta.get("built_at"),
                        "published_at": (published.get(d.name) or [None])[-1],
                        "run_id": meta.get("run_id"),
                        "raw_dir": meta.get("raw_dir"),
                        "rows": meta.get("rows", {}),
                        "db": str(self.gen_db(d.name)),
                    }
                )
        return rows


# -------------------------------------------------------------------- building


def new_generation_name(run_id: str, now: dt.datetime | None = None) -> str:
    now = now or dt.datetime.now(dt.UTC)
    run = re.sub(r"[^A-Za-z0-9]", "", run_id)[:8] or uuid.uuid4().hex[:8]
    return f"{now:%Y%m%dT%H%M%S}Z-{run}"


def start_generation(store: Store, run_id: str) -> str:
    """Create an empty generation folder for this run and return its name."""
    name = new_generation_name(run_id)
    while store.gen_dir(name).exists():  # two builds in one second of one run
        name = f"{name}-{uuid.uuid4().hex[:4]}"
    store.gen_dir(name).mkdir(parents=True)
    _write_json(
        store.gen_dir(name) / ".builder.json", {"pid": os.getpid(), "host": socket.gethostname(), "run_id": run_id}
    )
    return name


# Working state that is not part of the record: the parse cache of the drop's files.
PRIVATE = ("parsed",)


def snapshot(src: Path, dst: Path) -> int:
    """Hard-link every file under `src` into `dst` (copy where links are impossible, e.g.
    across devices), skipping hidden entries (temporary files and folders of writers) and the
    working state in PRIVATE. Returns the number of files."""
    n = 0
    src, dst = Path(src), Path(dst)
    for folder, dirs, files in os.walk(src):
        top = Path(folder) == src
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and not (top and d in PRIVATE))
        rel = Path(folder).relative_to(src)
        (dst / rel).mkdir(parents=True, exist_ok=True)
        for f in files:
            if f.startswith("."):
                continue
            a, b = Path(folder) / f, dst / rel / f
            try:
                os.link(a, b)
            except OSError:
                shutil.copy2(a, b)
            n += 1
    return n


def finish_generation(store: Store, name: str, meta: dict) -> None:
    """Mark a generation complete (its metadata file is the mark) and make it the pending one."""
    d = store.gen_dir(name)
    (d / ".builder.json").unlink(missing_ok=True)
    _write_json(d / GENERATION_META, {"generation": name, "built_at": _now(), **meta})
    _write_json(store.pending_file, {"generation": name, "run_id": meta.get("run_id")})


def record_report(store: Store, name: str, folder: Path, install_to: Path) -> None:
    """Note that generation `name` holds a rendered report in `folder`, to be copied to
    `install_to` when the generation is published."""
    index = store.gen_reports(name) / "install.json"
    entries = json.loads(index.read_text()) if index.exists() else {}
    entries[str(Path(folder).relative_to(store.gen_dir(name)))] = str(install_to)
    index.parent.mkdir(parents=True, exist_ok=True)
    _write_json(index, entries)


def pending_reports(store: Store, name: str) -> list[tuple[Path, Path]]:
    """(folder in the generation, where it goes) for every report rendered from it."""
    index = store.gen_reports(name) / "install.json"
    if not index.exists():
        return []
    return [(store.gen_dir(name) / rel, Path(dst)) for rel, dst in sorted(json.loads(index.read_text()).items())]


# ------------------------------------------------------------------ publishing


def writer_holding(db: Path) -> str | None:
    """Who holds the DuckDB file `db` open for writing (a description), or None.

    DuckDB takes an exclusive lock on the file for a read-write connection and a shared one
    for read-only connections; opening it read-only therefore fails exactly when a writer has
    it. Readers do not block a publish: they keep the generation they opened."""
    db = Path(db)
    if not db.exists():
        return None
    try:
        duckdb.connect(str(db), read_only=True).close()
    except duckdb.ConnectionException:
        return "this process (a read-write connection is open here)"
    except duckdb.IOException as exc:
        text = str(exc)
        if "lock" not in text.lower():
            raise
        m = re.search(r"held in (.+?) \(PID (\d+)\)", text)
        return f"{Path(m.group(1)).name} (PID {m.group(2)})" if m else "another process"
    return None


def check_not_busy(store: Store) -> None:
    cur = store.current()
    legacy = store.warehouse if store.warehouse.is_file() and not store.warehouse.is_symlink() else None
    db = store.gen_db(cur) if cur else legacy
    holder = writer_holding(db) if db else None
    if holder:
        raise WarehouseBusy(
            f"{store.warehouse} is open for writing by {holder}: nothing was published (close that connection and run "
            "again; its writes are kept in the current generation)"
        )


def publish(store: Store, name: str, keep: int = DEFAULT_KEEP, reports: Iterable[tuple[Path, Path]] = ()) -> dict:
    """Make generation `name` what readers see, in one rename. Then copy its reports into
    place, prune old generations and clean leftovers of killed runs. Raises WarehouseBusy
    (nothing changed) when a writer holds the current warehouse open."""
    if not store.is_complete(name):
        raise GenerationError(f"generation {name} is not complete: nothing was published")
    _adopt_legacy(store)
    check_not_busy(store)
    before = store.current()
    if before and before != name and not any(h.get("generation") == before for h in store.history()):
        _append_history(store, before, note="found current")
    _point(store.current_link, Path("generations") / name)
    _append_history(store, name)
    _ensure_links(store)
    installed = [str(_install_copy(src, dst)) for src, dst in reports]
    removed = prune(store, keep, protect={name})
    clean_work(store)
    return {"generation": name, "previous": before, "reports": installed, "pruned": removed}


def rollback(store: Store, name: str | None = None) -> dict:
    """Point readers back at an earlier complete generation (default: the one published
    before the current one). Nothing is deleted."""
    cur = store.current()
    if name is None:
        earlier = [
            h["generation"]
            for h in store.history()
            if h.get("generation") not in (None, cur) and store.is_complete(h["generation"])
        ]
        if not earlier:
            raise GenerationError("no earlier generation is kept to roll back to")
        name = earlier[-1]
    if not store.is_complete(name):
        known = ", ".join(r["generation"] for r in store.listing()) or "none"
        raise GenerationError(f"no complete generation {name!r} (kept: {known})")
    check_not_busy(store)
    _point(store.current_link, Path("generations") / name)
    _append_history(store, name, note=f"rollback from {cur}")
    _ensure_links(store)
    return {"generation": name, "previous": cur}


def prune(store: Store, keep: int = DEFAULT_KEEP, protect: Iterable[str] = ()) -> list[str]:
    """Delete generations that are neither current, nor among the last `keep` published
    (current included), nor protected; this removes the half-built ones of killed runs. A
    generation whose DuckDB file a writer holds open is kept (its writes are not lost)."""
    if not store.generations.is_dir():
        return []
    keep = max(1, keep)
    order: list[str] = []
    for h in reversed(store.history()):
        g = h.get("generation")
        if g and g not in order and store.gen_dir(g).is_dir():
            order.append(g)
    kept = {store.current(), *protect, *order[:keep]}
    removed = []
    for d in sorted(store.generations.iterdir()):
        if d.name in kept:
            continue
        if d.is_dir() and writer_holding(d / Path(store.warehouse).name):
            continue
        _remove(d)
        removed.append(d.name)
    return removed


def clean_work(store: Store) -> None:
    """Remove what killed runs left in the working Parquet: hidden temporary files and
    folders (writers' `.name.xxxx` files, `.tmp*` scratch folders, half-swapped tables)."""
    if not store.work.is_dir():
        return
    for folder, dirs, files in os.walk(store.work):
        for d in [d for d in dirs if d.startswith(".")]:
            shutil.rmtree(Path(folder) / d, ignore_errors=True)
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for f in files:
            if f.startswith("."):
                (Path(folder) / f).unlink(missing_ok=True)


# ------------------------------------------------------------------- internals


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _write_json(path: Path, obj: dict) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}")
    tmp.write_text(json.dumps(obj, indent=1, sort_keys=True, default=str))
    os.replace(tmp, path)


def _append_history(store: Store, name: str, note: str | None = None) -> None:
    line = {"generation": name, "published_at": _now(), **({"note": note} if note else {})}
    with store.history_file.open("a+b") as fh:
        # a line cut by a kill mid-append is ended first, so it cannot swallow this one
        fh.seek(0, os.SEEK_END)
        if fh.tell():
            fh.seek(-1, os.SEEK_END)
            if fh.read(1) != b"\n":
                fh.write(b"\n")
        fh.write((json.dumps(line) + "\n").encode())


def _point(link: Path, target: Path) -> None:
    """Make `link` a symlink to `target` in one rename (readers see the old or the new one)."""
    link.parent.mkdir(parents=True, exist_ok=True)
    tmp = link.with_name(f".{link.name}.{uuid.uuid4().hex[:8]}")
    os.symlink(target, tmp)
    try:
        os.replace(tmp, link)
    except OSError:
        tmp.unlink(missing_ok=True)
        raise


def _ensure_links(store: Store) -> None:
    """The two paths readers open, as relative symlinks through `current` (made once)."""
    base = store.base.name
    for link, target in (
        (store.warehouse, Path(base) / "current" / Path(store.warehouse).name),
        (store.parquet_link, Path(base) / "current" / "parquet"),
    ):
        if link.is_symlink() and os.readlink(link) == str(target):
            continue
        _point(link, target)


def _adopt_legacy(store: Store) -> None:
    """A warehouse written before generations (a real file and a real folder) becomes the
    first kept generation, so nothing it held is lost and it can be rolled back to."""
    w, p = Path(store.warehouse), store.parquet_link
    legacy_db = w.is_file() and not w.is_symlink()
    legacy_dir = p.is_dir() and not p.is_symlink()
    if not (legacy_db or legacy_dir):
        return
    name = "legacy-" + dt.datetime.fromtimestamp((w if legacy_db else p).stat().st_mtime, dt.UTC).strftime(
        "%Y%m%dT%H%M%SZ"
    )
    d = store.gen_dir(name)
    d.mkdir(parents=True, exist_ok=True)
    if legacy_dir:
        p.rename(d / "parquet")
    if legacy_db:
        w.rename(d / w.name)
    _write_json(
        d / GENERATION_META, {"generation": name, "built_at": None, "note": "warehouse from before generations"}
    )
    if store.current() is None:
        _point(store.current_link, Path("generations") / name)
        _append_history(store, name, note="adopted")
    _ensure_links(store)


def _install_copy(src: Path, dst: Path) -> Path:
    """Copy the folder `src` to `dst`, replacing it with two renames. Real copies, not links:
    someone may rewrite files there (servicelens report), and a generation never changes."""
    dst = Path(dst)
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(f".{dst.name}.new-{uuid.uuid4().hex[:8]}")
    shutil.copytree(src, tmp)
    old = dst.with_name(f".{dst.name}.old-{uuid.uuid4().hex[:8]}")
    if dst.exists() or dst.is_symlink():
        dst.rename(old)
    tmp.rename(dst)
    _remove(old)
    return dst


def _remove(path: Path) -> None:
    if path.is_symlink() or path.is_file():
        path.unlink(missing_ok=True)
    elif path.exists():
        shutil.rmtree(path, ignore_errors=True)
