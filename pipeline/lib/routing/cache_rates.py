"""The replay's cache rates (sql/core/core_routing__cache_rates.sql): the cache hits a log cannot
show, estimated per day from every model's requests. The run publishes them per day
(marts.routing_cache_rates) and records the code that estimated them (marts.run_parameters), so
that a later one-model replay (`servicelens simulate`) reads them instead of estimating them
again, which is most of its time."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import duckdb

from pipeline.lib.duck import connect
from pipeline.lib.routing.layout import day_dir, partial_dir
from pipeline.lib.routing.settings import RoutingParams
from pipeline.paths import marts_file
from pipeline.sql import load_sql

SQL = "core/core_routing__cache_rates"


def estimator_code() -> str:
    """A hash of the SQL that estimates the cache rates: marts.run_parameters records the one a
    run used (routing_cache_rates_code), so that published rates are reused only by the same code."""
    return hashlib.blake2b(load_sql(SQL).encode(), digest_size=8).hexdigest()


def published_files(root: Path, days: list[dt.date], params: RoutingParams) -> list[str] | None:
    """The files of marts.routing_cache_rates that `root` (a built warehouse's record) holds for
    `days`, when it holds every one of them and its run (marts.run_parameters) estimated them
    with params' cache_min_reporting and with this code's SQL; else None. Those rows are what the
    SQL gives from the same staged requests: a generation's staged files and marts are published
    together."""
    folder = partial_dir(root, "cache_rates")
    files = [sorted(day_dir(folder, d).glob("*.parquet")) for d in days]
    run_parameters = marts_file(root, "run_parameters")
    if not days or not all(files) or not run_parameters.exists():
        return None
    con = connect()
    try:
        threshold, code = con.execute(
            "select any_value(value_num) filter (where name = 'routing_cache_min_reporting'), "
            "any_value(value) filter (where name = 'routing_cache_rates_code') from read_parquet($f)",
            {"f": str(run_parameters)},
        ).fetchone()
    finally:
        con.close()
    if threshold != params.cache_min_reporting or code != estimator_code():
        return None
    return [str(f) for day in files for f in day]


def load_published(con: duckdb.DuckDBPyConnection, files: list[str], values: dict) -> None:
    """The temp table cache_rates from published files (published_files): the SQL's statement
    with no rows fixes the table's types (`values`: the SQL's parameters; nothing is read), the
    published days fill it."""
    con.execute(f"create or replace temp table cache_rates as select * from ({load_sql(SQL)}) limit 0", values)
    con.execute(
        "insert into cache_rates by name select * from read_parquet($f, hive_partitioning = true)", {"f": files}
    )
