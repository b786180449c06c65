"""marts.vendor_verification: per period, provider, model and suite, how each provider's answers
compare with the official API's on the same cases: the K2VV counts and similarity, tool-call
F1 with its 95 % interval, the official's rerun floor (f1_threshold) and the verdict. The counts
come from SQL (sql/marts/vendor_verification_*.sql); the measures and tests are
pipeline/lib/verification.py's."""

from __future__ import annotations

import polars as pl

from pipeline.lib.verification import ROW_KEYS, f1_intervals, verification_metrics, with_thresholds


def vendor_verification(counts: pl.DataFrame, cases: pl.DataFrame, reruns: pl.DataFrame) -> pl.DataFrame:
    """From the SQL's per-row counts, per-case answers and official reruns."""
    return with_thresholds(verification_metrics(counts), reruns, f1_intervals(cases, ROW_KEYS))
