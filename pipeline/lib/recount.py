"""Recounted days: a day whose only change is new files whose rows all repeat rows already loaded.

A daily file repeats some rows of earlier days (retries logged twice, replays): those rows fall
on the earlier days, whose inputs then change. When every such row loses to a row already
loaded (the first by file path and row number wins), the earlier day's staged rows stay as they
are; only the new file's rows on it are counted, as extra parts of its audit, quarantine and
key index named after the file's cache key (a repeat overwrites, never adds twice).

The plan (pipeline/lib/plan.py) decides which days qualify (`recount_failures`); the
stg_requests asset counts them (`count_new_files`) before staging the days it rebuilds.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path

from pipeline.lib.contract import Dataset
from pipeline.lib.day_parts import (
    day_dir,
    day_files,
    index_files,
    key_hash,
    keys_dir,
    part_files,
    path_list,
)
from pipeline.lib.duck import connect, lit
from pipeline.lib.ingest import row_struct
from pipeline.lib.parse_cache import load_manifest
from pipeline.paths import ingest_dir, staging_dir


def count_new_files(
    spec: Dataset,
    root: Path,
    days: Iterable[str],
    log: Callable[[str], None] = lambda _m: None,
    memory_limit: str = "3GB",
) -> list[str]:
    """Count the not yet counted files' rows of `days` (see `_recount`); returns the days done."""
    days = sorted(set(days))
    if not days:
        return []
    root = Path(root)
    tmp = root / ".tmp" / f"recount-{spec.name}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir(parents=True)
    try:
        con = connect(tmp / "duckdb", memory_limit)
        try:
            return days if _recount(con, spec, root, load_manifest(root, spec.name)["files"], days, tmp, log) else []
        finally:
            con.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def recount_failures(spec: Dataset, root: Path, recount: dict[str, list[str]], rebuilt: Iterable[str]) -> set[str]:
    """The days of `recount` (day -> its new files) that must be rebuilt after all: some new row's
    key has no unchanged row before it (outside the new files and the `rebuilt` days) that also
    comes before the key's rows on the rebuilt days, as staged and as read now. Then that row may
    be loaded, or displace the one loaded."""
    root = Path(root)
    rebuilt = set(rebuilt)
    manifest = load_manifest(root, spec.name)["files"]
    added = [(d, rel) for d, rels in recount.items() for rel in rels]
    files = [f for d, rels in recount.items() for f in part_files(root, spec.name, manifest, d, rels)]
    if not files:
        return set()
    con = connect()
    try:
        # a new file that brings a column the day's staged rows lack widens what a full rebuild
        # stages for that day (its rows are read with union_by_name): such a day is rebuilt
        helpers = {"_source_file", "_row_number", "_reason", "_raw", "file", "day", "date"}
        widened = set()

        def cols(files: list[str]) -> set[str]:
            return {
                r[0]
                for r in con.execute(
                    f"describe select * from read_parquet({path_list(files)}, union_by_name = true)"
                ).fetchall()
            }

        for d, rels in recount.items():
            parts = part_files(root, spec.name, manifest, d, rels)
            staged = sorted(str(p) for p in (staging_dir(root, spec.name) / f"date={d}").glob("*.parquet"))
            if parts and (not staged or cols(parts) - helpers - cols(staged)):
                widened.add(d)
        con.execute("create temp table added_pairs (day varchar, f varchar)")
        con.executemany("insert into added_pairs values (?, ?)", added)
        con.execute(
            f"create temp table a as select {key_hash(spec)} as h, day, {{'f': _source_file, 'r': _row_number}} as fr "
            f"from read_parquet({path_list(files)}, union_by_name = true, hive_partitioning = true, hive_types_autocast = false) "
            "where _reason is null"
        )
        hive = "hive_partitioning = true, hive_types_autocast = false"
        unchanged = index_files(root, spec.name, [d for d in _index_days(root, spec.name) if d not in rebuilt])
        old = index_files(root, spec.name, rebuilt)
        new = day_files(root, spec.name, manifest, sorted(rebuilt))
        sources = {
            "u": f"select o.h, {{'f': o._source_file, 'r': o._row_number}} as fr from read_parquet({path_list(unchanged)}, {hive}) o "
            "semi join a using (h) anti join added_pairs p on p.day = o.day and p.f = o._source_file"
            if unchanged
            else None,
            "ro": f"select h, {{'f': _source_file, 'r': _row_number}} as fr from read_parquet({path_list(old)}) semi join a using (h)"
            if old
            else None,
            "rn": f"select {key_hash(spec)} as h, {{'f': _source_file, 'r': _row_number}} as fr from read_parquet({path_list(new)}, union_by_name = true) "
            f"where _reason is null and {key_hash(spec)} in (select h from a)"
            if new
            else None,
        }
        empty = "select null::ubigint as h, null::struct(f varchar, r bigint) as fr where false"
        ctes = ", ".join(
            f"{k} as (select h, min(fr) as first from ({v or empty}) group by h)" for k, v in sources.items()
        )
        return widened | {
            str(d)
            for (d,) in con.execute(
                f"""with {ctes}, first_added as (select h, min(fr) as first from a group by h)
            select distinct a.day from a join first_added fa using (h) left join u using (h) left join ro using (h) left join rn using (h)
            where u.first is null or u.first >= fa.first or u.first >= ro.first or u.first >= rn.first"""
            ).fetchall()
        }
    finally:
        con.close()


def _index_days(root: Path, dataset: str) -> list[str]:
    return sorted(p.name.removeprefix("day=") for p in (ingest_dir(root, dataset) / "keys").glob("day=*"))


def _recount(con, spec: Dataset, root: Path, manifest: dict, days: list[str], tmp: Path, log) -> int:
    """Count the rows of each recounted day's files not yet in its audit, as parts named after
    each file; returns the files counted. Every such row loses to the first row of its key (the
    plan checked it), so it is classified against that row alone, found in the key index with a
    hash of its values: identical, a duplicate; else a conflict (the rule of classify_duplicates,
    without reading the other days' rows)."""
    todo: list[tuple[str, str]] = []
    for day in days:
        counted = _counted_files(con, root, spec.name, day)
        todo += [
            (day, rel)
            for rel, meta in sorted(manifest.items())
            if meta.get("key") and day in meta.get("days", {}) and rel not in counted
        ]
    if not todo:
        return 0
    log(
        f"{spec.name}: counting {len(todo):,} new files' rows on {len({d for d, _ in todo}):,} days without restaging them"
    )
    hive = "hive_partitioning = true, hive_types_autocast = false"
    added = [f for d, rel in todo for f in part_files(root, spec.name, manifest, d, [rel])]
    index = index_files(root, spec.name)
    con.execute("create or replace temp table added_pairs (day varchar, f varchar)")
    con.executemany("insert into added_pairs values (?, ?)", todo)
    con.execute(f"""create or replace temp table v as
        select * exclude (file, day), day as _day, {key_hash(spec)} as _h, hash({row_struct(spec)}) as _c,
               cast(to_json({row_struct(spec)}) as varchar) as _json
        from read_parquet({path_list(added)}, union_by_name = true, {hive})""")
    winner = (
        f"""select o.h, arg_min({{'f': o._source_file, 'r': o._row_number, 'c': o.c}}, {{'f': o._source_file, 'r': o._row_number}}) as w
        from read_parquet({path_list(index)}, {hive}) o
        where o.h in (select _h from v where _reason is null)
          and not exists (select 1 from added_pairs p where p.day = o.day and p.f = o._source_file)
        group by o.h"""
        if index
        else "select null::ubigint as h, null::struct(f varchar, r bigint, c ubigint) as w where false"
    )
    con.execute(f"""create or replace temp table cls as
        select v._source_file, v._row_number, win.w.f as _first_file, win.w.r as _first_row,
               case when win.w is null or {{'f': win.w.f, 'r': win.w.r}} > {{'f': v._source_file, 'r': v._row_number}} then 'loaded'
                    when win.w.c = v._c then 'duplicate' else 'conflict' end as _class
        from v left join ({winner}) win on win.h = v._h where v._reason is null""")
    loaded = con.execute("select count(*) from cls where _class = 'loaded'").fetchone()[0]
    if loaded:  # the plan's check failed to see it: counting would leave a loaded row unstaged
        raise RuntimeError(
            f"{spec.name}: {loaded:,} rows of files counted without restaging would be loaded; "
            f"run again with --days {todo[0][0]}..{todo[-1][0]}"
        )
    for day, rel in todo:
        key = manifest[rel]["key"]
        where = f"v._source_file = {lit(rel)} and v._day = {lit(day)}"
        target = day_dir(root, spec.name, day)
        target.mkdir(parents=True, exist_ok=True)
        out = {k: tmp / f"{k}-{key}-{day}.parquet" for k in ("audit", "quarantine", "keys")}
        con.execute(
            f"""copy (
            select {lit(spec.name)} as dataset, _source_file as source_file, _row_number as row_number, _reason as reason, _raw as raw
            from v where {where} and _reason is not null
            union all
            select {lit(spec.name)}, v._source_file, v._row_number,
                   'conflict: key (' || {lit(", ".join(spec.key))} || ') already loaded from '
                       || c._first_file || ' row ' || c._first_row || ' with other values',
                   v._json
            from v join cls c using (_source_file, _row_number) where {where} and c._class = 'conflict'
            ) to {lit(str(out["quarantine"]))} (format parquet)"""
        )
        con.execute(
            f"""copy (
            select {lit(rel)} as source_file, count(*) as rows_read, 0::bigint as rows_loaded,
                   count(*) filter (where v._reason is not null or c._class = 'conflict') as rows_quarantined,
                   count(*) filter (where c._class = 'duplicate') as rows_duplicate
            from v left join cls c using (_source_file, _row_number) where {where}
            ) to {lit(str(out["audit"]))} (format parquet)"""
        )
        con.execute(
            f"copy (select _h as h, _c as c, _source_file, _row_number from v where {where} and _reason is null) "
            f"to {lit(str(out['keys']))} (format parquet)"
        )
        # the audit part last: its presence is what marks the file counted on that day
        keys = keys_dir(root, spec.name, day)
        keys.mkdir(parents=True, exist_ok=True)
        os.replace(out["keys"], keys / f"add-{key}.parquet")
        os.replace(out["quarantine"], target / f"quarantine_add-{key}.parquet")
        os.replace(out["audit"], target / f"audit_add-{key}.parquet")
    for name in ("v", "cls"):
        con.execute(f"drop table if exists {name}")
    return len(todo)


def _counted_files(con, root: Path, dataset: str, day: str) -> set[str]:
    parts = sorted(str(p) for p in day_dir(root, dataset, day).glob("audit_*.parquet"))
    return (
        {r for (r,) in con.execute(f"select distinct source_file from read_parquet({path_list(parts)})").fetchall()}
        if parts
        else set()
    )
