"""The vendor-verification metric functions: by hand, on an empty drop, and against the
published K2 Vendor Verifier (K2VV) tables."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from pipeline.lib.contract import DATASETS
from pipeline.lib.ingest import stage_dataset
from pipeline.lib.verification import (
    COLUMNS,
    below_threshold,
    build_context_limit_behaviour,
    build_vendor_verification,
    f1,
    f1_case_interval,
    schema_accuracy,
    similarity_v1,
    verdict,
)
from tests.conftest import real_data


def ev(expr: pl.Expr):
    return pl.select(expr).item()


def test_metrics_by_hand():
    assert ev(f1(pl.lit(3), pl.lit(1), pl.lit(1))) == pytest.approx(0.75)  # 6 / (6 + 1 + 1)
    assert ev(f1(pl.lit(0), pl.lit(0), pl.lit(4))) == 0.0  # the provider never calls a tool the official calls
    assert ev(f1(pl.lit(0), pl.lit(0), pl.lit(0))) is None  # nobody called a tool: undefined
    assert ev(schema_accuracy(pl.lit(2), pl.lit(4))) == 0.5
    assert ev(schema_accuracy(pl.lit(0), pl.lit(0))) is None
    # SOURCE.md's worked K2VV example: Turbo (1441, 513, 46, 0, 513) vs official (1437, 522, 41, 0, 522):
    # differences (4, -9, 5, 0, -9), squares 16 + 81 + 25 + 0 + 81 = 203, sqrt 14.248; 1 - 14.248 / 2000
    turbo, official = [pl.lit(x) for x in (1441, 513, 46, 0, 513)], [pl.lit(x) for x in (1437, 522, 41, 0, 522)]
    assert ev(similarity_v1(turbo, official, pl.lit(2000))) == pytest.approx(1 - 203**0.5 / 2000)
    assert ev(similarity_v1(turbo, official, pl.lit(0))) is None
    assert (ev(below_threshold(pl.lit(0.7), pl.lit(0.73))), ev(below_threshold(pl.lit(0.73), pl.lit(0.73)))) == (
        True,
        False,
    )
    assert ev(below_threshold(pl.lit(0.7), pl.lit(None, pl.Float64))) is None


def test_f1_interval_closed_forms():
    # every case has the same profile: resampling cases shows no spread, a zero-width interval at F1
    assert f1_case_interval([2], [1], [0], [50]) == pytest.approx((0.8, 0.8), abs=1e-5)  # 4 / (4 + 1)
    # nobody ever calls a tool: no resample has an F1
    lo, hi = f1_case_interval([0], [0], [0], [30])
    assert np.isnan(lo) and np.isnan(hi)
    # one-answer cases, P(TP) = p, P(FP or FN) = q: the delta method gives
    # Var(F1) = 4 p q (p + q) / (n (2p + q)^4); the interval's half-width is about 1.96 sd
    n, p, q = 4000, 0.4, 0.1
    counts = [int(n * p), int(n * q / 2), int(n * q / 2), int(n * (1 - p - q))]  # TP, FP, FN, TN
    lo, hi = f1_case_interval([1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], counts, n_boot=4000)
    sd = (4 * p * q * (p + q) / (n * (2 * p + q) ** 4)) ** 0.5
    assert (hi - lo) / 2 == pytest.approx(1.96 * sd, rel=0.08)
    assert lo < 2 * p / (2 * p + q) < hi


def test_f1_interval_without_a_disagreement_is_wilsons():
    # 4 cases, each a TP: no disagreement among 4 answers with a tool call; Wilson's interval for
    # the disagreement share (scipy's) is [0, h], F1 = 2 (1 - r) / (2 - r) maps it to [f(h), 1]
    from scipy.stats import binomtest

    h = binomtest(0, 4).proportion_ci(confidence_level=0.95, method="wilson").high
    assert f1_case_interval([1], [0], [0], [4]) == pytest.approx((2 * (1 - h) / (2 - h), 1.0))


def test_verdict_needs_the_whole_interval_on_one_side():
    rows = pl.DataFrame(
        {
            "official": [False, False, False, False, False, True],
            "lo": [0.60, 0.90, 0.80, 0.85, None, 0.99],
            "hi": [0.84, 0.95, 0.90, 0.95, None, 1.00],
            "bar": [0.85, 0.85, 0.85, None, 0.85, 0.85],
        }
    )
    got = rows.select(verdict(pl.col("official"), pl.col("lo"), pl.col("hi"), pl.col("bar"))).to_series().to_list()
    # below the bar; at or above it (lo 0.90 >= 0.85); across it; no bar; no F1; the reference
    assert got == ["fail", "pass", "undecided", "undecided", "undecided", None]


def test_empty_staging_gives_empty_marts_with_their_columns(tmp_path):
    # a drop without compat_probes (or models): staging leaves empty files with the columns
    (tmp_path / "raw").mkdir()
    for name in ("models", "endpoints", "compat_probes"):
        stage_dataset(DATASETS[name], tmp_path / "raw", tmp_path / "wh")
    vv = build_vendor_verification(tmp_path / "wh")
    assert vv.height == 0 and tuple(vv.columns) == COLUMNS
    assert pl.read_parquet(tmp_path / "wh" / "marts" / "vendor_verification.parquet").columns == list(COLUMNS)
    ctx = build_context_limit_behaviour(tmp_path / "wh")
    assert ctx.height == 0
    assert ctx.columns == [
        "period",
        "period_type",
        "provider",
        "model",
        "cases",
        "errors",
        "truncations",
        "silent_acceptances",
        "behaviour",
        "error_code",
    ]


def test_unstaged_input_says_what_to_materialize(tmp_path):
    with pytest.raises(FileNotFoundError, match="stg_compat_probes"):
        build_vendor_verification(tmp_path)


# ------------------------------------------------------------------ the published K2VV tables

K2VV = ("k2-vendor-verifier", "k2vv_results_by_readme_commit.csv")
VECTOR = [
    "count_finish_reason_stop",
    "count_finish_reason_tool_calls",
    "count_finish_reason_others",
    "schema_validation_error_count",
    "count_successful_tool_call",
]
ROUND = ["readme_commit", "section", "test_time"]


def pct(x: float) -> str:
    """A share as K2VV prints it: a percentage with 2 decimals."""
    return f"{100 * x:.2f}%"


def k2vv() -> pl.DataFrame:
    return pl.read_csv(real_data(*K2VV), infer_schema_length=0)


@pytest.mark.realdata
def test_k2vv_schema_accuracy():
    df = k2vv().filter(pl.col("schema_accuracy").is_not_null())
    got = df.select(
        pl.col("schema_accuracy").alias("published"),
        schema_accuracy(
            pl.col("count_successful_tool_call").cast(pl.Int64), pl.col("count_finish_reason_tool_calls").cast(pl.Int64)
        ).alias("acc"),
    )
    checked = [(pub, pct(acc)) for pub, acc in got.iter_rows()]
    assert len(checked) == 175  # every v2 row of every README commit, the official's '100.00%' included
    assert [c for c in checked if c[0] != c[1]] == []


@pytest.mark.realdata
def test_k2vv_v1_similarity_and_its_divisor():
    v1 = k2vv().filter(pl.col("similarity_to_official_v1").is_not_null()).with_columns(pl.col(VECTOR).cast(pl.Int64))
    official = v1.filter(pl.col("similarity_to_official_v1") == "-").select(
        *ROUND, *[pl.col(c).alias(f"off_{c}") for c in VECTOR], requests=pl.sum_horizontal(VECTOR[:3])
    )
    vendors = v1.filter(pl.col("similarity_to_official_v1") != "-").join(official, on=ROUND, validate="m:1")
    vendor, off = [pl.col(c) for c in VECTOR], [pl.col(f"off_{c}") for c in VECTOR]

    def matches(scale: pl.Expr) -> pl.DataFrame:
        return (
            vendors.select("test_time", "provider", "similarity_to_official_v1", got=similarity_v1(vendor, off, scale))
            .with_columns(got=pl.col("got").map_elements(pct, return_dtype=pl.String))
            .with_columns(ok=pl.col("got") == pl.col("similarity_to_official_v1"))
        )

    # The divisor is the number of requests of the round, which is the official row's
    # stop + tool_calls + others: 2000 on 2025-09-22 and 4000 on 2025-10-10. The README's
    # "/ 2000" holds only for the first round; the 4,000-request round needs / 4000. A vendor's
    # own total does not work (some answered 3754 or 3997 of the 4000: those miss).
    assert dict(official.group_by("test_time").agg(pl.col("requests").unique()).iter_rows()) == {
        "2025-09-22": [2000],
        "2025-10-10": [4000],
    }
    by_requests = matches(pl.col("requests"))
    # K2VV's Fireworks row of 2025-09-22 (both commits) prints 95.68 %; its counts give
    # 1 - sqrt(7483) / 2000 = 95.6748 %: an off-by-one in the last printed digit, nothing a divisor fixes.
    misprint = (pl.col("test_time") == "2025-09-22") & (pl.col("provider") == "Fireworks")
    assert by_requests.filter(misprint).select("similarity_to_official_v1", "got").unique().rows() == [
        ("95.68%", "95.67%")
    ]
    checked = by_requests.filter(~misprint)
    assert checked.height == 44 and checked["ok"].all()  # 18 of the 2,000-request round + 26 of the 4,000
    counts = {scale: matches(pl.lit(scale)).group_by("test_time").agg(pl.col("ok").sum()) for scale in (2000, 4000)}
    assert dict(counts[2000].iter_rows()) == {"2025-09-22": 18, "2025-10-10": 0}
    assert dict(counts[4000].iter_rows()) == {"2025-09-22": 0, "2025-10-10": 26}
    assert matches(pl.sum_horizontal(VECTOR[:3]))["ok"].sum() < 44  # the vendor's own total is not it


@pytest.mark.realdata
def test_k2vv_f1_cells():
    """The v2 F1 cells cannot be recomputed (no per-case data) but two things can be checked:
    an F1 can be no higher than if every tool call of the smaller side matched one of the other
    (TP = min of the two tool_calls counts), and a vendor given its own number is below the
    round's pass bar (K2VV prints only '>=80%' for those above it)."""
    df = k2vv().filter(pl.col("tool_call_trigger_similarity_f1").is_not_null())
    cell = pl.col("tool_call_trigger_similarity_f1")
    official = df.filter(cell == "-").select(*ROUND, off_tc=pl.col("count_finish_reason_tool_calls").cast(pl.Int64))
    bars = (
        df.filter(cell.str.starts_with(">="))
        .group_by(ROUND)
        .agg(bar=cell.str.strip_chars(">=%").cast(pl.Float64).unique().first() / 100)
    )
    thresholds = df.filter(cell.str.starts_with(">="))
    exact = (
        df.filter(
            ~cell.str.starts_with(">="), cell != "-"
        )  # '>=..' cells are shared thresholds, not a vendor's F1: skipped
        .join(official, on=ROUND, validate="m:1")
        .join(bars, on=ROUND, how="left")
        .with_columns(
            published=cell.str.strip_chars("%").cast(pl.Float64) / 100,
            tc=pl.col("count_finish_reason_tool_calls").cast(pl.Int64),
        )
        .with_columns(tp=pl.min_horizontal("tc", "off_tc"))
        .with_columns(
            bound=f1(pl.col("tp"), pl.col("tc") - pl.col("tp"), pl.col("off_tc") - pl.col("tp")),
            below=below_threshold(pl.col("published"), pl.col("bar")),
        )
    )
    assert thresholds.height == 137 and (thresholds["tool_call_trigger_similarity_rowspan"].cast(pl.Int64) > 1).all()
    assert exact.height == 27  # checked values
    assert (exact["published"] <= exact["bound"]).all()
    assert exact["bar"].is_not_null().all() and exact["below"].all()
