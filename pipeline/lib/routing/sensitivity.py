"""How much the headline routing figures move with the availability rule, the threshold and the
bucket size (issue 14): marts.routing_sensitivity.

The headline models (RoutingParams.sensitivity_models) are replayed again, in the same pass over
the request files as the main replay, under a grid of settings:

- at the run's bucket size, each availability rule (the evidence rule at 95 % one-sided
  confidence, and the contract's point rule) x each threshold in MIN_SUCCESS: the pass's request
  groups are reused (the fit masks and cost orders do not depend on availability), only the
  slots' availability and the policies' decisions are redone;
- at 2 and 4 times the run's bucket size (BUCKET_FACTORS), the run's rule and threshold: the
  pass's request groups rolled up to the coarser buckets (sql/core/
  core_routing__request_groups_coarser.sql), the requests are not read again.

Each variant's day sums (the rows of core_routing__daily) go to the per-day partial
core/core_routing__sensitivity/date=D/, and the mart is the contract counterfactual of every
variant, with the same paired day-bootstrap intervals as marts.routing_counterfactual.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path

import duckdb
import polars as pl

from pipeline.lib.marts.routing_sensitivity import VARIANT_SCHEMA
from pipeline.lib.routing.marts import DAILY_SCHEMA, read_partials
from pipeline.lib.routing.replay import has_table, make_table, slot_tables, slot_values
from pipeline.lib.routing.settings import RoutingParams, Scenario
from pipeline.sql import load_sql

CONFIDENCES = (0.95, 0.0)  # the evidence rule, the contract's point rule
MIN_SUCCESS = (0.8, 0.9, 0.95)
BUCKET_FACTORS = (2, 4)  # coarser buckets: whole multiples of the run's, so groups roll up


def _day_sums(con: duckdb.DuckDBPyConnection, variant: RoutingParams, run: RoutingParams) -> pl.DataFrame:
    return (
        con.execute(load_sql("core/core_routing__daily"))
        .pl()
        .with_columns(
            pl.lit(variant.bucket_minutes, pl.Int64).alias("bucket_minutes"),
            pl.lit(variant.availability_confidence, pl.Float64).alias("availability_confidence"),
            pl.lit(variant.min_success, pl.Float64).alias("min_success"),
            pl.lit(all(getattr(variant, k) == getattr(run, k) for k in VARIANT_SCHEMA)).alias("is_run_setting"),
        )
    )


def sensitivity_pass(
    con: duckdb.DuckDBPyConnection,
    root: Path,
    days: list[dt.date],
    scenario: Scenario,
    params: RoutingParams,
    models: list[str],
) -> pl.DataFrame:
    """After a replay pass whose partials are written (its tables are replaced here): the
    headline models' day sums under every variant, with the variant's columns."""
    headline = [m for m in models if m in params.sensitivity_models]
    if not headline or not has_table(con, "request_groups"):
        return pl.DataFrame(schema={**DAILY_SCHEMA, **VARIANT_SCHEMA, "is_run_setting": pl.Boolean})
    only = {"m": headline}
    con.execute(
        "create or replace temp table request_groups as select * from request_groups where list_contains($m, model)",
        only,
    )
    con.execute("create or replace temp table pieces as select * from pieces where list_contains($m, model)", only)
    frames = []
    for confidence in CONFIDENCES:
        for min_success in MIN_SUCCESS:
            variant = replace(params, availability_confidence=confidence, min_success=min_success)
            make_table(con, "slots", "core/core_routing__slots", slot_values(variant))
            make_table(con, "groups", "core/core_routing__groups")
            frames.append(_day_sums(con, variant, params))
    con.execute("create or replace temp table request_groups_fine as select * from request_groups")
    for factor in BUCKET_FACTORS:
        variant = replace(params, bucket_minutes=params.bucket_minutes * factor)
        slot_tables(con, root, days, scenario, variant, headline)
        make_table(
            con,
            "request_groups",
            "core/core_routing__request_groups_coarser",
            {"bucket_minutes": variant.bucket_minutes},
        )
        make_table(con, "groups", "core/core_routing__groups")
        frames.append(_day_sums(con, variant, params))
    return pl.concat(frames, how="vertical_relaxed")


def build_sensitivity(root: Path, params: RoutingParams = RoutingParams()) -> pl.DataFrame:
    """marts.routing_sensitivity from every day's partials (pipeline/lib/marts/routing_sensitivity.py);
    `params` gives the bootstrap's resamples and seed."""
    from pipeline.lib.marts.routing_sensitivity import routing_sensitivity

    return routing_sensitivity(read_partials(root, "sensitivity"), list(DAILY_SCHEMA), params.n_boot, params.seed)
