"""Service-object marts (issue 4): what each provider's copy of a model costs and how it
behaves, how much providers differ, how they fail, and which of them are dominated."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from pipeline.lib.demand import build_core_days
from pipeline.lib.duck import connect, staged_glob
from pipeline.lib.parquet_io import (
    frame_to_parquet,
    sql_to_parquet,
)
from pipeline.lib.stats import N_BOOT, SEED
from pipeline.paths import core_glob, marts_file
from pipeline.sql import load_sql

# A provider "charges the official price" within half a percent of it: CNY list prices converted
# at a daily fx rate never equal the USD figure to the cent.
PRICE_TOLERANCE = 0.005


def build_requests_hourly(root: Path, days: list[str] | None = None) -> int:
    """core/core_requests__hourly/ for `days`: weighted requests, errors by type and class, tokens."""
    return build_core_days(root, "core_requests__hourly", days)


def build_service_timeseries(root: Path) -> pl.DataFrame:
    params = {"probes": staged_glob(root, "latency_probes"), "hourly": core_glob(root, "core_requests__hourly")}
    return sql_to_parquet("marts/service_timeseries", params, marts_file(root, "service_timeseries"))


def build_service_objects(root: Path) -> pl.DataFrame:
    params = {
        "probes": staged_glob(root, "latency_probes"),
        "prices": staged_glob(root, "prices"),
        "endpoints": staged_glob(root, "endpoints"),
        "models": staged_glob(root, "models"),
        "hourly": core_glob(root, "core_requests__hourly"),
    }
    return sql_to_parquet("marts/service_objects", params, marts_file(root, "service_objects"))


def build_service_diurnal(root: Path) -> pl.DataFrame:
    return sql_to_parquet(
        "marts/service_diurnal", {"probes": staged_glob(root, "latency_probes")}, marts_file(root, "service_diurnal")
    )


def build_error_matrix(root: Path) -> pl.DataFrame:
    params = {"probes": staged_glob(root, "latency_probes"), "hourly": core_glob(root, "core_requests__hourly")}
    return sql_to_parquet("marts/error_matrix", params, marts_file(root, "error_matrix"))


def build_provider_dispersion(root: Path, n_boot: int = N_BOOT, seed: int = SEED) -> tuple[pl.DataFrame, pl.DataFrame]:
    """marts/provider_dispersion and marts/price_anchoring, from marts/service_objects."""
    params = {"objects": str(marts_file(root, "service_objects")), "tolerance": PRICE_TOLERANCE}
    dispersion = sql_to_parquet("marts/provider_dispersion", params, marts_file(root, "provider_dispersion"))
    from pipeline.lib.marts.price_anchoring import price_anchoring

    anchoring = price_anchoring(dispersion, n_boot=n_boot, seed=seed)
    frame_to_parquet(anchoring, marts_file(root, "price_anchoring"))
    return dispersion, anchoring


def build_service_pareto(root: Path) -> pl.DataFrame:
    """marts/service_pareto (pipeline/lib/marts/service_pareto.py) from marts/service_objects and,
    when present, marts/vendor_verification."""
    from pipeline.lib.marts.service_pareto import service_pareto

    objects = pl.read_parquet(marts_file(root, "service_objects"))
    verification = marts_file(root, "vendor_verification")
    result = service_pareto(objects, pl.read_parquet(verification) if verification.exists() else None)
    frame_to_parquet(result, marts_file(root, "service_pareto"))
    return result


def build_service_metric_daily(root: Path) -> pl.DataFrame:
    """marts/service_metric_daily: every service object's daily series, from the staged probes,
    compat probes and models and core_requests__hourly."""
    params = {
        "probes": staged_glob(root, "latency_probes"),
        "compat": staged_glob(root, "compat_probes"),
        "models": staged_glob(root, "models"),
        "hourly": core_glob(root, "core_requests__hourly"),
    }
    return sql_to_parquet("marts/service_metric_daily", params, marts_file(root, "service_metric_daily"))


def change_events(root: Path) -> pl.DataFrame:
    """The exact events of the staged prices and endpoints (sql/marts/service_changes.sql): the
    changelog's part that needs no detection."""
    params = {"prices": staged_glob(root, "prices"), "endpoints": staged_glob(root, "endpoints")}
    with connect() as con:
        return con.execute(load_sql("marts/service_changes"), params).pl()


def build_service_changes(root: Path) -> pl.DataFrame:
    """marts/service_changes (pipeline/lib/marts/service_changes.py): the exact events of the
    staged prices and endpoints (sql/marts/service_changes.sql) and the change points of
    marts/service_metric_daily."""
    from pipeline.lib.marts.service_changes import service_changes

    events = change_events(root)
    with connect() as con:
        models = con.execute("select * from read_parquet($m)", {"m": staged_glob(root, "models")}).pl()
    daily = pl.read_parquet(marts_file(root, "service_metric_daily"))
    result = service_changes(events, daily, models)
    frame_to_parquet(result, marts_file(root, "service_changes"))
    return result
