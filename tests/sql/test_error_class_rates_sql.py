"""marts.error_class_rates on a hand-made error matrix: a provider's rates summed by class, and
its rate over all classes."""

from __future__ import annotations

import polars as pl
import pytest

from pipeline.lib.duck import connect
from pipeline.sql import load_sql


def row(period, provider, source, error_type, error_class, errors, attempts):
    return {
        "period": period,
        "period_type": "quarter",
        "provider": provider,
        "source": source,
        "error_type": error_type,
        "error_class": error_class,
        "held_against_provider": error_class != "client",
        "errors": errors,
        "attempts": attempts,
        "rate": errors / attempts,
    }


def test_rates_by_class_and_over_all_classes(tmp_path):
    em = pl.DataFrame(
        [
            # p, 1000 weighted requests: timeout 6 + server_error 4 -> provider fault 10 / 1000 = 0.010,
            # rate_limit 5 -> 0.005, auth 2 -> client 0.002; all classes 17 / 1000 = 0.017
            row("2025Q4", "p", "requests", "timeout", "provider_fault", 6.0, 1000.0),
            row("2025Q4", "p", "requests", "server_error", "provider_fault", 4.0, 1000.0),
            row("2025Q4", "p", "requests", "rate_limit", "rate_limit", 5.0, 1000.0),
            row("2025Q4", "p", "requests", "auth", "client", 2.0, 1000.0),
            # q, 200 requests: timeout 1 -> 0.005, its only class
            row("2025Q4", "q", "requests", "timeout", "provider_fault", 1.0, 200.0),
            # probes are not requests: left out
            row("2025Q4", "p", "probes", "timeout", "provider_fault", 50.0, 100.0),
            # another period stays apart: 3 / 100
            row("2025-10", "p", "requests", "timeout", "provider_fault", 3.0, 100.0),
        ]
    )
    path = tmp_path / "error_matrix.parquet"
    em.write_parquet(path)
    got = connect().execute(load_sql("marts/error_class_rates"), {"error_matrix": str(path)}).pl()
    rates = {(r["period"], r["provider"], r["error_class"]): (r["rate"], r["provider_rate"]) for r in got.to_dicts()}
    assert rates.keys() == {
        ("2025Q4", "p", "provider_fault"),
        ("2025Q4", "p", "rate_limit"),
        ("2025Q4", "p", "client"),
        ("2025Q4", "q", "provider_fault"),
        ("2025-10", "p", "provider_fault"),
    }
    assert rates["2025Q4", "p", "provider_fault"] == (pytest.approx(0.010), pytest.approx(0.017))
    assert rates["2025Q4", "p", "rate_limit"] == (pytest.approx(0.005), pytest.approx(0.017))
    assert rates["2025Q4", "p", "client"] == (pytest.approx(0.002), pytest.approx(0.017))
    assert rates["2025Q4", "q", "provider_fault"] == (pytest.approx(0.005), pytest.approx(0.005))
    assert rates["2025-10", "p", "provider_fault"] == (pytest.approx(0.03), pytest.approx(0.03))
