"""Building a generation: a fresh folder, a hard-linked snapshot of the working Parquet, its
metadata and the reports to install when it is published."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import socket
import uuid
from pathlib import Path

from pipeline.lib.generations.store import GENERATION_META, Store, now_iso, write_json


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
    write_json(
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
    write_json(d / GENERATION_META, {"generation": name, "built_at": now_iso(), **meta})
    write_json(store.pending_file, {"generation": name, "run_id": meta.get("run_id")})


def record_report(store: Store, name: str, folder: Path, install_to: Path) -> None:
    """Note that generation `name` holds a rendered report in `folder`, to be copied to
    `install_to` when the generation is published."""
    index = store.gen_reports(name) / "install.json"
    entries = json.loads(index.read_text()) if index.exists() else {}
    entries[str(Path(folder).relative_to(store.gen_dir(name)))] = str(install_to)
    index.parent.mkdir(parents=True, exist_ok=True)
    write_json(index, entries)


def pending_reports(store: Store, name: str) -> list[tuple[Path, Path]]:
    """(folder in the generation, where it goes) for every report rendered from it."""
    index = store.gen_reports(name) / "install.json"
    if not index.exists():
        return []
    return [(store.gen_dir(name) / rel, Path(dst)) for rel, dst in sorted(json.loads(index.read_text()).items())]
