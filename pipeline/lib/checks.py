"""Contract checks, computed from what was written (not from the engine's own counters)."""

from __future__ import annotations

from pathlib import Path

import duckdb

from pipeline.lib.contract import Dataset
from pipeline.lib.duck import connect, parquet_glob, q
from pipeline.lib.ingest import discover
from pipeline.paths import ingest_dir, staged_day_files, staging_dir


def duplicate_keys(root: Path, spec: Dataset, days: list[str] | None = None) -> int:
    """Number of key values that occur more than once in the staged table. With `days` (the days
    a step just staged; the others are unchanged since they last passed), only keys that can
    involve those days are counted: repeats within them, and repeats between them and any other
    day, found through the other days' key-hash index and confirmed on the staged rows. The same
    count as the whole-table check whenever the untouched days passed it, without reading every
    key of the history (10^8 strings at 100M requests)."""
    glob = parquet_glob(staging_dir(root, spec.name))
    if glob is None:
        return 0
    key = ", ".join(q(k) for k in spec.key)
    con = connect()
    try:
        if days is None:
            return con.execute(
                f"select count(*) from (select {key} from read_parquet($g, hive_partitioning = true) "
                f"group by all having count(*) > 1)",
                {"g": glob},
            ).fetchone()[0]
        files = staged_day_files(root, spec.name, days)
        if not files:
            return 0
        within = con.execute(
            f"select count(*) from (select {key} from read_parquet($f, union_by_name = true) group by all having count(*) > 1)",
            {"f": files},
        ).fetchone()[0]
        index = ingest_dir(root, spec.name) / "keys"
        others = [
            str(p) for p in sorted(index.glob("day=*/*.parquet")) if p.parent.name.removeprefix("day=") not in set(days)
        ]
        if not others:
            return within
        shared = [
            h
            for (h,) in con.execute(
                f"select distinct h from read_parquet($o) where h in (select hash({key}) from read_parquet($f, union_by_name = true))",
                {"o": others, "f": files},
            ).fetchall()
        ]
        if not shared:
            return within
        # a hash of these days' keys seen on another day: count exactly, over the whole table, the
        # keys with those hashes held once on these days and again elsewhere (held twice or more
        # on these days, a key was counted above)
        return (
            within
            + con.execute(
                f"""select count(*) from (
                select {key}, count(*) filter (where not (date::varchar in (select unnest($d)))) as elsewhere
                from read_parquet($g, hive_partitioning = true) where hash({key}) in (select unnest($h))
                group by all having elsewhere > 0 and count(*) - elsewhere = 1)""",
                {"g": glob, "h": shared, "d": sorted(days)},
            ).fetchone()[0]
        )
    finally:
        con.close()


def _footer_rows(path: str) -> int | None:
    """A Parquet file's row count from its footer; None when the footer cannot be read."""
    import pyarrow.parquet as pq

    try:
        return pq.ParquetFile(path).metadata.num_rows
    except Exception:  # noqa: BLE001 - a footer that cannot be read has no count to compare
        return None


def accounting_problems(root: Path, spec: Dataset, raw_dir: Path) -> list[str]:
    """Every way the audit of one dataset fails to account for its rows (empty: all good)."""
    audit = ingest_dir(root, spec.name) / "audit.parquet"
    quarantine = ingest_dir(root, spec.name) / "quarantine.parquet"
    glob = parquet_glob(staging_dir(root, spec.name))
    con = connect()
    try:
        problems = [
            f"{f}: rows_read {r} != loaded {loaded} + quarantined {qn} + duplicate {d}"
            for f, r, loaded, qn, d in con.execute(
                "select source_file, rows_read, rows_loaded, rows_quarantined, rows_duplicate from read_parquet($a) "
                "where rows_read <> rows_loaded + rows_quarantined + rows_duplicate",
                {"a": str(audit)},
            ).fetchall()
        ]
        loaded = con.execute(
            "select coalesce(sum(rows_loaded), 0) from read_parquet($a)", {"a": str(audit)}
        ).fetchone()[0]
        staged = (
            con.execute("select count(*) from read_parquet($g, hive_partitioning = true)", {"g": glob}).fetchone()[0]
            if glob
            else 0
        )
        if loaded != staged:
            problems.append(f"audit says {loaded} rows loaded, staged table has {staged}")
        per_file = dict(
            con.execute(
                "select source_file, count(*) from read_parquet($q) where row_number is not null group by all",
                {"q": str(quarantine)},
            ).fetchall()
        )
        for f, n in con.execute(
            "select source_file, rows_quarantined from read_parquet($a)", {"a": str(audit)}
        ).fetchall():
            if per_file.get(f, 0) != n:
                problems.append(f"{f}: audit says {n} quarantined, quarantine has {per_file.get(f, 0)} rows")
        # Parquet footers carry their own row count: an independent rows_read.
        # (one metadata query for all readable files; unreadable ones have no footer to read)
        read = dict(
            con.execute(
                "select source_file, rows_read from read_parquet($a) where file_error is null", {"a": str(audit)}
            ).fetchall()
        )
        parquet = {
            str(sf.path): sf.rel for sf in discover(raw_dir, spec.name) if sf.fmt == "parquet" and sf.rel in read
        }
        if parquet:
            try:
                footers = con.execute(
                    "select file_name, sum(num_rows) from parquet_file_metadata($files) group by all",
                    {"files": list(parquet)},
                ).fetchall()
            except duckdb.Error:
                # DuckDB builds every footer string (created_by, ...) as text and stops at one
                # that is not UTF-8; the row count alone is read with Arrow, file by file.
                footers = [(path, _footer_rows(path)) for path in parquet]
            for path, n in footers:
                if n is not None and n != read[parquet[path]]:
                    problems.append(f"{parquet[path]}: footer has {n} rows, audit read {read[parquet[path]]}")
        return problems
    finally:
        con.close()
