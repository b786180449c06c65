"""Publishing a generation (one atomic rename of the pointer), rolling back, pruning, and the
checks that no writer holds the warehouse."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterable
from pathlib import Path

import duckdb

from pipeline.lib.generations.store import (
    DEFAULT_KEEP,
    GenerationError,
    Store,
    WarehouseBusy,
    adopt_legacy,
    append_history,
    ensure_links,
    install_copy,
    point_link,
    remove_path,
)


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
    adopt_legacy(store)
    check_not_busy(store)
    before = store.current()
    if before and before != name and not any(h.get("generation") == before for h in store.history()):
        append_history(store, before, note="found current")
    point_link(store.current_link, Path("generations") / name)
    append_history(store, name)
    ensure_links(store)
    installed = [str(install_copy(src, dst)) for src, dst in reports]
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
    point_link(store.current_link, Path("generations") / name)
    append_history(store, name, note=f"rollback from {cur}")
    ensure_links(store)
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
        remove_path(d)
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
