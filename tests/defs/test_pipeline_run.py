"""The whole Dagster job on small drops: materialization, checks, atomic publish, CLI."""

from __future__ import annotations

import hashlib
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

from pipeline.lib.runner import run_pipeline
from tests.fixtures import EXPECTED

pytestmark = pytest.mark.slow


def _query(warehouse, sql):
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_job_materializes_and_publishes(tiny_drop, tmp_path, monkeypatch):
    monkeypatch.setenv("SERVICELENS_REPORT_PDF", "1")  # this run lays the PDF out, as `make run` does
    warehouse = tmp_path / "wh.duckdb"
    lines = []
    assert run_pipeline(tiny_drop, warehouse, echo=lines.append, log_level="WARNING")
    pdf = next(line for line in lines if line.strip().startswith("report pdf:")).split("report pdf:")[1].strip()
    assert Path(pdf).read_bytes()[:5] == b"%PDF-"
    audit = {
        (d, f): (r, ld, q, du)
        for d, f, r, ld, q, du in _query(
            warehouse,
            "select dataset, source_file, rows_read, rows_loaded, rows_quarantined, rows_duplicate from marts.ingest_audit",
        )
    }
    assert audit == EXPECTED
    assert _query(warehouse, "select count(*) from marts.quarantine where row_number is not null")[0][0] == sum(
        v[2] for v in EXPECTED.values()
    )
    loaded_requests = sum(v[1] for (d, _), v in EXPECTED.items() if d == "requests")
    assert _query(warehouse, "select count(*) from staging.requests")[0][0] == loaded_requests
    assert any("Warehouse:" in line for line in lines)
    # the Parquet beside the warehouse holds the same staged rows
    n = duckdb.execute(
        f"select count(*) from read_parquet('{tmp_path / 'wh' / 'staging' / 'requests'}/**/*.parquet')"
    ).fetchone()[0]
    assert n == loaded_requests


def test_a_run_that_dies_midway_leaves_the_previous_warehouse(tiny_drop, tmp_path, monkeypatch):
    warehouse = tmp_path / "wh.duckdb"
    assert run_pipeline(tiny_drop, warehouse, echo=lambda _m: None, log_level="ERROR")
    before = hashlib.sha256(warehouse.read_bytes()).hexdigest()

    # A new drop arrives, and the run crashes while publishing (after staging succeeded).
    (tiny_drop / "requests" / "date=2025-10-01" / "a.csv").unlink()
    import pipeline.lib.warehouse as wh

    def crash_after_the_tables(con):
        # every table and view of the new file is written by now; its comments and the commit are not
        raise RuntimeError("simulated crash while writing the warehouse")

    monkeypatch.setattr(wh, "comment_statements", crash_after_the_tables)
    assert not run_pipeline(tiny_drop, warehouse, echo=lambda _m: None, log_level="CRITICAL")
    assert hashlib.sha256(warehouse.read_bytes()).hexdigest() == before
    assert not list(tmp_path.glob(".wh.duckdb.*")), "temporary warehouse file left behind"


def test_cli_run_then_query(tiny_drop, tmp_path):
    from pipeline.cli import main

    warehouse = tmp_path / "wh.duckdb"
    runner = CliRunner()
    url = f"memory://servicelens-{tmp_path.name}"  # --mirror: then the same generation on object storage
    res = runner.invoke(main, ["run", "--raw", str(tiny_drop), "--warehouse", str(warehouse), "--mirror", url])
    assert res.exit_code == 0, res.output
    assert "requests" in res.output and str(warehouse) in res.output
    assert f"{url} now serves generation " in res.output.splitlines()[-1]
    # the tiny drop's two unreadable files are named on screen, not only counted
    assert (
        "unreadable: latency_probes/notes.txt: unsupported file type .txt: expected .parquet, .csv or .jsonl"
        in res.output
    )
    assert "unreadable: latency_probes/broken.parquet: " in res.output
    res = runner.invoke(
        main,
        [
            "query",
            "select sum(rows_read) as n from marts.ingest_audit",
            "--warehouse",
            str(warehouse),
            "--format",
            "csv",
        ],
    )
    assert res.exit_code == 0, res.output
    assert res.output.splitlines() == ["n", str(sum(v[0] for v in EXPECTED.values()))]
    there = runner.invoke(
        main, ["query", "select sum(rows_read) as n from marts.ingest_audit", "--remote", url, "--format", "csv"]
    )
    assert there.exit_code == 0 and there.output == res.output, there.output
    res = runner.invoke(main, ["query", "select * from no_such_table", "--warehouse", str(warehouse)])
    assert res.exit_code != 0 and "no_such_table" in res.output


def test_cli_generate_then_run_accounts_for_every_planted_row(tmp_path):
    import json

    from pipeline.cli import main

    raw, warehouse = tmp_path / "raw", tmp_path / "wh.duckdb"
    runner = CliRunner()
    res = runner.invoke(
        main, ["generate", "--out", str(raw), "--requests", "4000", "--seed", "3", "--bad-row-fraction", "0.01"]
    )
    assert res.exit_code == 0, res.output
    manifest = json.loads((raw / "_manifest.json").read_text())
    res = runner.invoke(main, ["run", "--raw", str(raw), "--warehouse", str(warehouse)])
    assert res.exit_code == 0, res.output
    got = {
        d: {"loaded": ld, "quarantined": q, "duplicate": du}
        for d, ld, q, du in _query(
            warehouse,
            "select dataset, sum(rows_loaded), sum(rows_quarantined), sum(rows_duplicate) from marts.ingest_audit group by 1",
        )
    }
    assert got == manifest["expected"]
    assert _query(warehouse, "select count(*) from staging.requests")[0][0] == 4000


def test_cli_rejects_a_missing_drop_folder(tmp_path):
    from pipeline.cli import main

    res = CliRunner().invoke(main, ["run", "--raw", str(tmp_path / "nope"), "--warehouse", str(tmp_path / "w.duckdb")])
    assert res.exit_code == 2 and "does not exist" in res.output


def test_demand_marts_are_published_and_consistent(tiny_drop, tmp_path):
    warehouse = tmp_path / "wh.duckdb"
    assert run_pipeline(tiny_drop, warehouse, echo=lambda _m: None, log_level="ERROR")
    # tiny drop: loaded requests r1 (m1, weight 2), r2 (m1, weight 1, 2025-09-30 UTC), r11 (m1, weight 4), r12 (m1, weight 1)
    # all of family "fam": one family holds everything in each quarter
    got = _query(
        warehouse,
        "select period, family, requests, request_share, rank from marts.family_demand where period_type = 'quarter' order by 1",
    )
    assert got == [("2025Q3", "fam", 1.0, 1.0, 1), ("2025Q4", "fam", 7.0, 1.0, 1)]
    conc = _query(
        warehouse,
        "select n, top1_share, gini, hhi from marts.concentration where period = '2025Q4' and level = 'family' and measure = 'requests'",
    )
    assert conc == [(1, 1.0, 0.0, 1.0)]
    # provider level in 2025Q4: p1 has r1 (2) + r11 (4) = 6, p2 has r12 (1): shares 6/7, 1/7
    ((n, top1, hhi_),) = _query(
        warehouse,
        "select n, top1_share, hhi from marts.concentration where period = '2025Q4' and level = 'provider' and measure = 'requests'",
    )
    assert (n, top1) == (2, pytest.approx(6 / 7)) and hhi_ == pytest.approx((6 / 7) ** 2 + (1 / 7) ** 2)


def _tree_digest(folder) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_a_published_generation_never_changes_when_the_next_run_rewrites_the_working_parquet(tiny_drop, tmp_path):
    from pipeline.lib.generations import Store

    warehouse = tmp_path / "wh.duckdb"
    assert run_pipeline(tiny_drop, warehouse, echo=lambda _m: None, log_level="ERROR")
    store = Store(warehouse)
    first = store.current()
    before = _tree_digest(store.gen_dir(first))
    (tiny_drop / "requests" / "date=2025-10-01" / "a.csv").unlink()  # a different drop: every table is rewritten
    lines = []
    assert run_pipeline(tiny_drop, warehouse, echo=lines.append, log_level="ERROR")
    assert store.current() != first
    assert _tree_digest(store.gen_dir(first)) == before
    assert any(f"(generation {store.current()}; previous: {first})" in line for line in lines)
    # readers see the new drop: a.csv held 16 of the tiny drop's request rows
    assert _query(warehouse, "select count(*) from marts.ingest_audit where source_file like '%a.csv'")[0][0] == 0


def test_a_failed_contract_check_publishes_nothing_and_says_so(tiny_drop, tmp_path, monkeypatch):
    import pipeline.defs.ingest.assets as ingest_assets
    from pipeline.lib.generations import Store

    warehouse = tmp_path / "wh.duckdb"
    assert run_pipeline(tiny_drop, warehouse, echo=lambda _m: None, log_level="ERROR")
    first = Store(warehouse).current()
    before = hashlib.sha256(warehouse.read_bytes()).hexdigest()
    monkeypatch.setattr(
        ingest_assets, "accounting_problems", lambda root, spec, raw: ["made up"] if spec.name == "requests" else []
    )
    lines = []
    # the same drop again, rebuilt in full (an unchanged drop is otherwise a no-op)
    assert not run_pipeline(tiny_drop, warehouse, echo=lines.append, log_level="CRITICAL", full=True)
    assert Store(warehouse).current() == first
    assert hashlib.sha256(warehouse.read_bytes()).hexdigest() == before
    assert "check rows_accounted on stg_requests FAILED (ERROR)" in lines
    assert lines[-1].startswith("run failed after") and lines[-1].endswith(
        f"nothing was published: readers of {warehouse} still see generation {first}"
    )


def test_a_run_refuses_to_publish_over_a_warehouse_open_for_writing(tiny_drop, tmp_path):
    import subprocess
    import sys

    from pipeline.lib.generations import Store

    warehouse = tmp_path / "wh.duckdb"
    assert run_pipeline(tiny_drop, warehouse, echo=lambda _m: None, log_level="ERROR")
    first = Store(warehouse).current()
    hold = "import duckdb, sys; con = duckdb.connect(sys.argv[1]); print('open', flush=True); sys.stdin.readline(); con.close()"
    proc = subprocess.Popen(
        [sys.executable, "-c", hold, str(warehouse)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout.readline().strip() == "open"
        lines = []
        assert not run_pipeline(tiny_drop, warehouse, echo=lines.append, log_level="CRITICAL")
        assert len(lines) == 1 and lines[0].startswith(f"Error: {warehouse} is open for writing by ")
        assert f"(PID {proc.pid}): nothing was published" in lines[0]
    finally:
        proc.communicate("\n", timeout=30)
    assert Store(warehouse).current() == first
    assert run_pipeline(tiny_drop, warehouse, echo=lambda _m: None, log_level="ERROR", full=True)
    assert Store(warehouse).current() != first


def test_simulate_never_writes_into_the_published_generation(tiny_drop, tmp_path):
    from pipeline.cli import main
    from pipeline.lib.generations import Store

    warehouse = tmp_path / "wh.duckdb"
    assert run_pipeline(tiny_drop, warehouse, echo=lambda _m: None, log_level="ERROR")
    gen = Store(warehouse).gen_dir(Store(warehouse).current())
    before = _tree_digest(gen)
    res = CliRunner().invoke(main, ["simulate", "--policy", "cheapest", "--model", "m1", "--warehouse", str(warehouse)])
    assert res.exit_code == 0, res.output
    assert _tree_digest(gen) == before
    assert not [p for p in gen.rglob("*") if p.name.startswith(".")]
