"""marts.key_figures on hand-made marts: each figure is the number its mart holds, or the
aggregate stated here."""

from __future__ import annotations

import polars as pl
import pytest

from tests.sql.report_marts import build

Q = {"period": "2025Q4", "period_type": "quarter"}


def test_figures_from_their_marts(tmp_path):
    conc = pl.DataFrame(
        [
            {**Q, "level": "family", "measure": "requests", "n": 3, "top1_share": 0.5, "top5_share": 1.0, "gini": 0.3,
             "hhi": 0.38, "gini_ci_low": 0.2, "gini_ci_high": 0.4, "top5_ci_low": 0.9, "top5_ci_high": 1.0, "n_days": 92},
            {**Q, "level": "model", "measure": "requests", "n": 9, "top1_share": 0.2, "top5_share": 0.7, "gini": 0.5,
             "hhi": 0.1, "gini_ci_low": 0.4, "gini_ci_high": 0.6, "top5_ci_low": 0.6, "top5_ci_high": 0.8, "n_days": 92},
        ]
    )  # fmt: skip
    family = pl.DataFrame(
        [
            {
                **Q,
                "family": f,
                "requests": r,
                "tokens": 10 * r,
                "request_share": r / 100,
                "token_share": r / 100,
                "rank": k,
            }
            for f, r, k in (("qwen", 50.0, 1), ("glm", 30.0, 2), ("kimi", 20.0, 3))
        ]
    )
    errors = pl.DataFrame(
        [
            # provider p: 1,000 weighted attempts, 7 provider faults + 3 rate limits; q: 500 attempts, 7 faults
            {**Q, "provider": p, "source": "requests", "error_type": t, "error_class": c, "held_against_provider": True,
             "errors": e, "attempts": a, "rate": e / a}
            for p, t, c, e, a in (
                ("p", "timeout", "provider_fault", 7.0, 1000.0),
                ("p", "rate_limit", "rate_limit", 3.0, 1000.0),
                ("q", "server_error", "provider_fault", 7.0, 500.0),
            )
        ]
    )  # fmt: skip
    # four successor releases in the quarter: half-lives of 10, 10 and 40 days, one without a fit,
    # and one released the quarter before the data (its quarter has no demand here: no figure)
    releases = pl.DataFrame(
        {
            "period": ["2025Q4"] * 4 + ["2025Q3"],
            "half_life_days": [10.0, 10.0, 40.0, None, 5.0],
        }
    )
    build(tmp_path, "half_life_summary", successor_releases=releases)
    out = build(
        tmp_path,
        "key_figures",
        concentration=conc,
        family_demand=family,
        error_matrix=errors,
    )
    f = {r["figure"]: r for r in out.filter(pl.col("period") == "2025Q4").iter_rows(named=True)}
    assert f["requests_total"]["value"] == 100.0  # 50 + 30 + 20
    assert f["top1_family_share"]["value"] == 0.5 and f["top1_family_share"]["detail"] == "qwen"
    assert (f["top5_family_share"]["ci_low"], f["top5_family_share"]["ci_high"]) == (0.9, 1.0)
    assert f["gini_family"]["value"] == 0.3 and f["gini_family"]["n"] == 3  # the family level, not the model level
    # (7 + 7) provider faults over 1,000 + 500 attempts; rate limits are not faults
    assert f["provider_fault_rate"]["value"] == pytest.approx(14 / 1500)
    # releases that reached a half-life: (10 + 10 + 40) / 3, over the quarter's 4 releases
    assert f["mean_half_life_days"]["value"] == pytest.approx(20.0) and f["mean_half_life_days"]["n"] == 4
    assert out.filter(pl.col("period") == "2025Q3").height == 0
    # marts this warehouse lacks give no figure, not an error
    assert "routing_cost_change" not in f and "tool_call_fail" not in f


def test_routing_figures_take_the_causal_policy_or_else_the_first(tmp_path):
    def totals(policies: list[str]) -> pl.DataFrame:
        return pl.DataFrame(
            [
                {**Q, "objective": "cost", "policy": p, "change_pct": c, "ci_low": c - 1, "ci_high": c + 1, "models": 2}
                for p, c in zip(policies, (-10.0, -20.0), strict=False)
            ]
        )

    both = build(tmp_path / "a", "key_figures", routing_totals=totals(["oracle", "causal"]))
    row = both.filter(pl.col("figure") == "routing_cost_change").row(0, named=True)
    assert (row["detail"], row["value"], row["n"]) == ("causal", -20.0, 2)
    only = build(tmp_path / "b", "key_figures", routing_totals=totals(["oracle"]))
    assert only.filter(pl.col("figure") == "routing_cost_change")["detail"].to_list() == ["oracle"]
