"""kill -9 during `servicelens run`, at moments spread over the whole run and at the two
moments that matter most (a generation being written, a publish about to happen): what a
reader of the warehouse sees (the DuckDB file, its views, the Parquet beside it) is either
exactly what it was, or a complete newer generation; the next run succeeds and leaves no
leftovers behind."""

from __future__ import annotations

import hashlib
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from pipeline.lib.generations import Store

pytestmark = [pytest.mark.slow, pytest.mark.serial]


def kill_fractions() -> list[float]:
    """Moments of a run, as fractions of a full one: three in `make test`; `make fuzz` sets
    SERVICELENS_CRASH_KILLS=N for N moments drawn at random (seeded, printed on failure)."""
    n = int(os.environ.get("SERVICELENS_CRASH_KILLS", "0"))
    if not n:
        # the killed runs build one day fewer with every other day built: about half as long as
        # the first, full build these fractions are of (so 0.55 and 0.9 could land after such a run
        # had ended); the two event triggers below cover a run's end
        return [0.1, 0.25, 0.4]
    # drawn over the killed runs' own span, not the full build's: a moment past it kills nothing
    # (seed 29 drew 0.848 and 0.974 of the full build, and both runs had ended)
    rng = random.Random(int(os.environ.get("SERVICELENS_CRASH_SEED", "0")))
    return sorted(round(rng.uniform(0.02, 0.55), 3) for _ in range(n))


# the runs lay the report's PDF out, as `servicelens run` does (the suite skips it elsewhere): the
# moments to kill at are fractions of a full run, and the PDF is a long stretch of one
RUN_ENV = {**os.environ, "SERVICELENS_REPORT_PDF": "1"}


def run_cmd(raw: Path, warehouse: Path) -> list[str]:
    return [sys.executable, "-m", "pipeline.cli", "run", "--raw", str(raw), "--warehouse", str(warehouse)]


def reader_view(warehouse: Path) -> dict:
    """Everything a reader can see, reduced to comparable values."""
    store = Store(warehouse)
    parquet = {}
    root = store.parquet_link
    for path in sorted(root.rglob("*")):  # through the link, as a reader globs it
        if path.is_file():
            parquet[path.relative_to(root).as_posix()] = hashlib.sha256(path.read_bytes()).hexdigest()
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        # the routing groups are a view over the generation's own Parquet folder
        decisions = con.execute(
            "select count(*), sum(hash(model, seg_start, bucket, mask, ord, requests)) from marts.routing_groups"
        ).fetchone()
        requests = con.execute("select count(*) from staging.requests").fetchone()[0]
    finally:
        con.close()
    return {
        "current": store.current(),
        "db": hashlib.sha256(Path(warehouse).read_bytes()).hexdigest(),
        "parquet": parquet,
        "decisions": decisions,
        "requests": requests,
    }


def is_complete_publication(warehouse: Path, view: dict) -> bool:
    """A generation other than the old one is current: it must be whole (its metadata written,
    its row counts equal to what its own file and views hold)."""
    store = Store(warehouse)
    meta = store.meta(view["current"])
    return (
        bool(meta)
        and meta["rows"]["staging.requests"] == view["requests"]
        and meta["rows"]["marts.routing_groups"] == view["decisions"][0]
    )


def wait_then_kill(proc: subprocess.Popen, trigger) -> str:
    """SIGKILL the run when `trigger()` says so; returns what happened."""
    while proc.poll() is None:
        if trigger():
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            return "killed"
        time.sleep(0.02)
    return f"finished (exit {proc.returncode})"


def test_kill_minus_nine_never_changes_what_readers_see(tmp_path):
    raw, warehouse = tmp_path / "raw", tmp_path / "wh.duckdb"
    subprocess.run(
        [sys.executable, "-m", "pipeline.cli", "generate", "--out", str(raw), "--requests", "3000", "--seed", "5"],
        check=True,
        capture_output=True,
    )
    started = time.monotonic()
    first = subprocess.run(run_cmd(raw, warehouse), capture_output=True, text=True, env=RUN_ENV)
    full = time.monotonic() - started
    assert first.returncode == 0, first.stdout[-2000:] + first.stderr[-2000:]
    before = reader_view(warehouse)
    old_generation, first_requests = before["current"], before["requests"]

    # a new drop arrives (one day fewer), and runs over it are killed
    day = sorted((raw / "requests").iterdir())[0]
    removed = (
        duckdb.execute(f"select count(*) from read_parquet('{day}/*.parquet')").fetchone()[0]
        if list(day.glob("*.parquet"))
        else None
    )
    assert removed, f"expected Parquet request files in {day}"
    shutil.rmtree(day)
    store = Store(warehouse)

    def new_generation_dir():
        return [d for d in store.generations.iterdir() if d.name != old_generation]

    outcomes = {}
    for frac in kill_fractions():
        t0 = time.monotonic()
        proc = subprocess.Popen(
            run_cmd(raw, warehouse), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=RUN_ENV
        )
        label = f"{frac:.1%} into a run"
        outcomes[label] = wait_then_kill(proc, lambda t0=t0, frac=frac: time.monotonic() - t0 >= frac * full)
        view = reader_view(warehouse)
        assert view == before or is_complete_publication(warehouse, view), label

    event_triggers = {
        "while the generation is written": lambda: any(new_generation_dir()),
        "with the report rendered, before publishing": lambda: any(
            (d / "reports" / "install.json").exists() for d in new_generation_dir()
        ),
    }
    for label, trigger in event_triggers.items():
        # leftovers of earlier kills would fire the trigger at once: start from none
        for d in new_generation_dir():
            if d.name != store.current():
                shutil.rmtree(d)
        before = reader_view(warehouse)
        proc = subprocess.Popen(
            run_cmd(raw, warehouse), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=RUN_ENV
        )
        outcomes[label] = wait_then_kill(proc, trigger)
        view = reader_view(warehouse)
        assert view == before or is_complete_publication(warehouse, view), label
    missed = {label: o for label, o in outcomes.items() if o != "killed"}
    assert len(missed) <= 1, f"runs that ended before their kill: {missed}"

    # leftovers are there now (half-built generations, scratch folders); the next run cleans them
    final = subprocess.run(run_cmd(raw, warehouse), capture_output=True, text=True, env=RUN_ENV)
    assert final.returncode == 0, final.stdout[-2000:] + final.stderr[-2000:]
    after = reader_view(warehouse)
    assert after["current"] != old_generation
    hidden = [p for p in store.work.rglob("*") if p.name.startswith(".")]
    assert hidden == [], hidden[:5]
    gens = sorted(d.name for d in store.generations.iterdir())
    assert all(store.is_complete(g) for g in gens), gens
    assert len(gens) <= 3 and store.current() in gens
    assert not [p for p in store.base.iterdir() if p.name.startswith(".")]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
    # what is published is the new drop: one day fewer than the first run loaded
    con = duckdb.connect(str(warehouse), read_only=True)
    loaded = con.execute("select sum(rows_loaded) from marts.ingest_audit where dataset = 'requests'").fetchone()[0]
    con.close()
    assert after["requests"] == loaded and first_requests - removed <= loaded < first_requests
    assert os.path.islink(warehouse)
