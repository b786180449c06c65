"""Where each UTC day's pieces of a time series live, and the small SQL pieces that read them:
the parse cache's parts of a file on a day, the day's audit and quarantine parts
(`ingest/<dataset>/day=D/`) and its request-key index (`ingest/<dataset>/keys/day=D/`: the key's
hash, a hash of the row's values and the row's file and number, for every row not quarantined).
Shared by day staging (pipeline/lib/staging.py) and recounting (pipeline/lib/recount.py)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from pipeline.lib.contract import Dataset
from pipeline.lib.duck import lit, q
from pipeline.lib.parse_cache import parsed_dir
from pipeline.paths import ingest_dir


def day_dir(root: Path, dataset: str, day: str) -> Path:
    return ingest_dir(root, dataset) / f"day={day}"


def keys_dir(root: Path, dataset: str, day: str) -> Path:
    return ingest_dir(root, dataset) / "keys" / f"day={day}"


def day_files(root: Path, dataset: str, manifest: dict, days: Iterable[str]) -> list[str]:
    base = parsed_dir(root, dataset)
    out = []
    for day in days:
        for meta in manifest.values():
            if meta.get("key") and day in meta.get("days", {}):
                out += [str(p) for p in sorted((base / f"file={meta['key']}" / f"day={day}").glob("*.parquet"))]
    return out


def key_hash(spec: Dataset) -> str:
    return f"hash({', '.join(q(k) for k in spec.key)})"


def part_files(root: Path, dataset: str, manifest: dict, day: str, rels: Iterable[str]) -> list[str]:
    base = parsed_dir(root, dataset)
    return [
        str(p)
        for rel in rels
        if manifest.get(rel, {}).get("key")
        for p in sorted((base / f"file={manifest[rel]['key']}" / f"day={day}").glob("*.parquet"))
    ]


def index_files(root: Path, dataset: str, days: Iterable[str] | None = None) -> list[str]:
    base = ingest_dir(root, dataset) / "keys"
    if days is None:
        return sorted(str(p) for p in base.glob("day=*/*.parquet"))
    return sorted(str(p) for d in days for p in (base / f"day={d}").glob("*.parquet"))


def path_list(paths: list[str]) -> str:
    return "[" + ", ".join(lit(p) for p in paths) + "]"
