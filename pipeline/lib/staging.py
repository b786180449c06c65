"""Day-partitioned staging of the time series (requests, latency probes, compat probes).

Two steps, so that a day's new files cost a day:

1. `update_parse_cache`: every file of the drop is fingerprinted (size and mtime, then its
   content hash when those changed); each new or changed file is read and validated once
   (pipeline/lib/ingest.py) into a cache of typed rows split by the UTC day of its partition
   column (`parsed/<dataset>/file=<key>/day=<YYYY-MM-DD|undated>/`). Removed files' caches are
   dropped. Returns the days whose input changed.
2. `stage_days`: for the given days, the cached rows of every current file on those days are
   deduplicated (the first row by file path and row number is loaded, an identical later one is a
   duplicate, a different one a conflict) and written as `staging/<dataset>/date=D/`, with the
   day's part of the audit and quarantine (`ingest/<dataset>/day=D/`). Then the dataset's
   `ingest/<dataset>/{audit,quarantine}.parquet` are merged from the day parts, the rows without
   a day (bad timestamps: always quarantined) and the records that could not be read.

A key that spans days (a request_id seen on two days: its rows differ, so the later one is a
conflict) is resolved by widening the days restaged to every day that holds the key: a key index
per day (`ingest/requests/keys/day=D/`) finds them. Staging a day equals the same day of a full
rebuild, row for row.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

import duckdb

from pipeline.lib import ingest
from pipeline.lib.contract import DATASETS, Dataset
from pipeline.lib.ingest import connect, lit, parquet_glob, q, swap_dir
from pipeline.paths import ingest_dir, staging_dir
from pipeline.sql import load_sql

TS_DATASETS = ("requests", "latency_probes", "compat_probes")
UNDATED = "undated"
_ENGINE_FILES = ("ingest.py", "textprep.py", "contract.py", "staging.py")


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


def day_dir(root: Path, dataset: str, day: str) -> Path:
    return ingest_dir(root, dataset) / f"day={day}"


def keys_dir(root: Path, dataset: str, day: str) -> Path:
    return ingest_dir(root, dataset) / "keys" / f"day={day}"


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
                out.append(FileEntry(sf.rel, sf.fmt, st.st_size, st.st_mtime_ns, "", f"cannot be read: {exc.strerror or exc}"))
                continue
        out.append(FileEntry(sf.rel, sf.fmt, st.st_size, st.st_mtime_ns, content))
    return out


def _engine_version(root: Path, spec: Dataset) -> str:
    """What a cached parse depends on besides the file: the engine's code, DuckDB's version and
    the models and providers the drop knows (references are checked while reading)."""
    h = hashlib.blake2b(digest_size=16)
    here = Path(__file__).resolve().parent
    for name in _ENGINE_FILES:
        h.update((here / name).read_bytes())
    h.update(duckdb.__version__.encode())
    con = connect()
    try:
        for dataset, col in (("models", "model"), ("endpoints", "provider")):
            glob = parquet_glob(staging_dir(root, dataset))
            if glob and ((dataset == "models" and spec.model_refs) or (dataset == "endpoints" and spec.provider_refs)):
                names = con.execute(f"select string_agg(distinct {col}, chr(0) order by {col}) from read_parquet($g)", {"g": glob}).fetchone()[0]
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


def update_parse_cache(spec: Dataset, raw_dir: Path, root: Path, log: Callable[[str], None] = lambda _m: None,
                       memory_limit: str = "3GB") -> ParseResult:
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
                    new_meta[e.rel] = {**asdict(e), "days": {}, "key": None, "file_error": e.error, "malformed": 0, "undated": 0}
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
    return old is None or old.get("content") != e.content or old.get("fmt") != e.fmt or old.get("file_error") is not None


def _parse(con, spec: Dataset, raw_dir: Path, root: Path, entries: list[FileEntry], tmp: Path) -> tuple[int, dict[str, dict]]:
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
            f"select _source_file, day, count(*) from read_parquet({lit(str(out / '**' / '*.parquet'))}, hive_partitioning = true, hive_types_autocast = false) group by all"
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


# ------------------------------------------------------------------- day staging


@dataclass
class StageDaysResult:
    dataset: str
    days: list[str]
    rows_loaded: int


def known_days(root: Path, dataset: str) -> list[str]:
    """Every UTC day some current file of the dataset has rows on."""
    days: set[str] = set()
    for meta in load_manifest(root, dataset)["files"].values():
        days |= set(meta.get("days", {}))
    return sorted(days)


def stage_days(spec: Dataset, root: Path, days: Iterable[str] | None = None, log: Callable[[str], None] = lambda _m: None,
               memory_limit: str = "3GB") -> StageDaysResult:
    """Stage `days` (default: every day) of a time-series dataset from its parse cache, then merge
    the dataset's audit and quarantine. Days with no rows left lose their staged folder."""
    root = Path(root)
    manifest = load_manifest(root, spec.name)["files"]
    all_days = known_days(root, spec.name)
    target = set(all_days if days is None else days)
    tmp = root / ".tmp" / f"stage-{spec.name}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir(parents=True)
    try:
        con = connect(tmp / "duckdb", memory_limit)
        try:
            if spec.name == "requests" and target != set(all_days):
                target = _widen_to_shared_keys(con, spec, root, manifest, target)
            loaded = _stage(con, spec, root, manifest, sorted(target), tmp, log)
            _merge_accounting(con, spec, root, manifest)
        finally:
            con.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return StageDaysResult(spec.name, sorted(target), loaded)


def _day_files(root: Path, dataset: str, manifest: dict, days: Iterable[str]) -> list[str]:
    base = parsed_dir(root, dataset)
    out = []
    for day in days:
        for meta in manifest.values():
            if meta.get("key") and day in meta.get("days", {}):
                out += [str(p) for p in sorted((base / f"file={meta['key']}" / f"day={day}").glob("*.parquet"))]
    return out


def _key_hash(spec: Dataset) -> str:
    return f"hash({', '.join(q(k) for k in spec.key)})"


def widen_to_shared_keys(spec: Dataset, root: Path, days: Iterable[str]) -> set[str]:
    """`days` plus every other day holding a key that a row of `days` holds, now or when it
    was last staged (only requests' keys can span days: the probes' keys include their ts)."""
    target = set(days)
    if spec.name != "requests" or not target:
        return target
    con = connect()
    try:
        return _widen_to_shared_keys(con, spec, Path(root), load_manifest(root, spec.name)["files"], target)
    finally:
        con.close()


WIDEN_CHUNK_DAYS = 8


def _widen_to_shared_keys(con, spec: Dataset, root: Path, manifest: dict, target: set[str]) -> set[str]:
    """Add every other day that holds a key found (now or before) on the target days, until
    no day is added: then every row that shares a key with a restaged row is restaged too."""
    index: dict[str, list[str]] = {}
    for p in sorted((ingest_dir(root, spec.name) / "keys").glob("day=*/*.parquet")):
        index.setdefault(p.parent.name.removeprefix("day="), []).append(str(p))
    if not index:
        return target
    done: set[str] = set()  # target days whose keys were already looked up elsewhere
    while True:
        others = [p for d, paths in index.items() if d not in target for p in paths]
        if not others:
            return target
        more: set[str] = set()
        todo = sorted(target - done)
        # a few days' keys at a time: the lookup's hash table holds one chunk (10^7 hashes of
        # 8 days at 100M requests), never the keys of a whole quarter
        for i in range(0, len(todo), WIDEN_CHUNK_DAYS):
            chunk = todo[i:i + WIDEN_CHUNK_DAYS]
            files = _day_files(root, spec.name, manifest, chunk)
            keys = [f"select {_key_hash(spec)} as h from read_parquet({_list(files)}, union_by_name = true) where _reason is null"] if files else []
            keys += [f"select h from read_parquet({_list(index[d])})" for d in chunk if d in index]
            if keys:
                more |= {str(d) for (d,) in con.execute(
                    f"select distinct o.day from read_parquet({_list(others)}, hive_partitioning = true, hive_types_autocast = false) o "
                    f"semi join ({' union all '.join(keys)}) k using (h)"
                ).fetchall()}
        done |= set(todo)
        more -= target
        if not more:
            return target
        target |= more


def _list(paths: list[str]) -> str:
    return "[" + ", ".join(lit(p) for p in paths) + "]"


def _stage(con, spec: Dataset, root: Path, manifest: dict, days: list[str], tmp: Path, log) -> int:
    files = _day_files(root, spec.name, manifest, days)
    log(f"{spec.name}: staging {len(days):,} days from {len(files):,} cached parts")
    if files:
        con.execute(f"create temp view v as select * exclude (file, day) from read_parquet({_list(files)}, union_by_name = true, hive_partitioning = true, hive_types_autocast = false)")
    else:
        cols = ", ".join([f"{q(c.name)} {c.type}" for c in spec.columns] + ["_source_file varchar", "_row_number bigint", "_reason varchar", "_raw varchar"])
        con.execute(f"create temp table v ({cols})")
    key = ", ".join(q(k) for k in spec.key)
    struct = "{" + ", ".join(f"{lit(c.name)}: {q(c.name)}" for c in spec.columns) + "}"
    con.execute(
        f"create temp table dupkeys as select {key} from v where _reason is null and hash({key}) in ("
        f"select h from (select hash({key}) as h from v where _reason is null group by all having count(*) > 1)) "
        f"group by all having count(*) > 1"
    )
    con.execute(
        f"""create temp table dupclass as
        select _source_file, _row_number,
               case when row_number() over w = 1 then 'loaded'
                    when {struct} is not distinct from first_value({struct}) over w then 'duplicate'
                    else 'conflict' end as _class,
               first_value(_source_file) over w as _first_file,
               first_value(_row_number) over w as _first_row,
               cast(to_json({struct}) as varchar) as _raw
        from v semi join dupkeys using ({key})
        where _reason is null
        window w as (partition by {key} order by _source_file, _row_number)"""
    )
    con.execute(
        "create temp view ok as select v.* exclude (_reason, _raw) from v "
        "anti join (select _source_file, _row_number from dupclass where _class <> 'loaded') d "
        "using (_source_file, _row_number) where _reason is null"
    )
    con.execute(f"create temp view ok_shaped as {load_sql('staging/stg_' + spec.name)}")
    part = spec.partition_by
    day_of = f"strftime(cast({q(part)} as date), '%Y-%m-%d')"
    table = tmp / "table"
    n_loaded = con.execute("select count(*) from ok").fetchone()[0]
    if n_loaded:
        con.execute(
            f"copy (select * exclude (_source_file, _row_number) from ok_shaped) to {lit(str(table))} "
            "(format parquet, compression zstd, compression_level 1, partition_by (date), overwrite_or_ignore true)"
        )
    parts = tmp / "ingest"
    parts.mkdir()
    con.execute(
        f"""copy (
        select {lit(spec.name)} as dataset, _source_file as source_file, _row_number as row_number, _reason as reason, _raw as raw,
               {day_of} as day
        from v where _reason is not null
        union all
        select {lit(spec.name)}, d._source_file, d._row_number,
               'conflict: key (' || {lit(', '.join(spec.key))} || ') already loaded from ' || d._first_file || ' row ' || d._first_row || ' with other values',
               d._raw, {day_of.replace(q(part), 'v.' + q(part))}
        from dupclass d join v using (_source_file, _row_number) where d._class = 'conflict'
        ) to {lit(str(parts / 'quarantine'))} (format parquet, partition_by (day), overwrite_or_ignore true)"""
    )
    con.execute(
        f"""copy (
        with per_row as (
            select _source_file as source_file, {day_of} as day, count(*) as n, count(*) filter (where _reason is not null) as q
            from v group by all),
        per_dup as (
            select d._source_file as source_file, {day_of.replace(q(part), 'v.' + q(part))} as day,
                   count(*) filter (where d._class = 'duplicate') as d, count(*) filter (where d._class = 'conflict') as c
            from dupclass d join v using (_source_file, _row_number) group by all)
        select r.source_file, r.day, r.n as rows_read, r.n - r.q - coalesce(p.d, 0) - coalesce(p.c, 0) as rows_loaded,
               r.q + coalesce(p.c, 0) as rows_quarantined, coalesce(p.d, 0) as rows_duplicate
        from per_row r left join per_dup p using (source_file, day)
        ) to {lit(str(parts / 'audit'))} (format parquet, partition_by (day), overwrite_or_ignore true)"""
    )
    if spec.name == "requests":
        con.execute(
            f"copy (select {_key_hash(spec)} as h, _source_file, _row_number, {day_of} as day from v where _reason is null) "
            f"to {lit(str(parts / 'keys'))} (format parquet, partition_by (day), overwrite_or_ignore true)"
        )
    # each day's folders replaced as a whole; a day with no rows left loses them
    for day in days:
        _replace(table / f"date={day}", staging_dir(root, spec.name) / f"date={day}")
        target = day_dir(root, spec.name, day)
        fresh = tmp / "day" / f"day={day}"
        fresh.mkdir(parents=True)
        for kind in ("audit", "quarantine"):
            src = parts / kind / f"day={day}"
            for i, f in enumerate(sorted(src.glob("*.parquet")) if src.is_dir() else []):
                f.rename(fresh / f"{kind}_{i}.parquet")
        _replace(fresh if any(fresh.iterdir()) else tmp / "none", target)
        if spec.name == "requests":
            _replace(parts / "keys" / f"day={day}", keys_dir(root, spec.name, day))
    # a dataset with no rows on any day still has its columns, so downstream SQL binds
    empty = staging_dir(root, spec.name) / "data.parquet"
    if any(staging_dir(root, spec.name).glob("date=*/*.parquet")):
        empty.unlink(missing_ok=True)
    else:
        staging_dir(root, spec.name).mkdir(parents=True, exist_ok=True)
        con.execute(f"copy (select * exclude (_source_file, _row_number) from ok_shaped limit 0) to {lit(str(tmp / 'empty.parquet'))} (format parquet)")
        os.replace(tmp / "empty.parquet", empty)
    return n_loaded


def _replace(new: Path, target: Path) -> None:
    if new.is_dir():
        swap_dir(new, target)
    elif target.exists():
        old = target.with_name(f".{target.name}.old-{uuid.uuid4().hex[:8]}")
        target.rename(old)
        shutil.rmtree(old, ignore_errors=True)


def _merge_accounting(con, spec: Dataset, root: Path, manifest: dict) -> None:
    """ingest/<dataset>/{audit,quarantine}.parquet from the day parts, the undated rows and the
    unreadable records of every current file."""
    base = parsed_dir(root, spec.name)
    idir = ingest_dir(root, spec.name)
    audits = sorted(str(p) for p in idir.glob("day=*/audit_*.parquet"))
    quarantines = sorted(str(p) for p in idir.glob("day=*/quarantine_*.parquet"))
    undated = [str(p) for m in manifest.values() if m.get("key") and m.get("undated")
               for p in sorted((base / f"file={m['key']}" / f"day={UNDATED}").glob("*.parquet"))]
    malformed = [str(p) for m in manifest.values() if m.get("key") and m.get("malformed")
                 for p in sorted((base / f"file={m['key']}").glob("malformed_*.parquet"))]
    con.execute("create or replace temp table files (source_file varchar, file_format varchar, file_error varchar, undated bigint, malformed bigint)")
    rows = [(rel, m["fmt"], m.get("file_error"), m.get("undated", 0), m.get("malformed", 0)) for rel, m in sorted(manifest.items())]
    if rows:
        con.executemany("insert into files values (?, ?, ?, ?, ?)", rows)
    per_day = (f"select source_file, sum(rows_read) as n, sum(rows_loaded) as l, sum(rows_quarantined) as q, sum(rows_duplicate) as d "
               f"from read_parquet({_list(audits)}) group by all") if audits else \
        "select null::varchar as source_file, 0 as n, 0 as l, 0 as q, 0 as d where false"
    tmp_audit, tmp_quar = idir / f".audit.{uuid.uuid4().hex[:8]}", idir / f".quarantine.{uuid.uuid4().hex[:8]}"
    con.execute(
        f"""copy (
        select {lit(spec.name)} as dataset, f.source_file, f.file_format,
               cast(coalesce(p.n, 0) + f.undated + f.malformed as bigint) as rows_read,
               cast(coalesce(p.l, 0) as bigint) as rows_loaded,
               cast(coalesce(p.q, 0) + f.undated + f.malformed as bigint) as rows_quarantined,
               cast(coalesce(p.d, 0) as bigint) as rows_duplicate,
               f.file_error
        from files f left join ({per_day}) p using (source_file)
        order by f.source_file) to {lit(str(tmp_audit))} (format parquet)"""
    )
    parts = []
    if quarantines:
        parts.append(f"select dataset, source_file, row_number, reason, raw from read_parquet({_list(quarantines)})")
    if undated:
        parts.append(f"select {lit(spec.name)}, _source_file, _row_number, _reason, _raw from read_parquet({_list(undated)}, union_by_name = true)")
    if malformed:
        parts.append(f"select {lit(spec.name)}, source_file, row_number, reason, raw from read_parquet({_list(malformed)})")
    parts = parts or ["select null::varchar as dataset, null::varchar as source_file, null::bigint as row_number, "
                      "null::varchar as reason, null::varchar as raw where false"]
    con.execute(
        f"copy (select * from ({' union all '.join(parts)}) order by source_file, row_number) to {lit(str(tmp_quar))} (format parquet)"
    )
    os.replace(tmp_audit, idir / "audit.parquet")
    os.replace(tmp_quar, idir / "quarantine.parquet")


def _write_json(path: Path, obj: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}")
    tmp.write_text(json.dumps(obj, indent=1, default=str))
    os.replace(tmp, path)


def stage_time_series(spec: Dataset, raw_dir: Path, root: Path, days: Iterable[str] | None = None,
                      log: Callable[[str], None] = lambda _m: None, memory_limit: str = "3GB") -> tuple[ParseResult, StageDaysResult]:
    """Both steps: the parse cache brought up to the drop, then `days` staged (default: the days
    whose files changed)."""
    parsed = update_parse_cache(spec, raw_dir, root, log, memory_limit)
    target = parsed.changed_days if days is None else set(days)
    return parsed, stage_days(spec, root, sorted(target), log, memory_limit)


__all__ = ["DATASETS", "TS_DATASETS", "FileEntry", "ParseResult", "StageDaysResult", "fingerprint", "known_days",
           "load_manifest", "stage_days", "stage_time_series", "update_parse_cache", "widen_to_shared_keys"]
