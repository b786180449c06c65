"""A warehouse's store of generations: its layout, the pointer readers follow, its history, and the
file helpers every step uses (atomic JSON, links, removal)."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

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


def now_iso() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def write_json(path: Path, obj: dict) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}")
    tmp.write_text(json.dumps(obj, indent=1, sort_keys=True, default=str))
    os.replace(tmp, path)


def append_history(store: Store, name: str, note: str | None = None) -> None:
    line = {"generation": name, "published_at": now_iso(), **({"note": note} if note else {})}
    with store.history_file.open("a+b") as fh:
        # a line cut by a kill mid-append is ended first, so it cannot swallow this one
        fh.seek(0, os.SEEK_END)
        if fh.tell():
            fh.seek(-1, os.SEEK_END)
            if fh.read(1) != b"\n":
                fh.write(b"\n")
        fh.write((json.dumps(line) + "\n").encode())


def point_link(link: Path, target: Path) -> None:
    """Make `link` a symlink to `target` in one rename (readers see the old or the new one)."""
    link.parent.mkdir(parents=True, exist_ok=True)
    tmp = link.with_name(f".{link.name}.{uuid.uuid4().hex[:8]}")
    os.symlink(target, tmp)
    try:
        os.replace(tmp, link)
    except OSError:
        tmp.unlink(missing_ok=True)
        raise


def ensure_links(store: Store) -> None:
    """The two paths readers open, as relative symlinks through `current` (made once)."""
    base = store.base.name
    for link, target in (
        (store.warehouse, Path(base) / "current" / Path(store.warehouse).name),
        (store.parquet_link, Path(base) / "current" / "parquet"),
    ):
        if link.is_symlink() and os.readlink(link) == str(target):
            continue
        point_link(link, target)


def adopt_legacy(store: Store) -> None:
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
    write_json(d / GENERATION_META, {"generation": name, "built_at": None, "note": "warehouse from before generations"})
    if store.current() is None:
        point_link(store.current_link, Path("generations") / name)
        append_history(store, name, note="adopted")
    ensure_links(store)


def install_copy(src: Path, dst: Path) -> Path:
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
    remove_path(old)
    return dst


def remove_path(path: Path) -> None:
    if path.is_symlink() or path.is_file():
        path.unlink(missing_ok=True)
    elif path.exists():
        shutil.rmtree(path, ignore_errors=True)
