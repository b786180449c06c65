"""marts.run_parameters: the settings the run's figures were computed with, one row each, so
the report (and an analyst) reads what was used instead of assuming the code's defaults.

Most are the pipeline's own constants, stated once where they are used (pipeline/lib/stats.py,
regimes.py, service.py, verification.py, routing/). The replay's own settings (bucket size,
availability rule, threshold) can differ per run (the `routing_decisions` asset's config): they
are read back from what the replay wrote, marts.routing_sensitivity's `is_run_setting` rows, or
marts.routing_segments for the bucket size when no headline model was replayed."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from pipeline.lib import regimes
from pipeline.lib.demand import INERTIA_DAYS_AFTER, INERTIA_DAYS_BEFORE
from pipeline.lib.routing.cache_rates import estimator_code
from pipeline.lib.routing.sensitivity import BUCKET_FACTORS, CONFIDENCES, MIN_SUCCESS
from pipeline.lib.routing.settings import RoutingParams
from pipeline.lib.service import PRICE_TOLERANCE
from pipeline.lib.sql_marts import PRICE_IMPLAUSIBLE_FACTOR
from pipeline.lib.stats import INTERVAL_LEVEL, N_BOOT, SEED
from pipeline.lib.verification import CASE_RESAMPLES
from pipeline.paths import marts_file

SCHEMA = {"name": pl.String, "value": pl.String, "value_num": pl.Float64, "unit": pl.String, "description": pl.String}


def _row(name: str, value, unit: str | None, description: str) -> dict:
    if isinstance(value, (tuple, list)):
        text, num = ", ".join(str(v) for v in value), None
    else:
        text = None if value is None else str(value)
        num = float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None
    return {"name": name, "value": text, "value_num": num, "unit": unit, "description": description}


def replay_settings(root: Path) -> dict:
    """bucket_minutes, availability_confidence and min_success as the run's replay used them."""
    sens = marts_file(root, "routing_sensitivity")
    if sens.exists():
        run = pl.read_parquet(sens).filter(pl.col("is_run_setting"))
        if run.height:
            r = run.row(0, named=True)
            return {k: r[k] for k in ("bucket_minutes", "availability_confidence", "min_success")}
    segments = root / "marts" / "routing_segments"
    if segments.exists() and any(segments.rglob("*.parquet")):
        buckets = pl.read_parquet(str(segments / "**" / "*.parquet"))["bucket_minutes"].unique().to_list()
        return {"bucket_minutes": buckets[0] if len(buckets) == 1 else None}
    return {}


def build_run_parameters(root: Path) -> pl.DataFrame:
    routing = RoutingParams()
    replay = replay_settings(Path(root))
    rows = [
        _row("interval_level", INTERVAL_LEVEL, "probability", "coverage of every *_ci_low / *_ci_high interval"),
        _row(
            "bootstrap_resamples",
            N_BOOT,
            "resamples",
            "resamples of the concentration, supply-use, price-anchoring and routing intervals",
        ),
        _row("bootstrap_seed", SEED, None, "seed of every bootstrap: the same drop gives the same intervals"),
        _row(
            "f1_case_resamples",
            CASE_RESAMPLES,
            "resamples",
            "resamples of cases measuring the design effect of the tool-call F1 interval",
        ),
        _row(
            "inertia_days_before",
            INERTIA_DAYS_BEFORE,
            "days",
            "marts.version_inertia starts this many days before a successor's release",
        ),
        _row("inertia_days_after", INERTIA_DAYS_AFTER, "days", "and runs this many days after it"),
        _row(
            "price_tolerance",
            PRICE_TOLERANCE,
            "share 0-1",
            "a provider charges the official price within this share of it",
        ),
        _row(
            "price_implausible_factor",
            PRICE_IMPLAUSIBLE_FACTOR,
            "x",
            "a price this many times the model's median price, or 1 / this of it, is implausible (provider_leaderboard)",
        ),
        _row(
            "regime_long_context_input_p50",
            regimes.LONG_CONTEXT_INPUT_P50,
            "tokens",
            "long-context when the median input is at least this",
        ),
        _row(
            "regime_generation_share",
            regimes.GENERATION_SHARE,
            "share 0-1",
            "generation-heavy when the output share is at least this",
        ),
        _row(
            "regime_prompt_share", regimes.PROMPT_SHARE, "share 0-1", "prompt-heavy when the output share is below this"
        ),
        _row("routing_bucket_minutes", replay.get("bucket_minutes"), "minutes", "the replay's time bucket (this run)"),
        _row(
            "routing_availability_confidence",
            replay.get("availability_confidence"),
            "probability",
            "a provider is down in a bucket only when its probes show success below routing_min_success at this one-sided "
            "confidence; 0: the contract's point rule (this run)",
        ),
        _row("routing_min_success", replay.get("min_success"), "share 0-1", "the availability threshold (this run)"),
        _row(
            "routing_cache_min_reporting",
            routing.cache_min_reporting,
            "requests",
            "the fewest reporting requests a cache-rate cell needs before a coarser one is used",
        ),
        _row(
            "routing_failure_min_reporting",
            routing.failure_min_reporting,
            "requests",
            "the fewest logged failures of a provider in a day before its own billed share of failed attempts is used "
            "(else the day's, over every provider)",
        ),
        _row(
            "routing_cache_rates_code",
            estimator_code(),
            None,
            "a hash of the SQL that estimated marts.routing_cache_rates (sql/core/core_routing__cache_rates.sql): "
            "`servicelens simulate` reads the published rates only under the same code, else estimates them again",
        ),
        _row("sensitivity_models", routing.sensitivity_models, None, "models marts.routing_sensitivity replays again"),
        _row(
            "sensitivity_availability_confidences",
            CONFIDENCES,
            "probability",
            "availability rules of the sensitivity grid",
        ),
        _row("sensitivity_min_success", MIN_SUCCESS, "share 0-1", "thresholds of the sensitivity grid"),
        _row("sensitivity_bucket_factors", BUCKET_FACTORS, "x bucket", "coarser buckets of the sensitivity grid"),
    ]
    return pl.DataFrame(rows, schema=SCHEMA)
