"""Demand marts: the daily demand aggregate, family shares, concentration and Lorenz curves."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import polars as pl

from pipeline.lib.duck import connect, lit, staged_glob
from pipeline.lib.parquet_io import (
    frame_to_parquet,
    sql_to_day_partitions,
    sql_to_parquet,
)
from pipeline.lib.stats import N_BOOT, SEED
from pipeline.paths import core_dir, core_glob, marts_file, staged_day_files, staged_days
from pipeline.sql import load_sql

LEVELS = ("family", "model", "provider")
MEASURES = ("requests", "tokens")


def finite_or_null(df: pl.DataFrame) -> pl.DataFrame:
    """df with every float that is not finite (inf, nan) made null: marts publish no inf or nan."""
    cols = [c for c, t in df.schema.items() if t in (pl.Float64, pl.Float32)]
    return df.with_columns(pl.when(pl.col(c).is_finite()).then(pl.col(c)).alias(c) for c in cols) if cols else df


def significant(x: np.ndarray, digits: int = 12) -> np.ndarray:
    """x rounded to `digits` significant digits (what comparisons and ranks should see); for
    the few values of a mart (units, models), never per request."""
    return np.array([float(f"{v:.{digits}g}") for v in np.asarray(x, dtype=float)], dtype=float)


def build_demand_daily(root: Path, days: list[str] | None = None) -> int:
    """core/core_demand__daily/ for `days` (default: every staged day) from the staged requests
    and models; returns rows written."""
    return build_core_days(root, "core_demand__daily", days, {"models": staged_glob(root, "models")})


def build_core_days(root: Path, name: str, days: list[str] | None, params: dict | None = None) -> int:
    """A day-partitioned core aggregate (sql/core/<name>.sql over the staged requests of each
    day) rebuilt for `days` (default: every staged day); days without staged requests lose
    their folder. Returns the rows written."""
    days = staged_days(root, "requests") if days is None else sorted(days)
    files = staged_day_files(root, "requests", days)
    with empty_requests_like(root) as empty:
        # with no file to read, an empty one with the staged columns lets the SQL bind
        return sql_to_day_partitions(
            f"core/{name}", {"requests": files or [str(empty)], **(params or {})}, core_dir(root, name), days
        )


@contextmanager
def empty_requests_like(root: Path) -> Iterator[Path]:
    """A temporary Parquet file with the staged requests' columns (the hive `date` included)
    and no rows."""
    tmp = Path(root) / ".tmp" / f"empty-requests-{uuid.uuid4().hex[:8]}.parquet"
    tmp.parent.mkdir(parents=True, exist_ok=True)
    con = connect()
    try:
        con.execute(
            f"copy (select * from read_parquet($g, hive_partitioning = true) limit 0) to {lit(str(tmp))} (format parquet)",
            {"g": staged_glob(root, "requests")},
        )
        yield tmp
    finally:
        con.close()
        tmp.unlink(missing_ok=True)


def build_family_demand(root: Path) -> pl.DataFrame:
    return sql_to_parquet(
        "marts/family_demand", {"daily": core_glob(root, "core_demand__daily")}, marts_file(root, "family_demand")
    )


def with_periods(daily: pl.DataFrame) -> pl.DataFrame:
    """Each daily row once per period it belongs to: its quarter and its month (the labels
    come from core_demand__daily)."""
    return pl.concat(
        [
            daily.with_columns(period=pl.col("quarter"), period_type=pl.lit("quarter")),
            daily.with_columns(period=pl.col("month"), period_type=pl.lit("month")),
        ]
    )


def build_concentration(root: Path, n_boot: int = N_BOOT, seed: int = SEED) -> tuple[pl.DataFrame, pl.DataFrame]:
    """marts/concentration and marts/concentration_lorenz for every period, level and measure
    (pipeline/lib/marts/concentration.py, concentration_lorenz.py)."""
    from pipeline.lib.marts.concentration import concentration_mart
    from pipeline.lib.marts.concentration_lorenz import concentration_lorenz

    periods = with_periods(pl.read_parquet(core_glob(root, "core_demand__daily")))
    conc = concentration_mart(periods, n_boot=n_boot, seed=seed)
    curve = concentration_lorenz(periods)
    frame_to_parquet(conc, marts_file(root, "concentration"))
    frame_to_parquet(curve, marts_file(root, "concentration_lorenz"))
    return conc, curve


def build_tokens_daily(root: Path, days: list[str] | None = None) -> int:
    """core/core_tokens__daily/: weighted token-count distributions per day and application
    (input, output, and the joint log2 bins), from one scan of each day's requests."""
    return build_core_days(root, "core_tokens__daily", days)


def build_task_regimes(root: Path) -> tuple[pl.DataFrame, int]:
    """marts/task_regimes and marts/task_regimes_histogram; returns the regimes and histogram rows."""
    from pipeline.lib.regimes import rule_params

    regimes = sql_to_parquet(
        "marts/task_regimes",
        {"tokens": core_glob(root, "core_tokens__daily"), **rule_params()},
        marts_file(root, "task_regimes"),
    )
    hist = sql_to_parquet(
        "marts/task_regimes_histogram",
        {"tokens": core_glob(root, "core_tokens__daily")},
        marts_file(root, "task_regimes_histogram"),
    )
    return regimes, hist.height


INERTIA_DAYS_BEFORE = 14
INERTIA_DAYS_AFTER = 60


HALF_LIFE_COLUMNS = {
    "half_life_days": pl.Float64,
    "half_life_ci_low": pl.Float64,
    "half_life_ci_high": pl.Float64,
    "half_life_fit_days": pl.Int64,
}


def with_fitted_half_lives(series: pl.DataFrame) -> pl.DataFrame:
    """The daily shares of every successor pair with each pair's fitted half-life and interval
    (pipeline/lib/inertia.py) on every row of the pair."""
    from pipeline.lib.inertia import fit_half_life

    keys = ["old_model", "new_model"]
    fits = []
    for key, pair in series.group_by(keys, maintain_order=True):
        after = pair.filter(pl.col("days_since_release") >= 0)
        f = fit_half_life(
            after["days_since_release"].to_numpy(),
            after["old_requests"].to_numpy(),
            after["new_requests"].to_numpy(),
            pair["pre_release_old_share"][0],
        )
        fits.append((*key, f.days, f.ci_low, f.ci_high, f.fit_days))
    fitted = pl.DataFrame(
        fits, schema={"old_model": pl.String, "new_model": pl.String, **HALF_LIFE_COLUMNS}, orient="row"
    )
    return series.join(fitted, on=keys, how="left", maintain_order="left")


def publish_inertia(series: pl.DataFrame, after: int = INERTIA_DAYS_AFTER) -> pl.DataFrame:
    """marts.version_inertia from the SQL's daily series: fitted half-lives, days up to `after`."""
    return with_fitted_half_lives(series).filter(pl.col("days_since_release") <= after)


def build_version_inertia(root: Path) -> tuple[pl.DataFrame, pl.DataFrame]:
    """marts/version_inertia (daily decay per successor pair) and marts/version_inertia_summary."""
    models, daily = staged_glob(root, "models"), core_glob(root, "core_demand__daily")
    inertia_file = marts_file(root, "version_inertia")
    params = {"daily": daily, "models": models, "before": INERTIA_DAYS_BEFORE, "after": INERTIA_DAYS_AFTER}
    con = connect()
    try:
        series = con.execute(load_sql("marts/version_inertia"), params).pl()
    finally:
        con.close()
    inertia = publish_inertia(series)
    frame_to_parquet(inertia, inertia_file)
    summary = sql_to_parquet(
        "marts/version_inertia_summary",
        {"daily": daily, "models": models, "inertia": str(inertia_file)},
        marts_file(root, "version_inertia_summary"),
    )
    return inertia, summary


def build_supply_use(root: Path, n_boot: int = N_BOOT, seed: int = SEED) -> tuple[pl.DataFrame, pl.DataFrame]:
    """marts/supply_use (per period and model) and marts/supply_use_summary (per period: the
    rank correlation between listing breadth and demand share across models, with its interval;
    pipeline/lib/marts/supply_use_summary.py)."""
    from pipeline.lib.marts.supply_use_summary import supply_use_summary

    params = {
        "daily": core_glob(root, "core_demand__daily"),
        "endpoints": staged_glob(root, "endpoints"),
        "models": staged_glob(root, "models"),
    }
    supply = sql_to_parquet("marts/supply_use", params, marts_file(root, "supply_use"))
    summary = supply_use_summary(supply, n_boot=n_boot, seed=seed)
    frame_to_parquet(summary, marts_file(root, "supply_use_summary"))
    return supply, summary
