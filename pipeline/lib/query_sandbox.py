"""`servicelens query`'s sandbox: a read-only DuckDB connection that reads the warehouse and its
own Parquet and nothing else, statements that write files refused before anything runs, and
DuckDB's errors as one line (pipeline/cli.py's query command; checks in pipeline/lib/cli_checks.py)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import duckdb

from pipeline.lib.cli_checks import Mistake, one_line
from pipeline.paths import parquet_root

# Statements that write files: refused without --allow-files, also inside EXPLAIN ANALYZE or
# PREPARE (which run them), because the folder the sandbox must leave readable (the warehouse's
# own Parquet) would otherwise be writable.
_WRITES = {duckdb.StatementType.COPY: "COPY", duckdb.StatementType.EXPORT: "EXPORT DATABASE"}
_WRITE_WORDS = re.compile(r"\b(copy|export)\b", re.IGNORECASE)


def readable_dirs(warehouse: Path, con: duckdb.DuckDBPyConnection | None = None) -> list[str]:
    """The folders a sandboxed query may read: the Parquet beside the warehouse, as named and with
    symlinks followed, and the folders inside it that the warehouse's views read
    (marts.routing_decisions), as the views spell them."""
    root = parquet_root(Path(os.path.abspath(warehouse)))
    real = root.resolve()
    dirs = {root, real}
    if con is not None:
        for (sql,) in con.execute("select sql from duckdb_views() where not internal").fetchall():
            for path in re.findall(r"read_parquet\(\s*'([^']+)'", sql or ""):
                base = Path(re.split(r"[*?\[{]", path, maxsplit=1)[0])
                base = base if base.is_dir() else base.parent
                if base.is_absolute() and base.resolve().is_relative_to(
                    real
                ):  # never wider than the warehouse's Parquet
                    dirs.add(base)
    return sorted(str(d).rstrip(os.sep) + os.sep for d in dirs)


def _refuse_writes(sql: str, allow_files: bool) -> None:
    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.Error as exc:
        raise Mistake(one_line(exc)) from None
    if allow_files:
        return
    for statement in statements:
        kind = _WRITES.get(statement.type)
        if kind is None and statement.type in (duckdb.StatementType.EXPLAIN, duckdb.StatementType.PREPARE):
            if _WRITE_WORDS.search(statement.query):
                kind = f"COPY or EXPORT inside {statement.type.name}"
        if kind:
            raise Mistake(f"servicelens query does not write files ({kind}); pass --allow-files to let it")


def remote_query_connection(url: str, sql: str, allow_files: bool) -> duckdb.DuckDBPyConnection:
    """A connection for one query over the generation mirrored at `url`
    (pipeline/lib/generations/remote.py). Without allow_files, as a local query: writing
    statements refused, nothing read but that generation's Parquet (no local file, no ATTACH,
    INSTALL or LOAD), the configuration locked."""
    from pipeline.lib.generations.remote import connect_remote

    _refuse_writes(sql, allow_files)
    try:
        return connect_remote(url, sandbox=not allow_files)
    except (ValueError, OSError, ImportError) as exc:
        raise Mistake(f"cannot read {url}: {one_line(exc)}") from None


def query_connection(warehouse: Path, sql: str, allow_files: bool) -> duckdb.DuckDBPyConnection:
    """A read-only connection for one query. Without allow_files: DuckDB's external access off
    (no reading or writing other files, no ATTACH, INSTALL or LOAD) except for reading the
    warehouse's own Parquet, the configuration locked so the query cannot turn it back on, and
    statements that write files refused before anything runs."""
    _refuse_writes(sql, allow_files)
    try:
        if allow_files:
            return duckdb.connect(str(warehouse), read_only=True)
        # a distinct configuration: never a DuckDB instance shared with another connection in
        # this process (which would inherit the lock below)
        con = duckdb.connect(str(warehouse), read_only=True, config={"custom_user_agent": "servicelens-query"})
    except duckdb.Error as exc:
        raise Mistake(f"cannot open {warehouse}: {one_line(exc)}") from None
    con.execute("set allowed_directories = $dirs", {"dirs": readable_dirs(warehouse, con)})
    con.execute("set enable_external_access = false")
    con.execute("set lock_configuration = true")
    return con


def query_error(exc: duckdb.Error, allow_files: bool) -> Mistake:
    message = one_line(exc)
    if (
        not allow_files
        and isinstance(exc, duckdb.PermissionException | duckdb.InvalidInputException)
        and (
            "disabled by configuration" in message
            or "disabled through configuration" in message
            or "configuration has been locked" in message
        )
    ):
        message += " (servicelens query reads only the warehouse; pass --allow-files to reach other files)"
    return Mistake(message)
