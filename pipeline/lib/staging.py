"""Day-partitioned staging of the time series (requests, latency probes, compat probes).

Two steps, so that a day's new files cost a day:

1. `update_parse_cache` (pipeline/lib/parse_cache.py): each new or changed file of the drop is
   read and validated once into a cache of typed rows split by UTC day. Returns the days whose
   input changed.
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

import os
import shutil
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from pipeline.lib.contract import DATASETS, Dataset
from pipeline.lib.ingest import classify_duplicates, connect, lit, q, swap_dir
from pipeline.lib.parse_cache import (
    TS_DATASETS,
    UNDATED,
    ParseResult,
    known_days,
    load_manifest,
    parsed_dir,
    update_parse_cache,
)
from pipeline.paths import ingest_dir, staging_dir


def day_dir(root: Path, dataset: str, day: str) -> Path:
    return ingest_dir(root, dataset) / f"day={day}"


def keys_dir(root: Path, dataset: str, day: str) -> Path:
    return ingest_dir(root, dataset) / "keys" / f"day={day}"


# ------------------------------------------------------------------- day staging


@dataclass
class StageDaysResult:
    dataset: str
    days: list[str]
    rows_loaded: int


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
    classify_duplicates(con, spec)
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


def stage_time_series(spec: Dataset, raw_dir: Path, root: Path, days: Iterable[str] | None = None,
                      log: Callable[[str], None] = lambda _m: None, memory_limit: str = "3GB") -> tuple[ParseResult, StageDaysResult]:
    """Both steps: the parse cache brought up to the drop, then `days` staged (default: the days
    whose files changed)."""
    parsed = update_parse_cache(spec, raw_dir, root, log, memory_limit)
    target = parsed.changed_days if days is None else set(days)
    return parsed, stage_days(spec, root, sorted(target), log, memory_limit)


__all__ = ["DATASETS", "TS_DATASETS", "StageDaysResult", "known_days", "stage_days", "stage_time_series", "widen_to_shared_keys"]
