"""Shared fixtures. Tests never write into data/ or reports/ and never touch the repo's
Dagster history: every path points into pytest's tmp dirs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REAL_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "real"


@pytest.fixture(autouse=True, scope="session")
def _isolated_env(tmp_path_factory):
    saved = {
        k: os.environ.get(k)
        for k in ("DAGSTER_HOME", "SERVICELENS_RAW_DIR", "SERVICELENS_WAREHOUSE", "SERVICELENS_REPORT_PDF")
    }
    os.environ.pop("DAGSTER_HOME", None)  # runs use an ephemeral instance
    # end-to-end runs skip the report's PDF layout (5 s a run, ~45 runs): tests/lib/test_report.py
    # lays PDFs out, and test_job_materializes_and_publishes does so through a run
    os.environ["SERVICELENS_REPORT_PDF"] = "0"
    base = tmp_path_factory.mktemp("env")
    os.environ["SERVICELENS_RAW_DIR"] = str(base / "raw")
    os.environ["SERVICELENS_WAREHOUSE"] = str(base / "warehouse.duckdb")
    yield
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


@pytest.fixture(scope="session")
def generated_quarter(tmp_path_factory) -> tuple[Path, Path]:
    """(raw drop, warehouse): the generator's sample quarter at 20,000 requests, run through the
    whole pipeline once per test session (about 40 s); tests read it, never write to it."""
    from click.testing import CliRunner

    from pipeline.cli import main

    base = tmp_path_factory.mktemp("generated_quarter")
    raw, warehouse = base / "raw", base / "wh.duckdb"
    runner = CliRunner()
    res = runner.invoke(main, ["generate", "--out", str(raw), "--requests", "20000", "--seed", "1"])
    assert res.exit_code == 0, res.output
    res = runner.invoke(main, ["run", "--raw", str(raw), "--warehouse", str(warehouse)])
    assert res.exit_code == 0, res.output
    return raw, warehouse


@pytest.fixture
def tiny_drop(tmp_path) -> Path:
    """A small drop with one of every kind of bad row; see tests/fixtures.py."""
    from tests.fixtures import write_tiny_drop

    return write_tiny_drop(tmp_path / "raw")


def real_data(*parts: str) -> Path:
    """A path under ../shared/data/real, or a skip that says clearly why."""
    path = REAL_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"real public data not found at {path} (it lives in ../shared/data/real beside the repo)")
    return path
