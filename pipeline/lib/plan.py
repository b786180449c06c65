"""Which days a run must rebuild: a signature per UTC day of everything that day's partitions
are built from, compared with the signatures the published generation was built from.

A day's signature covers
- the content of every file with rows on that day, per time series (the parse cache's
  manifest), and the latency probe files of the day before (the routing of a day's first hour
  reads the previous hour's probes);
- the models (family and official provider feed every day), and the endpoints and price
  snapshots in force during the day (a price correction changes only the days it was in force);
- the code that builds the partitions (sql/staging, sql/core and the engine's modules): new code
  rebuilds every day.
Days whose signature changed, appeared or disappeared are rebuilt, widened to the days whose rows
change class with them (pipeline/lib/staging.py), except the days whose only change is new request
files whose every row repeats a key loaded before it: those are recounted, not rebuilt.
Everything downstream of the days (the marts) is always rebuilt from the per-day partials, which
is cheap.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.lib.contract import DATASETS
from pipeline.lib.duck import connect, parquet_glob
from pipeline.lib.parse_cache import ENGINE_CODE, TS_DATASETS, code_files, load_manifest
from pipeline.paths import SQL_DIR, staging_dir

_CODE = (*ENGINE_CODE, "routing/", "demand.py", "service.py")


@dataclass
class Plan:
    days: list[str]  # every day with rows in some time series
    dirty: list[str]  # the days to rebuild, widened
    signatures: dict[str, str] = field(default_factory=dict)
    reasons: dict[str, str] = field(default_factory=dict)  # day -> why (first reason found)
    recount: dict[str, list[str]] = field(default_factory=dict)  # day -> its new request files, counted, not rebuilt
    inputs: dict = field(default_factory=dict)  # day_inputs


# Everything the published tables and the report come from: a change of any of it (an upgrade of
# servicelens) rebuilds the marts, the warehouse and the report even when the drop is unchanged.
# The days are rebuilt only when the code they are staged and aggregated with (_code_hash) changed.
# The registry of outputs (pipeline/registry/*.yaml) counts as code: it decides the warehouse's
# comments and what the factory marts read.
OUTPUT_CODE = (
    (Path(__file__).resolve().parents[1], "*.py"),
    (SQL_DIR, "*.sql"),
    (Path(__file__).resolve().parents[1] / "registry", "*.yaml"),
)


def output_code_hash(roots: tuple[tuple[Path, str], ...] = OUTPUT_CODE) -> str:
    """One hash of every file under `roots` matching its pattern (relative path and bytes)."""
    h = hashlib.blake2b(digest_size=16)
    for root, pattern in roots:
        for p in sorted(root.rglob(pattern)):
            if "__pycache__" not in p.parts:
                h.update(str(p.relative_to(root)).encode() + b"\0" + p.read_bytes())
    return h.hexdigest()


def _code_hash() -> str:
    h = hashlib.blake2b(digest_size=16)
    for folder in ("staging", "core"):
        for p in sorted((SQL_DIR / folder).glob("*.sql")):
            h.update(p.name.encode() + b"\0" + p.read_bytes())
    for name, path in code_files(_CODE):
        h.update(name.encode() + b"\0" + path.read_bytes())
    return h.hexdigest()


def _dims_by_day(root: Path, days: list[str]) -> dict[str, str]:
    """Per day: a hash of the models, and of the endpoint rows and price snapshots in force
    during the day (a snapshot holds until the next one of its provider and model)."""
    out = dict.fromkeys(days, "")
    if not days:
        return out
    con = connect()
    try:
        con.execute("create temp table days as select cast(unnest($d) as date) as day", {"d": days})
        models = parquet_glob(staging_dir(root, "models"))
        models_hash = (
            con.execute("select coalesce(sum(hash(m)), 0) from read_parquet($g) as m", {"g": models}).fetchone()[0]
            if models
            else 0
        )
        parts = {d: [str(models_hash)] for d in days}
        endpoints = parquet_glob(staging_dir(root, "endpoints"))
        if endpoints:
            for day, h in con.execute(
                "select strftime(d.day, '%Y-%m-%d'), sum(hash(e)) from days d join read_parquet($g) as e "
                "on e.valid_from < d.day + interval 1 day and (e.valid_to is null or e.valid_to > d.day) group by all",
                {"g": endpoints},
            ).fetchall():
                parts[day].append(f"e{h}")
        prices = parquet_glob(staging_dir(root, "prices"))
        if prices:
            for day, h in con.execute(
                "with p as (select *, lead(snapshot_ts) over (partition by provider, model order by snapshot_ts) as next_ts "
                "from read_parquet($g, hive_partitioning = true)) "
                "select strftime(d.day, '%Y-%m-%d'), sum(hash(p.provider, p.model, p.snapshot_ts, p.input_usd_per_mtok, "
                "p.output_usd_per_mtok, p.cached_input_usd_per_mtok)) from days d join p "
                "on p.snapshot_ts < d.day + interval 1 day and (p.next_ts is null or p.next_ts > d.day) group by all",
                {"g": prices},
            ).fetchall():
                parts[day].append(f"p{h}")
        return {d: "|".join(v) for d, v in parts.items()}
    finally:
        con.close()


def day_inputs(root: Path) -> dict[str, tuple[str, list[str]]]:
    """Per day with rows in some time series: a hash of everything its partitions are built from
    but the request files, and its request files' entries (path, content and the day's rows).
    Kept apart so that a day whose only change is a new request file can be told from the rest."""
    root = Path(root)
    manifests = {name: load_manifest(root, name) for name in TS_DATASETS}
    files_by_day: dict[str, dict[str, list[str]]] = {}
    for name, manifest in manifests.items():
        for rel, meta in manifest["files"].items():
            for day in meta.get("days", {}):
                files_by_day.setdefault(day, {}).setdefault(name, []).append(
                    f"{rel}\0{meta['content']}\0{meta['days'][day]}"
                )
    days = sorted(files_by_day)
    code = _code_hash()
    dims = _dims_by_day(root, days)
    out = {}
    for day in days:
        h = hashlib.blake2b(digest_size=16)
        h.update(code.encode())
        for name in TS_DATASETS:
            h.update(f"\n{name}\0{manifests[name].get('version')}\0".encode())
            if name != "requests":
                h.update("\n".join(sorted(files_by_day[day].get(name, []))).encode())
        before = (dt.date.fromisoformat(day) - dt.timedelta(days=1)).isoformat()
        h.update(
            b"\nprobes before\0" + "\n".join(sorted(files_by_day.get(before, {}).get("latency_probes", []))).encode()
        )
        h.update(b"\ndims\0" + dims[day].encode())
        out[day] = (h.hexdigest(), sorted(files_by_day[day].get("requests", [])))
    return out


def _signature(rest: str, request_files: list[str]) -> str:
    return hashlib.blake2b((rest + "\n" + "\n".join(request_files)).encode(), digest_size=16).hexdigest()


def signatures(root: Path, inputs: dict[str, tuple[str, list[str]]] | None = None) -> dict[str, str]:
    """The signature of every day with rows in some time series."""
    inputs = day_inputs(root) if inputs is None else inputs
    return {day: _signature(*parts) for day, parts in inputs.items()}


def _added_request_files(before: tuple[str, list[str]] | list, now: tuple[str, list[str]]) -> list[str] | None:
    """The request files new on a day whose only change is new request files (None otherwise):
    nothing else it is built from changed, and every file it had is there unchanged."""
    rest_before, files_before = before
    rest_now, files_now = now
    if rest_before != rest_now or not set(files_before) < set(files_now):
        return None
    old_paths = {e.split("\0")[0] for e in files_before}
    added = [e.split("\0")[0] for e in sorted(set(files_now) - set(files_before))]
    return None if any(p in old_paths for p in added) else added


def plan(
    root: Path,
    built: dict[str, str] | None,
    full: bool = False,
    force: tuple[str, str] | None = None,
    built_inputs: dict | None = None,
) -> Plan:
    """The days to rebuild, against the signatures `built` (those of the published generation;
    None: nothing was built yet), plus the days with rows in the span `force` (a backfill).

    A day whose only change is new request files whose every row repeats the key of a row already
    loaded before it (the usual duplicates and conflicts of a daily file) is not rebuilt: its staged
    rows stay as they are and only the new files' rows are counted (`recount`), which needs the
    published generation's `built_inputs` (day_inputs)."""
    inputs = day_inputs(root)
    now = signatures(root, inputs)
    reasons = _changed_days(now, built, full)
    if force is not None:
        _add_forced_days(reasons, now, force)
    recount = _recount_candidates(reasons, inputs, built_inputs) if built_inputs and not full else {}
    dirty, recount = _settle(root, now, reasons, recount)
    return Plan(
        days=sorted(set(now) | dirty),
        dirty=sorted(dirty),
        signatures=now,
        reasons=reasons,
        recount=recount,
        inputs=inputs,
    )


def _changed_days(now: dict[str, str], built: dict[str, str] | None, full: bool) -> dict[str, str]:
    """Day -> why it is rebuilt, for every day whose signature is not the one it was built with
    (all of them on a full rebuild or a first build)."""
    if full or built is None:
        return {d: "full rebuild" if full else "first build" for d in now}
    reasons: dict[str, str] = {}
    for d, sig in now.items():
        if d not in built:
            reasons[d] = "new day"
        elif built[d] != sig:
            reasons[d] = "inputs changed"
    for d in built:
        if d not in now:
            reasons[d] = "no rows left"
    return reasons


def _add_forced_days(reasons: dict[str, str], now: dict[str, str], force: tuple[str, str]) -> None:
    """The days with rows in the span `force` (a backfill), added to `reasons`."""
    for d in now:
        if force[0] <= d <= force[1] and d not in reasons:
            reasons[d] = "asked for"


def _recount_candidates(
    reasons: dict[str, str], inputs: dict[str, tuple[str, list[str]]], built_inputs: dict
) -> dict[str, list[str]]:
    """Day -> its new request files, for the changed days whose only change is new request files."""
    recount: dict[str, list[str]] = {}
    for d, why in reasons.items():
        if why == "inputs changed" and d in built_inputs:
            added = _added_request_files(built_inputs[d], inputs[d])
            if added:
                recount[d] = added
    return recount


def _settle(
    root: Path, now: dict[str, str], reasons: dict[str, str], recount: dict[str, list[str]]
) -> tuple[set[str], dict[str, list[str]]]:
    """The days to rebuild and the days to recount: the changed days not recounted, widened to
    the days that share a request_id with them (added to `reasons`), and the recount days whose
    new rows do not all repeat a key loaded before them; until nothing changes."""
    from pipeline.lib.recount import recount_failures
    from pipeline.lib.staging import widen_to_shared_keys

    dirty = set(reasons) - set(recount)
    while True:
        if dirty and set(now) - dirty:
            widened = widen_to_shared_keys(DATASETS["requests"], root, dirty)
            for d in widened - dirty:
                reasons.setdefault(d, "shares a request_id with a changed day")
            dirty |= widened
        recount = {d: f for d, f in recount.items() if d not in dirty}
        failed = recount_failures(DATASETS["requests"], root, recount, dirty) if recount else set()
        if not failed:
            return dirty, recount
        dirty |= failed


def day_spans(days: list[str]) -> str:
    """Days as runs of consecutive dates: "2025-10-01..2025-10-03,2025-12-31"."""
    out: list[list[dt.date]] = []
    for d in sorted(dt.date.fromisoformat(x) for x in set(days)):
        if out and d - out[-1][1] == dt.timedelta(days=1):
            out[-1][1] = d
        else:
            out.append([d, d])
    return ",".join(a.isoformat() if a == b else f"{a.isoformat()}..{b.isoformat()}" for a, b in out)


NO_DAYS = "none"


def parse_day_spans(text: str) -> set[str]:
    """The inverse of `day_spans` (and NO_DAYS: the empty set)."""
    days: set[str] = set()
    for part in filter(None, (p.strip() for p in text.split(","))):
        if part == NO_DAYS:
            continue
        first, _, last = part.partition("..")
        a, b = dt.date.fromisoformat(first), dt.date.fromisoformat(last or first)
        days |= {(a + dt.timedelta(days=i)).isoformat() for i in range((b - a).days + 1)}
    return days


def drop_fingerprint(root: Path) -> str:
    """One hash of everything a generation is built from: every time-series file's content (and
    the parse version), every staged dimension's rows, and the code (all of it: see
    OUTPUT_CODE). Equal fingerprints: the published generation already holds this drop."""
    root = Path(root)
    h = hashlib.blake2b(digest_size=16)
    h.update(_code_hash().encode())
    h.update(output_code_hash().encode())
    for name in TS_DATASETS:
        manifest = load_manifest(root, name)
        h.update(f"\n{name}\0{manifest.get('version')}\0".encode())
        for rel, meta in sorted(manifest["files"].items()):
            h.update(f"{rel}\0{meta.get('content')}\0{meta.get('file_error')}\n".encode())
    con = connect()
    try:
        for name in DATASETS:
            if name in TS_DATASETS:
                continue
            glob = parquet_glob(staging_dir(root, name))
            value = (
                con.execute(
                    "select count(*), coalesce(sum(hash(t)), 0) from read_parquet($g, hive_partitioning = true) as t",
                    {"g": glob},
                ).fetchone()
                if glob
                else (0, 0)
            )
            h.update(f"\n{name}\0{value}".encode())
    finally:
        con.close()
    return h.hexdigest()
