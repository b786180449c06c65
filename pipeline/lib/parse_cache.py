"""The parse cache of the time series: each drop file read and validated once.

Every file of a dataset's folder is fingerprinted (size and mtime, then its content hash when
those changed: a file touched but unchanged keeps its cache); each new or changed file is read and
validated (pipeline/lib/ingest/) into typed rows split by the UTC day of its partition column,
`parsed/<dataset>/file=<key>/day=<YYYY-MM-DD|undated>/`, and `manifest.json` records per file its
fingerprint and the rows it holds on each day. Removed files' caches are dropped. A change of the
engine's code, of DuckDB or of the models and providers the drop knows invalidates every parse.
Staging a day from this cache is pipeline/lib/staging.py.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import duckdb

from pipeline.lib import ingest
from pipeline.lib.contract import Dataset
from pipeline.lib.duck import connect, lit, parquet_glob, q, swap_dir
from pipeline.paths import ingest_dir, staging_dir

TS_DATASETS = ("requests", "latency_probes", "compat_probes")
UNDATED = "undated"
# The code a cached parse depends on, under pipeline/lib/: a name ending in / is a package, every
# module in it (so a module added to it is never left out).
ENGINE_CODE = (
    "duck.py",
    "ingest/",
    "textprep.py",
    "contract.py",
    "parse_cache.py",
    "staging.py",
    "recount.py",
    "day_parts.py",
)


def code_files(names: tuple[str, ...]) -> list[tuple[str, Path]]:
    """(name, path) of every module `names` lists under pipeline/lib/ (a package: its modules, sorted)."""
    here = Path(__file__).resolve().parent
    out = []
    for name in names:
        if name.endswith("/"):
            out += [(f"{name}{p.name}", p) for p in sorted((here / name).glob("*.py"))]
        else:
            out.append((name, here / name))
    return out


@dataclass(frozen=True)
class FileEntry:
    """One entry of a dataset folder as the cache knows it."""

    rel: str
    fmt: str
    size: int
    mtime_ns: int
    content: str  # blake2b of the bytes ('' for entries never read)
    error: str | None = None


def parsed_dir(root: Path, dataset: str) -> Path:
    return Path(root) / "parsed" / dataset


def _manifest_path(root: Path, dataset: str) -> Path:
    return parsed_dir(root, dataset) / "manifest.json"


# ------------------------------------------------------------------ fingerprints


def _content_hash(path: Path) -> str:
    h = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as fh:
        while chunk := fh.read(8 * 2**20):
            h.update(chunk)
    return h.hexdigest()


def fingerprint(raw_dir: Path, dataset: str, previous: dict[str, dict]) -> list[FileEntry]:
    """Every entry of the dataset folder, its content hashed only when size or mtime moved
    (decided by content, not by time: a file touched but unchanged keeps its cache)."""
    out = []
    for sf in ingest.discover_all(raw_dir, dataset):
        if sf.error:
            out.append(FileEntry(sf.rel, sf.fmt, 0, 0, "", sf.error))
            continue
        try:
            st = os.stat(sf.path)
        except OSError as exc:
            out.append(FileEntry(sf.rel, sf.fmt, 0, 0, "", f"cannot be read: {exc.strerror or exc}"))
            continue
        old = previous.get(sf.rel)
        if old and old["size"] == st.st_size and old["mtime_ns"] == st.st_mtime_ns and old["content"]:
            content = old["content"]
        else:
            try:
                content = _content_hash(sf.path)
            except OSError as exc:
                out.append(
                    FileEntry(sf.rel, sf.fmt, st.st_size, st.st_mtime_ns, "", f"cannot be read: {exc.strerror or exc}")
                )
                continue
        out.append(FileEntry(sf.rel, sf.fmt, st.st_size, st.st_mtime_ns, content))
    return out


def _engine_version(root: Path, spec: Dataset) -> str:
    """What a cached parse depends on besides the file: the engine's code, DuckDB's version and
    the models and providers the drop knows (references are checked while reading)."""
    h = hashlib.blake2b(digest_size=16)
    for _name, path in code_files(ENGINE_CODE):
        h.update(path.read_bytes())
    h.update(duckdb.__version__.encode())
    con = connect()
    try:
        for dataset, col in (("models", "model"), ("endpoints", "provider")):
            glob = parquet_glob(staging_dir(root, dataset))
            if glob and ((dataset == "models" and spec.model_refs) or (dataset == "endpoints" and spec.provider_refs)):
                names = con.execute(
                    f"select string_agg(distinct {col}, chr(0) order by {col}) from read_parquet($g)", {"g": glob}
                ).fetchone()[0]
                h.update(f"{dataset}\0{names or ''}\n".encode())
    finally:
        con.close()
    return h.hexdigest()


def _file_key(con, rel: str) -> str:
    return str(con.execute("select hash(?)", [rel]).fetchone()[0])


# ----------------------------------------------------------------- parse cache


@dataclass
class ParseResult:
    dataset: str
    changed_days: set[str]
    files: int
    files_parsed: int
    rows_parsed: int


def load_manifest(root: Path, dataset: str) -> dict:
    try:
        return json.loads(_manifest_path(root, dataset).read_text())
    except (OSError, ValueError):
        return {"version": None, "files": {}}


def update_parse_cache(
    spec: Dataset, raw_dir: Path, root: Path, log: Callable[[str], None] = lambda _m: None, memory_limit: str = "3GB"
) -> ParseResult:
    """Bring the parse cache of one time-series dataset up to the drop; returns the days whose
    rows may have changed (the days of every new, changed or removed file)."""
    root = Path(root)
    old = load_manifest(root, spec.name)
    version = _engine_version(root, spec)
    stale_all = old.get("version") != version
    entries = fingerprint(raw_dir, spec.name, old["files"])
    old_files: dict[str, dict] = old["files"]
    changed = [e for e in entries if e.error is None and (stale_all or _changed(old_files.get(e.rel), e))]
    keep = {e.rel for e in entries if e.error is None} - {e.rel for e in changed}
    days: set[str] = set()
    for rel, meta in old_files.items():
        if rel not in keep:
            days |= set(meta.get("days", {}))
    base = parsed_dir(root, spec.name)
    base.mkdir(parents=True, exist_ok=True)
    tmp = root / ".tmp" / f"parse-{spec.name}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir(parents=True)
    new_meta: dict[str, dict] = {rel: old_files[rel] for rel in keep}
    rows = 0
    try:
        con = connect(tmp / "duckdb", memory_limit)
        try:
            if changed:
                log(f"{spec.name}: reading {len(changed):,} new or changed files of {len(entries):,}")
                rows, parsed = _parse(con, spec, raw_dir, root, changed, tmp)
                for e in changed:
                    meta = {**asdict(e), **parsed[e.rel]}
                    new_meta[e.rel] = meta
                    days |= set(meta["days"])
            for e in entries:
                if e.error is not None:
                    new_meta[e.rel] = {
                        **asdict(e),
                        "days": {},
                        "key": None,
                        "file_error": e.error,
                        "malformed": 0,
                        "undated": 0,
                    }
        finally:
            con.close()
        # caches of removed or changed files go (a file's key is its path's hash, so a changed
        # file's new cache takes the old one's place); the new ones move in
        unchanged = {m["key"] for rel, m in new_meta.items() if rel in keep and m.get("key")}
        for d in base.glob("file=*"):
            if d.name.removeprefix("file=") not in unchanged:
                shutil.rmtree(d, ignore_errors=True)
        staged_out = tmp / "out"
        if staged_out.is_dir():
            for d in staged_out.iterdir():
                swap_dir(d, base / d.name)
        ingest_dir(root, spec.name).mkdir(parents=True, exist_ok=True)
        _write_json(_manifest_path(root, spec.name), {"version": version, "files": dict(sorted(new_meta.items()))})
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    days.discard(UNDATED)
    return ParseResult(spec.name, days, len(entries), len(changed), rows)


def _changed(old: dict | None, e: FileEntry) -> bool:
    return (
        old is None or old.get("content") != e.content or old.get("fmt") != e.fmt or old.get("file_error") is not None
    )


def _parse(
    con, spec: Dataset, raw_dir: Path, root: Path, entries: list[FileEntry], tmp: Path
) -> tuple[int, dict[str, dict]]:
    """Read and validate `entries` (ingest.read_validated) into tmp/out/file=<key>/day=<D>/."""
    by_rel = {sf.rel: sf for sf in ingest.discover_all(raw_dir, spec.name)}
    files = [by_rel[e.rel] for e in entries if e.rel in by_rel]
    out = tmp / "out"
    out.mkdir()
    day_expr = f"coalesce(strftime(cast({q(spec.partition_by)} as date), '%Y-%m-%d'), {lit(UNDATED)})"
    n = {"i": 0}

    def sink(sql: str) -> None:
        # each source into its own folder, moved into place only once it is whole, so a source
        # retried file by file never leaves half its rows behind
        n["i"] += 1
        part = tmp / f"part-{n['i']}"
        try:
            con.execute(
                f"copy (select *, cast(hash(_source_file) as varchar) as file, {day_expr} as day from ({sql})) "
                f"to {lit(str(part))} (format parquet, compression zstd, compression_level 1, partition_by (file, day), "
                f"filename_pattern 'part{n['i']}_{{i}}')"
            )
        except Exception:
            shutil.rmtree(part, ignore_errors=True)
            raise
        for f in part.rglob("*.parquet"):
            dest = out / f.relative_to(part)
            dest.parent.mkdir(parents=True, exist_ok=True)
            f.rename(dest)
        shutil.rmtree(part, ignore_errors=True)

    files, errors = ingest.read_validated(con, spec, files, root, tmp, lambda _m: None, sink=sink)
    parsed: dict[str, dict] = {}
    counts: dict[str, dict[str, int]] = {}
    if any(out.rglob("*.parquet")):
        for rel, day, k in con.execute(
            f"select _source_file, day, count(*) from read_parquet({lit(str(out / '**' / '*.parquet'))}, "
            "hive_partitioning = true, hive_types_autocast = false) group by all"
        ).fetchall():
            counts.setdefault(rel, {})[day] = k
    malformed = con.execute("select source_file, count(*) from malformed group by all").fetchall()
    bad = dict(malformed)
    if malformed:
        con.execute(
            f"copy (select source_file, row_number, reason, raw, cast(hash(source_file) as varchar) as file from malformed) "
            f"to {lit(str(out))} (format parquet, partition_by (file), filename_pattern 'malformed_{{i}}', overwrite_or_ignore true)"
        )
    total = 0
    for sf in files:
        day_counts = counts.get(sf.rel, {})
        total += sum(day_counts.values())
        parsed[sf.rel] = {
            "key": _file_key(con, sf.rel),
            "days": {d: c for d, c in day_counts.items() if d != UNDATED},
            "undated": day_counts.get(UNDATED, 0),
            "malformed": bad.get(sf.rel, 0),
            "file_error": errors.get(sf.rel),
        }
        if errors.get(sf.rel):
            parsed[sf.rel].update(days={}, undated=0, malformed=0)
            shutil.rmtree(out / f"file={parsed[sf.rel]['key']}", ignore_errors=True)
    return total, parsed


def known_days(root: Path, dataset: str) -> list[str]:
    """Every UTC day some current file of the dataset has rows on."""
    days: set[str] = set()
    for meta in load_manifest(root, dataset)["files"].values():
        days |= set(meta.get("days", {}))
    return sorted(days)


def _write_json(path: Path, obj: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}")
    tmp.write_text(json.dumps(obj, indent=1, default=str))
    os.replace(tmp, path)
