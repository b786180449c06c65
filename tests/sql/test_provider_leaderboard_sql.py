"""marts.provider_leaderboard on hand-made service objects and tool-call verdicts, every figure
worked out by hand: the blended list price 0.75 x input + 0.25 x output, the median of the other
providers' prices and the implausible flag, the ranks per objective with their ties, and the
verdict of the tool_calls suite."""

from __future__ import annotations

import polars as pl
import pytest

from pipeline.lib.sql_marts import PRICE_IMPLAUSIBLE_FACTOR
from tests.sql.report_marts import build, declared

SO_SCHEMA = {
    "period": pl.Utf8,
    "period_type": pl.Utf8,
    "model": pl.Utf8,
    "provider": pl.Utf8,
    "is_official": pl.Boolean,
    "input_usd_per_mtok": pl.Float64,
    "output_usd_per_mtok": pl.Float64,
    "ttft_p50_ms": pl.Float64,
    "decode_tps_p50": pl.Float64,
    "probe_success_rate": pl.Float64,
    "request_error_rate": pl.Float64,
}

VV_SCHEMA = {
    "period": pl.Utf8,
    "period_type": pl.Utf8,
    "provider": pl.Utf8,
    "model": pl.Utf8,
    "suite": pl.Utf8,
    "is_official": pl.Boolean,
    "tool_call_f1": pl.Float64,
    "tool_call_f1_ci_low": pl.Float64,
    "tool_call_f1_ci_high": pl.Float64,
    "verdict": pl.Utf8,
}


def service_objects(rows: list[tuple]) -> pl.DataFrame:
    """(period, model, provider, official, input, output, ttft p50, decode p50, probe success,
    request errors) plus the columns the mart passes through, with fixed values."""
    df = pl.DataFrame(
        [(p, "quarter" if "Q" in p else "month", *rest) for p, *rest in rows], schema=SO_SCHEMA, orient="row"
    )
    return df.with_columns(
        ttft_p90_ms=pl.col("ttft_p50_ms") * 2,
        probe_success_rate_ci_low=pl.col("probe_success_rate") - 0.01,
        probe_success_rate_ci_high=pl.col("probe_success_rate") + 0.005,
        request_error_rate_ci_low=pl.col("request_error_rate") / 2,
        request_error_rate_ci_high=pl.col("request_error_rate") * 2,
        probes=pl.lit(1000, pl.Int64),
        requests=pl.lit(5000.0),
        requests_effective=pl.lit(800.0),
        thin=pl.lit(True),
        context_length=pl.lit(131072, pl.Int64),
        quantization=pl.lit("fp8"),
    )


# model a in 2025Q4, seven providers. Blended list prices 0.75 x input + 0.25 x output:
#   off 0.75 x 1 + 0.25 x 3 = 1.5; p1 and p2 0.75 x 0.4 + 0.25 x 1.2 = 0.6; p3 0.75 x 0.8 + 0.25 x 0.8 = 0.8;
#   bad 0.75 x 1e5 + 0.25 x 3e5 = 150,000 (a price table off by a unit); zero 0 (free); nop no price
A = [
    # period, model, provider, official, input, output, ttft p50, decode p50, probe success, request errors
    ("2025Q4", "a", "off", True, 1.0, 3.0, 300.0, 50.0, 0.99, 0.01),
    ("2025Q4", "a", "p1", False, 0.4, 1.2, 200.0, 80.0, 0.95, 0.02),
    ("2025Q4", "a", "p2", False, 0.4, 1.2, 500.0, 80.0, 0.95, None),
    ("2025Q4", "a", "p3", False, 0.8, 0.8, 200.0, 20.0, 0.99, 0.01),
    ("2025Q4", "a", "bad", False, 1e5, 3e5, 400.0, 60.0, 0.90, 0.0),
    ("2025Q4", "a", "zero", False, 0.0, 0.0, None, None, None, None),
    ("2025Q4", "a", "nop", False, None, None, 250.0, 100.0, 0.95, 0.02),
    # the same model in a month: its own leaderboard (p1 alone: nothing to compare with)
    ("2025-10", "a", "p1", False, 0.4, 1.2, 210.0, 70.0, 0.97, 0.03),
]


def verification() -> pl.DataFrame:
    rows = [
        ("2025Q4", "quarter", "off", "a", "tool_calls", True, None, None, None, None),  # the reference
        ("2025Q4", "quarter", "p1", "a", "tool_calls", False, 0.98, 0.95, 1.0, "pass"),
        ("2025Q4", "quarter", "p2", "a", "tool_calls", False, 0.7, 0.6, 0.8, "fail"),
        ("2025Q4", "quarter", "p3", "a", "json_mode", False, None, None, None, "undecided"),  # another suite
        ("2025-10", "month", "p1", "a", "tool_calls", False, 0.9, 0.8, 0.97, "undecided"),
    ]
    return pl.DataFrame(rows, schema=VV_SCHEMA, orient="row")


@pytest.fixture(scope="module")
def board(tmp_path_factory):
    got = build(
        tmp_path_factory.mktemp("leaderboard"),
        "provider_leaderboard",
        service_objects=service_objects(A),
        vendor_verification=verification(),
    )
    return got, {(r["period"], r["provider"]): r for r in got.filter(pl.col("model") == "a").iter_rows(named=True)}


class TestProviderLeaderboard:
    def test_one_row_per_service_object_with_the_declared_columns(self, board):
        got, rows = board
        assert got.columns == declared("provider_leaderboard")
        assert got.height == 8 and len(rows) == 8
        assert {r["model_providers"] for (p, _), r in rows.items() if p == "2025Q4"} == {7}
        assert rows[("2025-10", "p1")]["model_providers"] == 1

    def test_blended_list_price_is_three_to_one(self, board):
        _, rows = board
        got = {k[1]: r["blended_list_usd_per_mtok"] for k, r in rows.items() if k[0] == "2025Q4"}
        assert got == {
            "off": pytest.approx(1.5),
            "p1": pytest.approx(0.6),
            "p2": pytest.approx(0.6),
            "p3": pytest.approx(0.8),
            "bad": pytest.approx(150_000.0),
            "zero": 0.0,
            "nop": None,
        }

    def test_implausible_against_the_median_of_the_models_prices(self, board):
        _, rows = board
        q = {k[1]: r for k, r in rows.items() if k[0] == "2025Q4"}
        # six priced providers: 0, 0.6, 0.6, 0.8, 1.5, 150000 -> median (0.6 + 0.8) / 2 = 0.7 for each
        assert {p: r["reference_usd_per_mtok"] for p, r in q.items()} == {
            **{p: pytest.approx(0.7) for p in ("off", "p1", "p2", "p3", "bad", "zero")},
            "nop": None,  # no price: nothing to judge
        }
        # 150,000 / 0.7 > 100: implausible; 1.5 / 0.7 = 2.14 is not; a price of 0 never is (free)
        assert q["bad"]["price_vs_reference"] == pytest.approx(150_000 / 0.7)
        assert q["off"]["price_vs_reference"] == pytest.approx(1.5 / 0.7)
        assert {p: r["price_implausible"] for p, r in q.items()} == {
            "off": False,
            "p1": False,
            "p2": False,
            "p3": False,
            "bad": True,
            "zero": False,
            "nop": None,
        }
        # alone in its month: no other provider to judge against
        assert rows[("2025-10", "p1")]["price_implausible"] is None
        assert rows[("2025-10", "p1")]["reference_usd_per_mtok"] is None

    def test_ranks_per_objective_ties_share_the_best_rank(self, board):
        _, rows = board
        q = {k[1]: r for k, r in rows.items() if k[0] == "2025Q4"}

        def ranks(col):
            return {p: r[col] for p, r in q.items()}

        # price, plausible prices only: zero 0 (1), p1 = p2 = 0.6 (2, 2), p3 0.8 (4), off 1.5 (5)
        assert ranks("price_rank") == {"zero": 1, "p1": 2, "p2": 2, "p3": 4, "off": 5, "bad": None, "nop": None}
        # TTFT p50, lowest first: p1 = p3 = 200 (1, 1), nop 250, off 300, bad 400, p2 500; zero unprobed
        assert ranks("ttft_rank") == {"p1": 1, "p3": 1, "nop": 3, "off": 4, "bad": 5, "p2": 6, "zero": None}
        # decode p50, highest first: nop 100, p1 = p2 = 80 (2, 2), bad 60, off 50, p3 20
        assert ranks("decode_rank") == {"nop": 1, "p1": 2, "p2": 2, "bad": 4, "off": 5, "p3": 6, "zero": None}
        # probe success, then request errors (none last): off and p3 (0.99, 0.01) share 1; p1 and nop
        # (0.95, 0.02) share 3; p2 (0.95, none) 5; bad (0.90) 6
        assert ranks("reliability_rank") == {
            "off": 1,
            "p3": 1,
            "p1": 3,
            "nop": 3,
            "p2": 5,
            "bad": 6,
            "zero": None,
        }
        month = rows[("2025-10", "p1")]
        assert (month["price_rank"], month["ttft_rank"], month["decode_rank"], month["reliability_rank"]) == (
            1,
            1,
            1,
            1,
        )

    def test_tool_call_verdict_of_the_tool_calls_suite(self, board):
        _, rows = board
        q = {k[1]: r for k, r in rows.items() if k[0] == "2025Q4"}
        assert {p: r["tool_call_verdict"] for p, r in q.items()} == {
            "off": None,  # the official API is the reference
            "p1": "pass",
            "p2": "fail",
            "p3": None,  # only another suite
            "bad": None,
            "zero": None,
            "nop": None,
        }
        assert (q["p1"]["tool_call_f1"], q["p1"]["tool_call_f1_ci_low"], q["p1"]["tool_call_f1_ci_high"]) == (
            0.98,
            0.95,
            1.0,
        )
        assert rows[("2025-10", "p1")]["tool_call_verdict"] == "undecided"

    def test_intervals_and_endpoint_pass_through(self, board):
        _, rows = board
        p1 = rows[("2025Q4", "p1")]
        assert (p1["request_error_rate_ci_low"], p1["request_error_rate_ci_high"]) == (0.01, 0.04)
        assert p1["probe_success_rate_ci_low"] == pytest.approx(0.94)
        assert (p1["ttft_p90_ms"], p1["context_length"], p1["quantization"]) == (400.0, 131072, "fp8")


@pytest.mark.parametrize(
    ("high", "flagged"),
    [
        (PRICE_IMPLAUSIBLE_FACTOR, False),  # exactly the factor: not beyond it
        (PRICE_IMPLAUSIBLE_FACTOR * 1.01, True),  # beyond it: with two providers, each is judged by the other
    ],
)
def test_the_factor_is_strict_and_two_providers_judge_each_other(tmp_path, high, flagged):
    rows = [
        ("2025Q4", "b", "x", True, 1.0, 1.0, 100.0, 10.0, 1.0, 0.0),
        ("2025Q4", "b", "y", False, high, high, 100.0, 10.0, 1.0, 0.0),
    ]
    got = build(tmp_path, "provider_leaderboard", service_objects=service_objects(rows))
    assert dict(got.select("provider", "price_implausible").iter_rows()) == {"x": flagged, "y": flagged}
    # neither is ranked when both are implausible; both are when neither is
    assert got["price_rank"].to_list() == ([None, None] if flagged else [1, 2])


def test_three_providers_one_far_off_only_that_one_is_implausible(tmp_path):
    # as for a Qwen3-235B variant in LiteLLM's 2025-12 table: 0.95, 1.2375 and 10,000. Against the
    # median of the others, the two plausible ones would be judged by (1.2375 + 10000) / 2 and
    # (0.95 + 10000) / 2 and flagged too; against the model's median, 1.2375, only 10,000 is
    rows = [
        ("2025Q4", "c", "u", False, 0.95, 0.95, 100.0, 10.0, 1.0, 0.0),
        ("2025Q4", "c", "v", False, 1.2375, 1.2375, 100.0, 10.0, 1.0, 0.0),
        ("2025Q4", "c", "w", False, 10_000.0, 10_000.0, 100.0, 10.0, 1.0, 0.0),
    ]
    got = build(tmp_path, "provider_leaderboard", service_objects=service_objects(rows))
    assert dict(got.select("provider", "price_implausible").iter_rows()) == {"u": False, "v": False, "w": True}
    assert got["reference_usd_per_mtok"].to_list() == [pytest.approx(1.2375)] * 3
    assert dict(got.select("provider", "price_rank").iter_rows()) == {"u": 1, "v": 2, "w": None}
