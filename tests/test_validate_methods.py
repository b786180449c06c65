"""`make validate-methods` in its quick form: every interval type gets a row, and the coverage
it reports is the share of replications whose interval holds the truth."""

from __future__ import annotations

import pytest

from pipeline.validate_methods import Case, main


def test_a_case_counts_what_holds_the_truth():
    case = Case("x", "s", truth=1.0)
    for est, lo, hi in ((1.0, 0.5, 1.5), (2.0, 1.5, 2.5), (1.2, 0.9, 1.1), (0.9, 0.8, 1.0)):
        case.add(est, lo, hi)
    row = case.row()
    # 3 of 4 hold 1.0; the mean estimate 1.275 is 0.275 above it
    assert (row["coverage"], row["replications"]) == (0.75, 4)
    assert row["bias"] == pytest.approx(0.275) and row["mean width"] == pytest.approx((1.0 + 1.0 + 0.2 + 0.2) / 4)


def test_quick_run_writes_a_row_per_interval_type(tmp_path):
    out = tmp_path / "mv.md"
    main(["--quick", "--out", str(out)])
    text = out.read_text()
    for kind in (
        "Gini (family, requests)",
        "top-5 share",
        "half-life (days)",
        "tool-call F1",
        "request error rate",
        "routing cost change",
    ):
        assert f"| {kind}" in text, kind
