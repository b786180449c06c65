"""Two warehouses compared table by table, row by row: the test of "an incremental run gives what
a full rebuild gives" and of "the multiprocess executor gives what the in-process run gives"."""

from __future__ import annotations

import math
from pathlib import Path

import duckdb

# Parallel float sums add the same numbers in another order from one run to the next (two full
# rebuilds differ so); no decision of the pipeline depends on those last bits.
REL, ABS = 1e-9, 1e-12


def _close(x, y) -> bool:
    if isinstance(x, float) and isinstance(y, float):
        if math.isnan(x) or math.isnan(y):
            return math.isnan(x) and math.isnan(y)
        return x == y or abs(x - y) <= REL * max(abs(x), abs(y)) + ABS
    if isinstance(x, (list, tuple)) and isinstance(y, (list, tuple)):
        return len(x) == len(y) and all(_close(a, b) for a, b in zip(x, y, strict=False))
    if isinstance(x, dict) and isinstance(y, dict):
        return x.keys() == y.keys() and all(_close(x[k], y[k]) for k in x)
    return x == y


def _key(row) -> str:
    """A sort key that does not see the last bits of a float."""
    return repr(tuple(f"{v:.9g}" if isinstance(v, float) else v for v in row))


def relations(con: duckdb.DuckDBPyConnection) -> list[str]:
    tables = [
        f"{s}.{t}"
        for s, t in con.execute(
            "select schema_name, table_name from duckdb_tables() where schema_name in ('staging', 'marts')"
        ).fetchall()
    ]
    views = [
        f"{s}.{v}"
        for s, v in con.execute(
            "select schema_name, view_name from duckdb_views() where not internal and schema_name in ('staging', 'marts')"
        ).fetchall()
    ]
    # the per-request decisions view recomputes what marts.routing_groups holds, request by request
    return sorted(set(tables + views) - {"marts.routing_decisions"})


def differences(a: Path, b: Path) -> list[str]:
    """What differs between the warehouses at `a` and `b` (empty: the same)."""
    ca, cb = duckdb.connect(str(a), read_only=True), duckdb.connect(str(b), read_only=True)
    try:
        out = []
        ra, rb = relations(ca), relations(cb)
        if ra != rb:
            return [f"relations differ: {sorted(set(ra) ^ set(rb))}"]
        for rel in ra:
            cols_a = [r[0] for r in ca.execute(f"describe {rel}").fetchall()]
            cols_b = [r[0] for r in cb.execute(f"describe {rel}").fetchall()]
            if sorted(cols_a) != sorted(cols_b):
                out.append(f"{rel}: columns {cols_a} vs {cols_b}")
                continue
            select = f"select {', '.join(chr(34) + c + chr(34) for c in cols_a)} from {rel}"
            rows_a = sorted(ca.execute(select).fetchall(), key=_key)
            rows_b = sorted(cb.execute(select).fetchall(), key=_key)
            if len(rows_a) != len(rows_b):
                out.append(f"{rel}: {len(rows_a)} rows vs {len(rows_b)}")
                continue
            if rows_a != rows_b:
                bad = [(x, y) for x, y in zip(rows_a, rows_b, strict=False) if not _close(x, y)]
                if bad:
                    out.append(f"{rel}: {len(bad)} rows differ, e.g. {bad[0][0]!r} vs {bad[0][1]!r}")
        return out
    finally:
        ca.close()
        cb.close()
