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
conflict) is found through a key index per day (`ingest/requests/keys/day=D/`). A day holding such
a key is restaged too when its rows change class; otherwise it is only read, as context, for the
restaged rows to be classified against the row a full rebuild loads. A day whose only change is
new files whose rows all lose to rows loaded before them is recounted: those files' rows are
counted, the day is not restaged. Staging a day equals the same day of a full rebuild, row for row.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.lib.contract import DATASETS, Dataset
from pipeline.lib.day_parts import day_dir, day_files, key_hash, keys_dir, path_list
from pipeline.lib.duck import connect, day_text, lit, q, swap_dir
from pipeline.lib.ingest import classify_duplicates, row_struct
from pipeline.lib.parse_cache import (
    TS_DATASETS,
    UNDATED,
    ParseResult,
    known_days,
    load_manifest,
    parsed_dir,
    update_parse_cache,
)
from pipeline.lib.recount import count_new_files
from pipeline.paths import ingest_dir, staging_dir

# ------------------------------------------------------------------- day staging


@dataclass
class StageDaysResult:
    dataset: str
    days: list[str]
    rows_loaded: int
    context_days: list[str] = field(default_factory=list)  # read for classification, not restaged
    recounted: list[str] = field(default_factory=list)  # new files' rows counted, the day not restaged


def stage_days(
    spec: Dataset,
    root: Path,
    days: Iterable[str] | None = None,
    log: Callable[[str], None] = lambda _m: None,
    memory_limit: str = "3GB",
    recount: Iterable[str] = (),
) -> StageDaysResult:
    """Stage `days` (default: every day) of a time-series dataset from its parse cache, then merge
    the dataset's audit and quarantine. Days with no rows left lose their staged folder. The
    `recount` days are not restaged: only their files not yet counted are (the plan has checked
    that their rows all repeat a key loaded before them)."""
    root = Path(root)
    all_days = known_days(root, spec.name)
    target = set(all_days if days is None else days)
    # counted first: their new rows then stand in the key index the widening below reads
    recount = count_new_files(spec, root, set(recount) - target, log, memory_limit)
    manifest = load_manifest(root, spec.name)["files"]
    tmp = root / ".tmp" / f"stage-{spec.name}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir(parents=True)
    try:
        con = connect(tmp / "duckdb", memory_limit)
        context: set[str] = set()
        try:
            if spec.name == "requests" and target != set(all_days):
                target, context = _widen_to_shared_keys(con, spec, root, manifest, target)
            # no day to stage: nothing to do, unless the dataset has no staged folder yet (it
            # gets its columns, so downstream SQL binds)
            staged = staging_dir(root, spec.name)
            loaded = (
                _stage(con, spec, root, manifest, sorted(target), tmp, log, sorted(context))
                if target or days is None or not (staged.is_dir() and any(staged.iterdir()))
                else 0
            )
            _merge_accounting(con, spec, root, manifest)
        finally:
            con.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return StageDaysResult(spec.name, sorted(target), loaded, sorted(context), recount)


def widen_to_shared_keys(spec: Dataset, root: Path, days: Iterable[str]) -> set[str]:
    """`days` plus every other day whose staged rows change when `days` are restaged (only
    requests' keys can span days: the probes' keys include their ts)."""
    target = set(days)
    if spec.name != "requests" or not target:
        return target
    con = connect()
    try:
        return _widen_to_shared_keys(con, spec, Path(root), load_manifest(root, spec.name)["files"], target)[0]
    finally:
        con.close()


WIDEN_CHUNK_DAYS = 8


def _widen_to_shared_keys(
    con, spec: Dataset, root: Path, manifest: dict, target: set[str]
) -> tuple[set[str], set[str]]:
    """Split the other days holding a key found (now or when last staged) on the target days:

    - a day whose row of such a key is, or was, beaten by a target row (the first row by file
      path and row number is the one loaded) must be restaged: its rows' classes change. It joins
      the target, and its keys are looked up in turn, until no day is added;
    - a day whose rows of those keys all lose to an earlier row on a day outside the target (the
      usual case: a new day's file repeats rows of earlier days) keeps its staging as it is. It is
      a context day: its rows of those keys are read beside the target's, so that the target's
      repeats are classified against the row a full rebuild loads, and nothing of it is written.
    """
    index: dict[str, list[str]] = {}
    for p in sorted((ingest_dir(root, spec.name) / "keys").glob("day=*/*.parquet")):
        index.setdefault(p.parent.name.removeprefix("day="), []).append(str(p))
    if not index:
        return target, set()
    while True:
        others = [p for d, paths in index.items() if d not in target for p in paths]
        if not others:
            return target, set()
        shared: dict[str, bool] = {}  # other day -> some row of it changes class
        todo = sorted(target)
        # a few days' keys at a time: the lookup's hash table holds one chunk (10^7 hashes of
        # 8 days at 100M requests), never the keys of a whole quarter
        for i in range(0, len(todo), WIDEN_CHUNK_DAYS):
            chunk = todo[i : i + WIDEN_CHUNK_DAYS]
            files = day_files(root, spec.name, manifest, chunk)
            now = (
                (
                    f"select {key_hash(spec)} as h, min({{'f': _source_file, 'r': _row_number}}) as first_now from "
                    f"read_parquet({path_list(files)}, union_by_name = true) where _reason is null group by h"
                )
                if files
                else "select null::ubigint as h, null::struct(f varchar, r bigint) as first_now where false"
            )
            old_files = [p for d in chunk for p in index.get(d, [])]
            old = (
                (
                    f"select h, min({{'f': _source_file, 'r': _row_number}}) as first_old from read_parquet({path_list(old_files)}) group by h"
                )
                if old_files
                else "select null::ubigint as h, null::struct(f varchar, r bigint) as first_old where false"
            )
            # a key's other-day rows keep their classes when the key's first row outside the
            # target comes before its first target row, as staged before and as read now
            for day, changes in con.execute(
                f"""with t_now as ({now}), t_old as ({old}),
                t as (select h, first_now, first_old from t_now full join t_old using (h)),
                o as (select o.h, o.day, {{'f': o._source_file, 'r': o._row_number}} as fr
                      from read_parquet({path_list(others)}, hive_partitioning = true, hive_types_autocast = false) o semi join t using (h)),
                first_other as (select h, min(fr) as first_other from o group by h),
                changed as (select h from first_other join t using (h)
                            where first_other >= first_now or first_other >= first_old)
                select day, bool_or(h in (select h from changed)) from o group by day"""
            ).fetchall():
                shared[str(day)] = shared.get(str(day), False) or bool(changes)
        more = {d for d, changes in shared.items() if changes}
        if not more:
            return target, set(shared)
        target |= more


def _stage(
    con, spec: Dataset, root: Path, manifest: dict, days: list[str], tmp: Path, log, context: list[str] = ()
) -> int:
    files = day_files(root, spec.name, manifest, days)
    context_files = day_files(root, spec.name, manifest, context) if files else []
    log(
        f"{spec.name}: staging {len(days):,} days from {len(files):,} cached parts"
        + (f", repeats classified against {len(context):,} other days" if context else "")
    )
    if files:
        read = "select * exclude (file, day) from read_parquet({}, union_by_name = true, hive_partitioning = true, hive_types_autocast = false)"
        sql = read.format(path_list(files))
        if context_files:
            # the context days' rows of the keys staged here: they decide which row is loaded;
            # they fall on other days, whose outputs below are never moved into place
            sql += (
                f" union all by name select * from ({read.format(path_list(context_files))}) where _reason is null and "
                f"{key_hash(spec)} in (select {key_hash(spec)} from ({read.format(path_list(files))}) where _reason is null)"
            )
        con.execute(f"create temp view v as {sql}")
    else:
        cols = ", ".join(
            [f"{q(c.name)} {c.type}" for c in spec.columns]
            + ["_source_file varchar", "_row_number bigint", "_reason varchar", "_raw varchar"]
        )
        con.execute(f"create temp table v ({cols})")
    part = spec.partition_by
    day_of = day_text(q(part))
    table = tmp / "table"
    parts = tmp / "ingest"
    parts.mkdir()
    classify_duplicates(con, spec)
    # the context days' rows decide which row is loaded, but are not staged here
    ours = f" where {day_of} in (select unnest($d))" if context_files else ""
    n_loaded = con.execute(
        f"copy (select * exclude (_source_file, _row_number) from ok_shaped{ours}) to {lit(str(table))} "
        "(format parquet, compression zstd, compression_level 1, partition_by (date), overwrite_or_ignore true)",
        {"d": days} if context_files else {},
    ).fetchone()[0]
    con.execute(
        f"""copy (
        select {lit(spec.name)} as dataset, _source_file as source_file, _row_number as row_number, _reason as reason, _raw as raw,
               {day_of} as day
        from v where _reason is not null
        union all
        select {lit(spec.name)}, d._source_file, d._row_number,
               'conflict: key (' || {lit(", ".join(spec.key))} || ') already loaded from ' || d._first_file || ' row ' || d._first_row || ' with other values',
               d._raw, {day_of.replace(q(part), "v." + q(part))}
        from dupclass d join v using (_source_file, _row_number) where d._class = 'conflict'
        ) to {lit(str(parts / "quarantine"))} (format parquet, partition_by (day), overwrite_or_ignore true)"""
    )
    con.execute(
        f"""copy (
        with per_row as (
            select _source_file as source_file, {day_of} as day, count(*) as n, count(*) filter (where _reason is not null) as q
            from v group by all),
        per_dup as (
            select d._source_file as source_file, {day_of.replace(q(part), "v." + q(part))} as day,
                   count(*) filter (where d._class = 'duplicate') as d, count(*) filter (where d._class = 'conflict') as c
            from dupclass d join v using (_source_file, _row_number) group by all)
        select r.source_file, r.day, r.n as rows_read, r.n - r.q - coalesce(p.d, 0) - coalesce(p.c, 0) as rows_loaded,
               r.q + coalesce(p.c, 0) as rows_quarantined, coalesce(p.d, 0) as rows_duplicate
        from per_row r left join per_dup p using (source_file, day)
        ) to {lit(str(parts / "audit"))} (format parquet, partition_by (day), overwrite_or_ignore true)"""
    )
    if spec.name == "requests":
        _write_key_index(con, spec, parts / "keys")
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
        con.execute(
            f"copy (select * exclude (_source_file, _row_number) from ok_shaped limit 0) to {lit(str(tmp / 'empty.parquet'))} (format parquet)"
        )
        os.replace(tmp / "empty.parquet", empty)
    return n_loaded


def _write_key_index(con, spec: Dataset, out: Path) -> int:
    """The request-key index of every row of `v` not quarantined, into out/day=D/; returns its rows."""
    return con.execute(
        # partitioned by the date itself: a row not quarantined falls in years 1-9999, where a
        # date's folder name is the day's text, and 10M rows skip a string each
        f"copy (select {key_hash(spec)} as h, hash({row_struct(spec)}) as c, _source_file, _row_number, "
        f"cast({q(spec.partition_by)} as date) as day from v where _reason is null) "
        f"to {lit(str(out))} (format parquet, partition_by (day), overwrite_or_ignore true)"
    ).fetchone()[0]


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
    undated = [
        str(p)
        for m in manifest.values()
        if m.get("key") and m.get("undated")
        for p in sorted((base / f"file={m['key']}" / f"day={UNDATED}").glob("*.parquet"))
    ]
    malformed = [
        str(p)
        for m in manifest.values()
        if m.get("key") and m.get("malformed")
        for p in sorted((base / f"file={m['key']}").glob("malformed_*.parquet"))
    ]
    con.execute(
        "create or replace temp table files (source_file varchar, file_format varchar, file_error varchar, undated bigint, malformed bigint)"
    )
    rows = [
        (rel, m["fmt"], m.get("file_error"), m.get("undated", 0), m.get("malformed", 0))
        for rel, m in sorted(manifest.items())
    ]
    if rows:
        con.executemany("insert into files values (?, ?, ?, ?, ?)", rows)
    per_day = (
        (
            f"select source_file, sum(rows_read) as n, sum(rows_loaded) as l, sum(rows_quarantined) as q, sum(rows_duplicate) as d "
            f"from read_parquet({path_list(audits)}) group by all"
        )
        if audits
        else "select null::varchar as source_file, 0 as n, 0 as l, 0 as q, 0 as d where false"
    )
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
        parts.append(
            f"select dataset, source_file, row_number, reason, raw from read_parquet({path_list(quarantines)})"
        )
    if undated:
        parts.append(
            f"select {lit(spec.name)}, _source_file, _row_number, _reason, _raw from read_parquet({path_list(undated)}, union_by_name = true)"
        )
    if malformed:
        parts.append(
            f"select {lit(spec.name)}, source_file, row_number, reason, raw from read_parquet({path_list(malformed)})"
        )
    parts = parts or [
        "select null::varchar as dataset, null::varchar as source_file, null::bigint as row_number, "
        "null::varchar as reason, null::varchar as raw where false"
    ]
    con.execute(
        f"copy (select * from ({' union all '.join(parts)}) order by source_file, row_number) to {lit(str(tmp_quar))} (format parquet)"
    )
    os.replace(tmp_audit, idir / "audit.parquet")
    os.replace(tmp_quar, idir / "quarantine.parquet")


def stage_time_series(
    spec: Dataset,
    raw_dir: Path,
    root: Path,
    days: Iterable[str] | None = None,
    log: Callable[[str], None] = lambda _m: None,
    memory_limit: str = "3GB",
) -> tuple[ParseResult, StageDaysResult]:
    """Both steps: the parse cache brought up to the drop, then `days` staged (default: the days
    whose files changed)."""
    parsed = update_parse_cache(spec, raw_dir, root, log, memory_limit)
    target = parsed.changed_days if days is None else set(days)
    return parsed, stage_days(spec, root, sorted(target), log, memory_limit)


__all__ = [
    "DATASETS",
    "TS_DATASETS",
    "StageDaysResult",
    "known_days",
    "stage_days",
    "stage_time_series",
    "widen_to_shared_keys",
]
