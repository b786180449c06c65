"""The warehouse as the report sees it: one read-only DuckDB connection, values bound as
parameters, and the quarters it holds. Nothing here writes."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import duckdb
import polars as pl

QUARTER = re.compile(r"^(\d{4})Q([1-4])$")
# Marts whose `period` column says which quarters the warehouse holds.
PERIOD_MARTS = (
    "concentration",
    "family_demand",
    "service_objects",
    "supply_use_summary",
    "task_regimes",
    "routing_counterfactual",
)


# The default quarter has data for at least this share of the service objects of the best-covered
# quarter (Warehouse.latest_quarter).
MOST_OBJECTS = 0.5


def parse_quarter(label: str) -> tuple[int, int]:
    m = QUARTER.match(label or "")
    if not m:
        raise ValueError(f"period {label!r} is not a quarter like 2025Q4")
    return int(m.group(1)), int(m.group(2))


def previous_quarter(label: str) -> str:
    year, q = parse_quarter(label)
    return f"{year - 1}Q4" if q == 1 else f"{year}Q{q - 1}"


def quarter_dates(label: str) -> tuple[date, date]:
    """First day of the quarter and first day of the next one."""
    year, q = parse_quarter(label)
    start = date(year, 3 * q - 2, 1)
    end = date(year + 1, 1, 1) if q == 4 else date(year, 3 * q + 1, 1)
    return start, end


class Warehouse:
    """A read-only view of a published warehouse file. Use as a context manager."""

    def __init__(self, path: Path):
        self.path = Path(path)
        if not self.path.is_file():
            raise FileNotFoundError(f"no warehouse at {self.path}: build one with `servicelens run` (or `make run`)")
        self.con = duckdb.connect(str(self.path), read_only=True)
        rows = self.con.execute(
            "select schema_name, table_name, column_name from duckdb_columns() where schema_name in ('marts', 'staging')"
        ).fetchall()
        self._columns: dict[str, list[str]] = {}
        for schema, table, column in rows:
            self._columns.setdefault(f"{schema}.{table}", []).append(column)

    def __enter__(self) -> Warehouse:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self.con.close()

    def has(self, table: str, *columns: str) -> bool:
        """True when `schema.table` exists (with every named column)."""
        have = self._columns.get(table)
        return have is not None and all(c in have for c in columns)

    def frame(self, sql: str, params: dict | None = None) -> pl.DataFrame:
        return self.con.execute(sql, params or {}).pl()

    def rows(self, sql: str, params: dict | None = None) -> list[dict]:
        return self.frame(sql, params).to_dicts()

    def one(self, sql: str, params: dict | None = None) -> dict | None:
        rows = self.rows(sql, params)
        return rows[0] if rows else None

    def from_quarter(self, table: str) -> str:
        """`from <table> where <one quarter>` ($period bound by the caller), to go on with
        `and ...`, `group by` or `order by`: tables with period_type keep the quarter rows; the
        routing marts may have none."""
        where = "period = $period and period_type = 'quarter'" if self.has(table, "period_type") else "period = $period"
        return f"from {table} where {where}"

    def quarters(self) -> list[str]:
        """Quarters with rows in any of PERIOD_MARTS, oldest first."""
        found: set[str] = set()
        for name in PERIOD_MARTS:
            table = f"marts.{name}"
            if not self.has(table, "period"):
                continue
            where = "where period_type = 'quarter'" if self.has(table, "period_type") else ""
            found |= {
                p
                for (p,) in self.con.execute(f"select distinct period from {table} {where}").fetchall()
                if p and QUARTER.match(p)
            }
        return sorted(found, key=parse_quarter)

    def latest_quarter(self) -> str:
        """The quarter a report defaults to: the latest one with data for most service objects,
        not the latest date seen (a drop whose last quarter holds a stray day of one provider's
        probes would otherwise default to a quarter of one service object). Counted in
        marts.service_objects: the service objects (provider x model) with a probe or a request in
        the quarter; the default is the latest quarter whose count is at least half the largest
        count of any quarter (MOST_OBJECTS), so a quarter that grew or lost some providers still
        counts. Without service objects with data, the latest quarter any mart holds."""
        quarters = self.quarters()
        if not quarters:
            raise ValueError(f"{self.path} holds no quarter in any of {', '.join('marts.' + m for m in PERIOD_MARTS)}")
        counts = self.objects_with_data()
        most = max(counts.values(), default=0)
        covered = [q for q in quarters if most and counts.get(q, 0) >= MOST_OBJECTS * most]
        return covered[-1] if covered else quarters[-1]

    def objects_with_data(self) -> dict[str, int]:
        """Service objects with a latency probe or a logged request, per quarter (marts.service_objects)."""
        if not self.has("marts.service_objects", "period", "period_type", "probes", "requests"):
            return {}
        rows = self.con.execute(
            "select period, count(*) filter (where probes > 0 or requests > 0) from marts.service_objects "
            "where period_type = 'quarter' group by period"
        ).fetchall()
        return {p: n for p, n in rows if p and QUARTER.match(p)}
