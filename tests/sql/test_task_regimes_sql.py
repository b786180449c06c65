"""Token quantiles, regimes and the 2-D histogram, on hand-made and real traces."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest

from pipeline.lib.duck import connect
from pipeline.lib.regimes import GENERATION_SHARE, LONG_CONTEXT_INPUT_P50, PROMPT_SHARE, rule_params
from pipeline.sql import load_sql
from tests.conftest import real_data


def run_regimes(tmp_path, requests: pl.DataFrame) -> dict[str, dict]:
    r, tokens = tmp_path / "requests.parquet", tmp_path / "tokens.parquet"
    requests.write_parquet(r)
    con = connect()
    con.execute(
        f"copy ({load_sql('core/core_tokens__daily')}) to $out (format parquet)",
        {"requests": str(r), "out": str(tokens)},
    )
    df = con.execute(load_sql("marts/task_regimes"), {"tokens": str(tokens), **rule_params()}).pl()
    return {row["application"]: row for row in df.filter(pl.col("period_type") == "quarter").iter_rows(named=True)}


def requests_frame(app: list[str], inp: list[int], out: list[int], rate: list[float] | None = None) -> pl.DataFrame:
    n = len(app)
    return pl.DataFrame(
        {
            "date": [dt.date(2025, 10, 1)] * n,
            "application": app,
            "input_tokens": inp,
            "output_tokens": out,
            "sample_rate": rate or [1.0] * n,
        }
    )


def regime(input_p50: float, output_share: float) -> str:
    """The oracle: the rule as the README states it, written apart from the SQL that applies it."""
    if input_p50 >= LONG_CONTEXT_INPUT_P50:
        return "long-context"
    if output_share >= GENERATION_SHARE:
        return "generation-heavy"
    if output_share < PROMPT_SHARE:
        return "prompt-heavy"
    return "balanced"


class TestRegimeRule:
    @pytest.mark.parametrize(
        ("input_p50", "output_share", "expected"),
        [
            (20_000, 0.01, "long-context"),
            (20_000, 0.9, "long-context"),
            (500, 0.8, "generation-heavy"),
            (1500, 0.01, "prompt-heavy"),
            (1000, 0.12, "balanced"),
            (1000, 0.05, "balanced"),
            (1000, 0.5, "generation-heavy"),
        ],
    )
    def test_rule(self, input_p50, output_share, expected):
        assert regime(input_p50, output_share) == expected

    def test_sql_applies_the_same_rule_to_hand_made_applications(self, tmp_path):
        got = run_regimes(
            tmp_path,
            requests_frame(
                ["summarise"] * 2 + ["think"] * 2 + ["complete"] * 2 + ["chat"] * 2,
                [40_000, 30_000, 200, 300, 1000, 2000, 800, 1200],
                [500, 400, 3000, 5000, 10, 20, 100, 200],
            ),
        )
        for app, row in got.items():
            assert row["regime"] == regime(row["input_p50"], row["output_share"]), app
        assert {a: r["regime"] for a, r in got.items()} == {
            "summarise": "long-context",
            "think": "generation-heavy",
            "complete": "prompt-heavy",
            "chat": "balanced",
        }


class TestQuantiles:
    def test_unweighted_inverse_cdf(self, tmp_path):
        got = run_regimes(tmp_path, requests_frame(["a"] * 10, list(range(1, 11)), [5] * 10))["a"]
        assert (got["input_p10"], got["input_p50"], got["input_p90"], got["input_p99"]) == (1, 5, 9, 10)
        assert got["requests"] == 10

    def test_sample_weights_count(self, tmp_path):
        # the request with sample_rate 0.1 stands for 10: CDF(1) = 10/11, so p50 = p90 = 1, p99 = 2
        got = run_regimes(tmp_path, requests_frame(["a", "a"], [1, 2], [0, 0], [0.1, 1.0]))["a"]
        assert (got["input_p50"], got["input_p90"], got["input_p99"]) == (1, 1, 2)
        assert got["requests"] == pytest.approx(11.0)

    def test_output_share_is_token_weighted(self, tmp_path):
        # tokens: input 100 x 2 (weight 2) + 100, output 300 x 2 + 100 -> 700 / (300 + 700)
        got = run_regimes(tmp_path, requests_frame(["a", "a"], [100, 100], [300, 100], [0.5, 1.0]))["a"]
        assert got["output_share"] == pytest.approx(0.7)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_quantiles_equal_a_sorted_reference_across_months_and_bins(tmp_path, seed):
    """The SQL walks the CDF over coarse bins, then inside one bin; the reference sorts every
    request and takes the first count whose cumulative weight share reaches q. Heavy-tailed
    counts (many per bin, repeats, zeros) over three months and five sampling rates."""
    rng = np.random.default_rng(seed)
    n = 3000
    inp = np.floor(rng.lognormal(7, 2, n)).astype(int)
    inp[rng.random(n) < 0.05] = 0
    out = rng.integers(0, 40, n)
    rate = rng.choice([1.0, 0.5, 0.25, 0.1, 0.01], n)
    dates = [dt.date(2025, 10 + int(m), 5) for m in rng.integers(0, 3, n)]
    frame = pl.DataFrame(
        {"date": dates, "application": ["a"] * n, "input_tokens": inp, "output_tokens": out, "sample_rate": rate}
    )
    got = run_regimes(tmp_path, frame)["a"]

    def reference(values, weights, q):
        order = np.argsort(values, kind="stable")
        v, w = values[order], weights[order]
        share = np.cumsum(w) / w.sum()
        return int(v[np.argmax(share >= q - 1e-12)])

    w = 1.0 / rate
    for side, values in (("input", inp), ("output", out)):
        for pct in (10, 50, 90, 99):
            assert got[f"{side}_p{pct}"] == reference(values, w, pct / 100), (side, pct)
    assert got["requests"] == pytest.approx(w.sum())


class TestExactTies:
    """Cumulative shares that equal q exactly, whose float sums can land a hair either side."""

    def test_ten_requests_at_rate_point_three(self, tmp_path):
        # each request weighs 1/0.3: the first holds exactly 1/10 of the weight, so p10 = 100;
        # five hold 1/2, p50 = 104; nine hold 9/10, p90 = 108; p99 needs the tenth, 109
        got = run_regimes(tmp_path, requests_frame(["a"] * 10, list(range(100, 110)), [1] * 10, [0.3] * 10))["a"]
        assert (got["input_p10"], got["input_p50"], got["input_p90"], got["input_p99"]) == (100, 104, 108, 109)

    def test_fifty_requests_across_coarse_bins(self, tmp_path):
        # 5 of 50 reach 1/10 at 1004, 25 of 50 reach 1/2 at 1024
        got = run_regimes(tmp_path, requests_frame(["a"] * 50, list(range(1000, 1050)), [1] * 50, [0.3] * 50))["a"]
        assert (got["input_p10"], got["input_p50"]) == (1004, 1024)

    def test_six_requests_at_rate_point_zero_three(self, tmp_path):
        got = run_regimes(tmp_path, requests_frame(["a"] * 6, list(range(1000, 1006)), [1] * 6, [0.03] * 6))["a"]
        assert got["input_p50"] == 1002  # 3 of 6

    def test_output_share_of_exactly_one_twentieth_is_balanced(self, tmp_path):
        # output 15 + 4 + 24 = 43 of 456 + 285 + 76 + 43 = 860 tokens: 1/20, the prompt-heavy
        # bound itself, which is "balanced" (prompt-heavy is strictly below 0.05)
        got = run_regimes(tmp_path, requests_frame(["a"] * 3, [456, 285, 76], [15, 4, 24], [0.3] * 3))["a"]
        assert got["output_share"] == 0.05
        assert got["regime"] == "balanced"


def test_largest_token_count_does_not_overflow(tmp_path):
    big = 2**63 - 1
    got = run_regimes(tmp_path, requests_frame(["a", "a"], [1, big], [0, 0]))["a"]
    assert (got["input_p50"], got["input_p99"]) == (1, big)


def test_histogram_log2_bins(tmp_path):
    r, tokens = tmp_path / "r.parquet", tmp_path / "tokens.parquet"
    requests_frame(["a"] * 6, [0, 1, 3, 4, 1023, 1024], [1, 1, 1, 1, 1, 1]).write_parquet(r)
    con = connect()
    con.execute(
        f"copy ({load_sql('core/core_tokens__daily')}) to $out (format parquet)",
        {"requests": str(r), "out": str(tokens)},
    )
    rows = con.execute(
        f"select input_bin, output_bin, requests from ({load_sql('marts/task_regimes_histogram')}) "
        "where period_type = 'quarter' order by 1",
        {"tokens": str(tokens)},
    ).fetchall()
    # 0 -> bin -1; 1 -> 0; 3 -> 1; 4 -> 2; 1023 -> 9; 1024 -> 10; every output is 1 token -> bin 0
    assert rows == [(-1, 0, 1.0), (0, 0, 1.0), (1, 0, 1.0), (2, 0, 1.0), (9, 0, 1.0), (10, 0, 1.0)]


@pytest.mark.realdata
def test_azure_code_and_conversation_land_in_different_regimes(tmp_path):
    """The public Azure LLM inference trace 2023: code completion vs conversation."""
    base = real_data("azure-llm-inference-2023")
    con = connect()
    frames, medians = [], {}
    for app, name in (("code", "AzureLLMInferenceTrace_code.csv"), ("conversation", "AzureLLMInferenceTrace_conv.csv")):
        raw = con.execute(
            "select cast(TIMESTAMP as date) as date, ContextTokens as input_tokens, GeneratedTokens as output_tokens "
            "from read_csv($p, header = true)",
            {"p": str(base / name)},
        ).pl()
        medians[app] = (
            np.quantile(raw["input_tokens"].to_numpy(), 0.5, method="inverted_cdf"),
            np.quantile(raw["output_tokens"].to_numpy(), 0.5, method="inverted_cdf"),
        )
        frames.append(raw.with_columns(application=pl.lit(app), sample_rate=pl.lit(1.0)))
    got = run_regimes(
        tmp_path, pl.concat(frames).select("date", "application", "input_tokens", "output_tokens", "sample_rate")
    )
    for app in ("code", "conversation"):
        assert (got[app]["input_p50"], got[app]["output_p50"]) == medians[app]
    # SOURCE.md: code 1469 / 13, conversation 1020 / 129 (input / output medians)
    assert medians["code"] == (1469, 13) and medians["conversation"] == (1020, 129)
    assert got["code"]["regime"] != got["conversation"]["regime"]
    assert (got["code"]["regime"], got["conversation"]["regime"]) == ("prompt-heavy", "balanced")
