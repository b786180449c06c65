"""`servicelens generations list / rollback` over two real runs of the tiny drop."""

from __future__ import annotations

import duckdb
import pytest
from click.testing import CliRunner

from pipeline.cli import main
from pipeline.lib.generations import Store
from pipeline.lib.runner import run_pipeline

pytestmark = pytest.mark.slow


def _requests(warehouse) -> int:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute("select count(*) from staging.requests").fetchone()[0]
    finally:
        con.close()


def test_list_and_roll_back(tiny_drop, tmp_path):
    warehouse = tmp_path / "wh.duckdb"
    assert run_pipeline(tiny_drop, warehouse, echo=lambda _m: None, log_level="ERROR")
    first, first_requests = Store(warehouse).current(), _requests(warehouse)
    # the second drop lacks a.csv (tests/fixtures.py): of the 4 loaded requests it held r1, r2 and r11;
    # b.parquet's r1 and r2, duplicates of a.csv rows before, now load beside its r12: 3 requests
    (tiny_drop / "requests" / "date=2025-10-01" / "a.csv").unlink()
    assert run_pipeline(tiny_drop, warehouse, echo=lambda _m: None, log_level="ERROR")
    second = Store(warehouse).current()
    assert (first_requests, _requests(warehouse)) == (4, 3)

    runner = CliRunner()
    res = runner.invoke(main, ["generations", "list", "--warehouse", str(warehouse)])
    assert res.exit_code == 0, res.output
    lines = res.output.splitlines()
    assert lines[1].startswith(f"  {first}") and lines[2].startswith(f"* {second}")
    assert lines[1].split()[3] == "4" and lines[2].split()[4] == "3"

    res = runner.invoke(main, ["generations", "rollback", "--warehouse", str(warehouse)])
    assert res.exit_code == 0, res.output
    assert res.output.strip() == f"{warehouse} now shows generation {first} (was {second})"
    assert _requests(warehouse) == 4

    res = runner.invoke(main, ["generations", "rollback", "nope", "--warehouse", str(warehouse)])
    assert res.exit_code == 1 and res.output.startswith("Error: no complete generation 'nope'")
    assert len(res.output.strip().splitlines()) == 1

    res = runner.invoke(main, ["generations", "list", "--warehouse", str(tmp_path / "other.duckdb")])
    assert res.exit_code == 1 and "has no generations" in res.output
