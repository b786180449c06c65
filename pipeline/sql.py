"""Load SQL files from sql/<layer>/<name>.sql: the one place that knows where sql/ lives."""

from __future__ import annotations

from functools import cache

from pipeline.paths import SQL_DIR


@cache
def load_sql(name: str) -> str:
    """`load_sql("staging/stg_requests")` -> text of sql/staging/stg_requests.sql."""
    return (SQL_DIR / f"{name}.sql").read_text(encoding="utf-8")
