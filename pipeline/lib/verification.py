"""Vendor-verification marts, in the manner of Moonshot's K2 Vendor Verifier (K2VV).

Step 1 (sql/marts/vendor_verification_counts.sql, vendor_verification_reruns.sql) counts
answers per (period, provider, model, suite) and pairs each provider's answer with the
official provider's answer to the same case on the same round date (the pairing rules are
documented there). Step 2, here, turns counts into rates:

- tool_call_f1 = 2TP / (2TP + FP + FN) vs the official (contract section 3);
- schema_accuracy = successful_tool_calls / finish_tool_calls;
- distance_from_official = ||v - v_official|| / cases_compared over the K2VV count vector
  v = (stop, tool_calls, others, schema_errors, successful) on the compared cases, and
  similarity_to_official = 1 - distance: K2VV's v1 score 1 - ||v - v_off|| / n, where n is
  the number of requests of the round (its README says 2000; the published 4,000-request
  rounds are reproduced only with 4000, see tests/lib/test_verification.py);
- f1_threshold = the lowest F1 of an official rerun against the official's own first answer
  in the period (K2VV sets its pass bar from repeated official runs: lowest 75.81 % -> bar
  73 %; we take the lowest observed as is rather than a rounded-down bar), and
  below_threshold = tool_call_f1 < f1_threshold (null when either is null);
- tool_call_f1_ci_low / _high: a 95 % interval, Wilson's on the share of disagreements among
  the answers with a tool call, with the design effect of resampling cases (a case_id with all
  its rounds is the unit, see sql/marts/vendor_verification_cases.sql); see f1_case_interval; and
  verdict: 'fail' only when the whole interval lies below the threshold, 'pass' only when it
  lies at or above it, else 'undecided' (also without a threshold or an F1); null for the
  official itself, which is the reference.

The metric functions take and return polars expressions, so the pipeline and the test
against K2VV's published numbers run the same code.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Sequence
from pathlib import Path
from statistics import NormalDist

import numpy as np
import polars as pl

from pipeline.lib.duck import connect, staged_glob
from pipeline.lib.parquet_io import frame_to_parquet, sql_to_parquet
from pipeline.lib.stats import INTERVAL_LEVEL
from pipeline.paths import marts_file
from pipeline.sql import load_sql

# resamples of cases that measure the design effect of the tool-call F1 interval
CASE_RESAMPLES = 2000

# K2VV's count vector, in its order; the SQL names them cmp_<name> (provider) and off_<name> (official).
COUNT_VECTOR = ("stop", "tool_calls", "others", "schema_errors", "successful")
PERIOD_KEYS = ("period", "period_type", "model", "suite")
ROW_KEYS = ("period", "period_type", "provider", "model", "suite")
# marts.vendor_verification: counts, rates, then the pairing counts the rates come from.
COLUMNS = (
    "period",
    "period_type",
    "provider",
    "model",
    "suite",
    "is_official",
    "rounds",
    "cases",
    "errors",
    "finish_stop",
    "finish_tool_calls",
    "finish_others",
    "tool_calls",
    "schema_errors",
    "successful_tool_calls",
    "tool_call_f1",
    "tool_call_f1_ci_low",
    "tool_call_f1_ci_high",
    "verdict",
    "schema_accuracy",
    "distance_from_official",
    "similarity_to_official",
    "f1_threshold",
    "below_threshold",
    "cases_compared",
    "tp",
    "fp",
    "fn",
    *(f"cmp_{c}" for c in COUNT_VECTOR),
    *(f"off_{c}" for c in COUNT_VECTOR),
)


def f1(tp: pl.Expr, fp: pl.Expr, fn: pl.Expr) -> pl.Expr:
    """2TP / (2TP + FP + FN); null when nobody called a tool (0 / 0)."""
    den = 2 * tp + fp + fn
    return pl.when(den > 0).then(2 * tp / den)


def schema_accuracy(successful: pl.Expr, tool_calls: pl.Expr) -> pl.Expr:
    """Share of tool-call answers whose arguments validate; null without tool calls."""
    return pl.when(tool_calls > 0).then(successful / tool_calls)


def distance_v1(vendor: Sequence[pl.Expr], official: Sequence[pl.Expr], scale: pl.Expr) -> pl.Expr:
    """Euclidean distance between two count vectors over `scale` (the number of requests); null when scale is 0."""
    squared = pl.sum_horizontal([(v - o).cast(pl.Float64) ** 2 for v, o in zip(vendor, official, strict=True)])
    return pl.when(scale > 0).then(squared.sqrt() / scale)


def similarity_v1(vendor: Sequence[pl.Expr], official: Sequence[pl.Expr], scale: pl.Expr) -> pl.Expr:
    """K2VV v1: 1 - ||v_vendor - v_official||_2 / scale."""
    return 1 - distance_v1(vendor, official, scale)


def below_threshold(f1_value: pl.Expr, threshold: pl.Expr) -> pl.Expr:
    """A provider fails the bar when its F1 is below it; null when either is null."""
    return f1_value < threshold


def wilson(p: float, n: float, level: float = INTERVAL_LEVEL) -> tuple[float, float]:
    """Wilson score interval of a proportion p on an (effective) sample of n."""
    z = NormalDist().inv_cdf(0.5 + level / 2)
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(max(p * (1 - p), 0.0) / n + z * z / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


def f1_case_interval(
    tp: np.ndarray,
    fp: np.ndarray,
    fn: np.ndarray,
    n_cases: np.ndarray,
    n_boot: int = CASE_RESAMPLES,
    seed: int = 0,
    level: float = INTERVAL_LEVEL,
) -> tuple[float, float]:
    """Interval of F1 = 2TP / (2TP + FP + FN) over cases given by their profiles (n_cases[k]
    cases have tp[k], fp[k], fn[k] over their answers).

    F1 = 2 (1 - r) / (2 - r), r = (FP + FN) / (TP + FP + FN) the share of disagreements among
    the answers where someone called a tool: a proportion, so its interval is Wilson's, on the
    effective number of those answers (their count over the design effect: answers of one case
    are not independent, and resampling cases measures by how much; a multinomial draw of
    profile counts is a draw of cases). The interval of r maps to F1's through the decreasing
    function above. A percentile interval of resampled F1s undercovers near F1 = 1, where a
    handful of disagreements decides it (92 % at 200 cases and F1 0.97, docs/methods-validation.md).
    NaN when no answer called a tool."""
    tp, fp, fn = (np.asarray(v, dtype=float) for v in (tp, fp, fn))
    n_cases = np.asarray(n_cases, dtype=np.int64)
    pos, dis = tp + fp + fn, fp + fn
    m, e = float(n_cases @ pos), float(n_cases @ dis)
    if m == 0:
        return float("nan"), float("nan")
    r = e / m
    deff = 1.0
    if 0 < r < 1:
        total = int(n_cases.sum())
        draws = np.random.default_rng(seed).multinomial(total, n_cases / total, size=n_boot)
        mb, eb = draws @ pos, draws @ dis
        rb = eb[mb > 0] / mb[mb > 0]
        if rb.size > 1:
            deff = max(float(rb.var(ddof=1)) / (r * (1 - r) / m), 1e-9)
    lo, hi = wilson(r, m / deff, level)

    def to_f1(x: float) -> float:
        return 2 * (1 - x) / (2 - x)

    return to_f1(hi), to_f1(lo)


def f1_intervals(cases: pl.DataFrame, keys: Sequence[str], n_boot: int = CASE_RESAMPLES) -> pl.DataFrame:
    """tool_call_f1_ci_low / _high per group of `keys` from the case profiles of
    vendor_verification_cases.sql. Each group draws from its own seed (a hash of its keys), so
    a group's interval does not depend on which other groups the run holds."""
    rows = []
    for key, part in cases.group_by(keys, maintain_order=True):
        seed = zlib.crc32("\x1f".join(map(str, key)).encode())
        lo, hi = f1_case_interval(
            part["tp"].to_numpy(),
            part["fp"].to_numpy(),
            part["fn"].to_numpy(),
            part["n_cases"].to_numpy(),
            n_boot=n_boot,
            seed=seed,
        )
        rows.append((*key, lo, hi))
    schema = {
        **{k: cases.schema[k] for k in keys},
        "tool_call_f1_ci_low": pl.Float64,
        "tool_call_f1_ci_high": pl.Float64,
    }
    return pl.DataFrame(rows, schema=schema, orient="row").with_columns(pl.col("^tool_call_f1_ci_.*$").fill_nan(None))


def verdict(is_official: pl.Expr, ci_low: pl.Expr, ci_high: pl.Expr, threshold: pl.Expr) -> pl.Expr:
    """'fail' when the interval lies below the threshold, 'pass' when it lies at or above it,
    'undecided' when it straddles it or either is missing; null for the official (the reference)."""
    return (
        pl.when(is_official)
        .then(pl.lit(None, pl.String))
        .when(ci_high < threshold)
        .then(pl.lit("fail"))
        .when(ci_low >= threshold)
        .then(pl.lit("pass"))
        .otherwise(pl.lit("undecided"))
    )


def verification_metrics(counts: pl.DataFrame) -> pl.DataFrame:
    """Add tool_call_f1, schema_accuracy, distance_from_official and similarity_to_official
    to the rows of vendor_verification_counts."""
    cmp = [pl.col(f"cmp_{c}") for c in COUNT_VECTOR]
    off = [pl.col(f"off_{c}") for c in COUNT_VECTOR]
    n = pl.col("cases_compared")
    return counts.with_columns(
        tool_call_f1=f1(pl.col("tp"), pl.col("fp"), pl.col("fn")),
        schema_accuracy=schema_accuracy(pl.col("successful_tool_calls"), pl.col("finish_tool_calls")),
        distance_from_official=distance_v1(cmp, off, n),
        similarity_to_official=similarity_v1(cmp, off, n),
    )


def f1_thresholds(reruns: pl.DataFrame) -> pl.DataFrame:
    """Per (period, period_type, model, suite): the lowest F1 of an official rerun vs its first answer."""
    return (
        reruns.with_columns(rerun_f1=f1(pl.col("tp"), pl.col("fp"), pl.col("fn")))
        .group_by(PERIOD_KEYS)
        .agg(f1_threshold=pl.col("rerun_f1").min())  # min skips nulls: a rerun without tool calls sets no bar
    )


def with_thresholds(metrics: pl.DataFrame, reruns: pl.DataFrame, intervals: pl.DataFrame) -> pl.DataFrame:
    """Join the acceptance thresholds and the F1 intervals (f1_intervals) to verification_metrics'
    rows, flag the providers below the bar and give each its verdict."""
    return (
        metrics.join(f1_thresholds(reruns), on=PERIOD_KEYS, how="left")
        .join(intervals, on=list(ROW_KEYS), how="left")
        .with_columns(
            below_threshold=below_threshold(pl.col("tool_call_f1"), pl.col("f1_threshold")),
            verdict=verdict(
                pl.col("is_official"),
                pl.col("tool_call_f1_ci_low"),
                pl.col("tool_call_f1_ci_high"),
                pl.col("f1_threshold"),
            ),
        )
        .select(COLUMNS)
        .sort(["period_type", "period", "model", "suite", "provider"], descending=[True, False, False, False, False])
    )


def build_vendor_verification(root: Path) -> pl.DataFrame:
    """marts/vendor_verification: counts (SQL), then rates, thresholds, intervals and verdicts
    (pipeline/lib/marts/vendor_verification.py)."""
    params = {"probes": staged_glob(root, "compat_probes"), "models": staged_glob(root, "models")}
    con = connect()
    try:
        con.execute(f"create temp table vv_answers as {load_sql('marts/vendor_verification_answers')}", params)
        counts = con.execute(load_sql("marts/vendor_verification_counts")).pl()
        cases = con.execute(load_sql("marts/vendor_verification_cases")).pl()
        reruns = con.execute(load_sql("marts/vendor_verification_reruns"), params).pl()
    finally:
        con.close()
    from pipeline.lib.marts.vendor_verification import vendor_verification

    df = vendor_verification(counts, cases, reruns)
    frame_to_parquet(df, marts_file(root, "vendor_verification"))
    return df


def build_context_limit_behaviour(root: Path) -> pl.DataFrame:
    """marts/context_limit_behaviour from the staged 'context_limit' suite."""
    return sql_to_parquet(
        "marts/context_limit_behaviour",
        {"probes": staged_glob(root, "compat_probes")},
        marts_file(root, "context_limit_behaviour"),
    )
