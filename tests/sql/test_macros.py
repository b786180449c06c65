"""The SQL macros every connection has (pipeline/lib/duck.py connect): the Wilson bounds
against scipy's own Wilson interval, and their nulls."""

from __future__ import annotations

import pytest
from scipy.stats import binomtest, norm

from pipeline.lib.duck import connect


@pytest.mark.parametrize(("k", "n"), [(0, 6), (1, 6), (5, 6), (6, 6), (1, 9), (37, 1000)])
def test_wilson_matches_scipy(k, n):
    con = connect()
    ref = binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
    low, high = con.execute("select wilson_low($p, $n), wilson_high($p, $n)", {"p": k / n, "n": n}).fetchone()
    assert (low, high) == (pytest.approx(ref.low, abs=1e-12), pytest.approx(ref.high, abs=1e-12))
    # one-sided 95 %: the upper end of scipy's 90 % two-sided interval
    one_sided = binomtest(k, n).proportion_ci(confidence_level=0.90, method="wilson").high
    assert con.execute("select wilson_bound($p, $n, $z)", {"p": k / n, "n": n, "z": norm.ppf(0.95)}).fetchone()[
        0
    ] == pytest.approx(one_sided, abs=1e-12)


def test_wilson_is_null_without_a_rate_or_a_sample():
    con = connect()
    assert (
        con.execute(
            "select wilson_low(null, 5), wilson_high(0.5, null), wilson_low(0.5, 0), wilson_high(0.5, -1)"
        ).fetchone()
        == (None,) * 4
    )
