"""marts.error_type_shares on a hand-made error matrix: errors by type over every provider in each
source, their shares of the source's errors, and a type seen in one source only."""

from __future__ import annotations

import polars as pl
import pytest

from pipeline.lib.duck import connect
from pipeline.sql import load_sql


def row(provider, source, error_type, error_class, errors):
    return {
        "period": "2025Q4",
        "period_type": "quarter",
        "provider": provider,
        "source": source,
        "error_type": error_type,
        "error_class": error_class,
        "held_against_provider": error_class != "client",
        "errors": errors,
        "attempts": 1000.0,
        "rate": errors / 1000.0,
    }


def run(tmp_path, rows):
    path = tmp_path / "error_matrix.parquet"
    pl.DataFrame(rows).write_parquet(path)
    return connect().execute(load_sql("marts/error_type_shares"), {"error_matrix": str(path)}).pl()


def test_errors_and_shares_by_type_and_source(tmp_path):
    got = run(
        tmp_path,
        [
            # requests: timeout 6 (p) + 2 (q) = 8, auth 2; all 10 -> shares 0.8 and 0.2
            row("p", "requests", "timeout", "provider_fault", 6.0),
            row("q", "requests", "timeout", "provider_fault", 2.0),
            row("p", "requests", "auth", "client", 2.0),
            # probes: timeout 1, server_error 3 (probes only); all 4 -> shares 0.25 and 0.75
            row("p", "probes", "timeout", "provider_fault", 1.0),
            row("q", "probes", "server_error", "provider_fault", 3.0),
        ],
    )
    # ordered by request errors, most first, then by type
    assert got["error_type"].to_list() == ["timeout", "auth", "server_error"]
    t = {r["error_type"]: r for r in got.to_dicts()}
    assert (t["timeout"]["request_errors"], t["timeout"]["request_share"]) == (8.0, pytest.approx(0.8))
    assert (t["timeout"]["probe_errors"], t["timeout"]["probe_share"]) == (1.0, pytest.approx(0.25))
    assert (t["auth"]["request_share"], t["auth"]["probe_errors"], t["auth"]["probe_share"]) == (
        pytest.approx(0.2),
        0.0,
        0.0,
    )
    assert (t["auth"]["error_class"], t["auth"]["held_against_provider"]) == ("client", False)
    # seen by the probes only: no request errors, a share of 0, its class from the probes
    assert (t["server_error"]["request_errors"], t["server_error"]["request_share"]) == (0.0, 0.0)
    assert (t["server_error"]["probe_share"], t["server_error"]["error_class"]) == (
        pytest.approx(0.75),
        "provider_fault",
    )


def test_a_source_without_errors_has_no_share(tmp_path):
    got = run(tmp_path, [row("p", "requests", "timeout", "provider_fault", 5.0)])
    r = got.row(0, named=True)
    # no probe errors in the period: 0 errors, and a share of nothing (null, shown as a dash)
    assert (r["request_share"], r["probe_errors"], r["probe_share"]) == (1.0, 0.0, None)
