"""core_demand__daily and family_demand on a tiny world worked out by hand."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from pipeline.lib.duck import connect
from pipeline.sql import load_sql


@pytest.fixture
def files(tmp_path):
    # 3 requests of m1 (family a) and 1 of m2 (family b) on Oct 1, one m2 on Nov 2.
    # r1 has sample_rate 0.1: it stands for 10 requests.
    requests = pl.DataFrame(
        {
            "date": [dt.date(2025, 10, 1)] * 4 + [dt.date(2025, 11, 2)],
            "model": ["m1", "m1", "m1", "m2", "m2"],
            "provider": ["p", "p", "q", "p", "p"],
            "input_tokens": [100, 10, 10, 50, 20],
            "output_tokens": [0, 10, 10, 50, 20],
            "sample_rate": [0.1, 1.0, 1.0, 0.5, 1.0],
        }
    )
    models = pl.DataFrame({"model": ["m1", "m2"], "family": ["a", "b"]})
    r, m = tmp_path / "requests.parquet", tmp_path / "models.parquet"
    requests.write_parquet(r)
    models.write_parquet(m)
    return r, m, tmp_path / "daily.parquet"


def test_daily_demand_is_sample_weighted(files):
    r, m, daily = files
    con = connect()
    con.execute(
        f"copy ({load_sql('core/core_demand__daily')}) to $out (format parquet)",
        {"requests": str(r), "models": str(m), "out": str(daily)},
    )
    rows = con.execute(
        "select date, month, quarter, model, provider, requests, tokens from read_parquet($p)", {"p": str(daily)}
    ).fetchall()
    assert {(str(d), mo, q) for d, mo, q, *_ in rows} == {
        ("2025-10-01", "2025-10", "2025Q4"),
        ("2025-11-02", "2025-11", "2025Q4"),
    }
    got = {(str(d), m, p): (req, tok) for d, _, _, m, p, req, tok in rows}
    assert got == {
        ("2025-10-01", "m1", "p"): (pytest.approx(11.0), pytest.approx(100 / 0.1 + 20)),  # 10 + 1 requests
        ("2025-10-01", "m1", "q"): (pytest.approx(1.0), pytest.approx(20.0)),
        ("2025-10-01", "m2", "p"): (pytest.approx(2.0), pytest.approx(200.0)),  # 1 / 0.5
        ("2025-11-02", "m2", "p"): (pytest.approx(1.0), pytest.approx(40.0)),
    }


def test_family_demand_by_quarter_and_month(files):
    r, m, daily = files
    con = connect()
    con.execute(
        f"copy ({load_sql('core/core_demand__daily')}) to $out (format parquet)",
        {"requests": str(r), "models": str(m), "out": str(daily)},
    )
    rows = con.execute(load_sql("marts/family_demand"), {"daily": str(daily)}).fetchall()
    got = {(p, f): (req, share, rank) for p, _, f, req, _, share, _, rank in rows}
    # quarter: a = 12, b = 3 requests -> shares 0.8 / 0.2
    assert got[("2025Q4", "a")] == (pytest.approx(12.0), pytest.approx(0.8), 1)
    assert got[("2025Q4", "b")] == (pytest.approx(3.0), pytest.approx(0.2), 2)
    # October: a = 12, b = 2; November: only b
    assert got[("2025-10", "b")][1] == pytest.approx(2 / 14)
    assert got[("2025-11", "b")] == (pytest.approx(1.0), pytest.approx(1.0), 1)
    assert ("2025-11", "a") not in got
