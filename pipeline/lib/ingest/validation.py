"""The validation SQL: typed coercion of a source column to its contract type, and the select
that types every row and names the first rule it breaks (pipeline.lib.contract)."""

from __future__ import annotations

from pipeline.lib.contract import BOOL, DATE, FLOAT, INT, STR, TS, Column, Dataset
from pipeline.lib.duck import lit, q

# DuckDB type families of a source column, for choosing a cast
_INT_TYPES = {
    "TINYINT",
    "SMALLINT",
    "INTEGER",
    "BIGINT",
    "HUGEINT",
    "UTINYINT",
    "USMALLINT",
    "UINTEGER",
    "UBIGINT",
    "UHUGEINT",
}


_FLOAT_TYPES = {"FLOAT", "DOUBLE", "REAL"}


_TYPE_WORDS = {INT: "integer", FLOAT: "number", BOOL: "boolean", TS: "timestamp", DATE: "date", STR: "string"}


def _present(expr: str, src_type: str) -> str:
    if _is_text(src_type):
        return f"(nullif(trim(cast({expr} as varchar)), '') is not null)"
    return f"({expr} is not null)"


def _is_text(src_type: str) -> bool:
    return src_type.upper().startswith(("VARCHAR", "JSON")) or src_type.upper() == "NULL"


def _is_fractional(st: str) -> bool:
    return st in _FLOAT_TYPES or st.startswith("DECIMAL")


def _is_zoned(st: str) -> bool:
    return st.startswith("TIMESTAMP WITH TIME ZONE") or st == "TIMESTAMPTZ"


def _is_local_time(st: str) -> bool:
    """A timestamp without zone or a date (a zoned timestamp is told apart first: _is_zoned)."""
    return st.startswith("TIMESTAMP") or st == "DATE"


def coerce(expr: str, src_type: str, col: Column) -> str:
    """SQL turning a source value into the contract type, NULL where it does not fit."""
    st = src_type.upper()
    text = _is_text(st)
    if col.type == STR:
        return _to_string(expr, col)
    to_type = _COERCIONS.get(col.type)
    if to_type is None:
        raise ValueError(f"unknown contract type {col.type}")
    return to_type(expr, st, text)


def _to_string(expr: str, col: Column) -> str:
    out = f"nullif(trim(cast({expr} as varchar)), '')"
    if col.lower:
        out = f"lower({out})"
    if col.upper:
        out = f"upper({out})"
    return out


def _to_integer(expr: str, st: str, text: bool) -> str:
    if st in _INT_TYPES:
        return f"try_cast({expr} as bigint)"
    if text or _is_fractional(st):
        return _whole_number(expr, text)
    return "cast(null as bigint)"


def _whole_number(expr: str, text: bool) -> str:
    """A text or fractional source value as BIGINT when it is whole."""
    # try_cast('1.5' as bigint) rounds to 2: a token count must be whole, so go
    # through double and keep only integral values. From 2^53 on a double is no
    # longer exact: there only integer text counts (`123` or `123.0`), read
    # exactly as BIGINT (the regex runs for those few values only).
    d = f"try_cast(trim(cast({expr} as varchar)) as double)" if text else f"cast({expr} as double)"
    t = f"trim(cast({expr} as varchar))"
    big = (
        f" when abs({d}) >= {2**53} and regexp_full_match({t}, '[+-]?[0-9]+([.]0*)?') "
        f"then try_cast(regexp_replace({t}, '[.]0*$', '') as bigint)"
        if text
        else ""
    )
    return f"(case when {d} = floor({d}) and abs({d}) < {2**53} then cast({d} as bigint){big} end)"


def _to_number(expr: str, st: str, text: bool) -> str:
    if text:
        d = f"try_cast(trim({expr}) as double)"
    elif st in _INT_TYPES or _is_fractional(st):
        d = f"cast({expr} as double)"
    else:
        return "cast(null as double)"
    return f"(case when isfinite({d}) then {d} end)"


def _to_boolean(expr: str, st: str, text: bool) -> str:
    if st == "BOOLEAN":
        return expr
    if text:
        return f"try_cast(trim({expr}) as boolean)"
    if st in _INT_TYPES:
        return f"(case when {expr} in (0, 1) then {expr} = 1 end)"
    return "cast(null as boolean)"


def _to_timestamp(expr: str, st: str, text: bool) -> str:
    # make_timestamp(epoch_us(x)) is the UTC wall time of an instant; timezone('UTC', x)
    # gives the same value but goes through the calendar, ten times slower.
    # (years 1-9999 only: see _calendar_rule)
    if text:
        return f"make_timestamp(epoch_us(try_cast(trim({expr}) as timestamptz)))"
    if _is_zoned(st):
        return f"make_timestamp(epoch_us({expr}))"
    if _is_local_time(st):
        return f"try_cast({expr} as timestamp)"  # a DATE beyond TIMESTAMP's range: null
    return "cast(null as timestamp)"


def _to_date(expr: str, st: str, text: bool) -> str:
    if text:
        # A value with a time part is an instant: its date is the UTC date, as for
        # zoned Parquet timestamps (try_cast(... as date) would drop the offset).
        return (
            f"(case when length(trim({expr})) > 10 "
            f"then cast(make_timestamp(epoch_us(try_cast(trim({expr}) as timestamptz))) as date) "
            f"else try_cast(trim({expr}) as date) end)"
        )
    if _is_zoned(st):
        return f"cast(make_timestamp(epoch_us({expr})) as date)"
    if _is_local_time(st):
        return f"try_cast({expr} as date)"
    return "cast(null as date)"


# contract type -> SQL turning (expression, its upper-cased DuckDB type, whether that is text) into it
_COERCIONS = {
    INT: _to_integer,
    FLOAT: _to_number,
    BOOL: _to_boolean,
    TS: _to_timestamp,
    DATE: _to_date,
}


def _calendar_rule(col: Column, v: str) -> list[tuple[str, str]]:
    """Only years 1-9999 are dates (ISO 8601 without expansion): infinity, BC dates and year
    294247 would name hive partitions that do not read back as dates."""
    if col.type not in (TS, DATE):
        return []
    return [
        (
            f"not ({v} >= {col.type.lower()} '0001-01-01' and {v} < {col.type.lower()} '10000-01-01')",
            f"bad_type: {col.name} is not a valid {_TYPE_WORDS[col.type]}",
        )
    ]


def _range_rules(col: Column, v: str) -> list[tuple[str, str]]:
    """(condition that is true when the value breaks the rule, reason) pairs."""
    out = []
    if col.min_value is not None:
        op, word = ("<=", ">") if col.min_exclusive else ("<", ">=")
        out.append((f"{v} {op} {col.min_value}", f"out_of_range: {col.name} must be {word} {col.min_value:g}"))
    if col.max_value is not None:
        out.append((f"{v} > {col.max_value}", f"out_of_range: {col.name} must be <= {col.max_value:g}"))
    if col.allowed is not None:
        allowed = ", ".join(f"'{a}'" for a in col.allowed)
        out.append((f"{v} not in ({allowed})", f"not_allowed: {col.name} must be one of {', '.join(col.allowed)}"))
    return out


def _any_broken(rules: list[tuple[str, str]]) -> str:
    return " or ".join(f"coalesce({c}, false)" for c, _ in rules) if rules else "false"


def _reason_text(rules: list[tuple[str, str]], first: str | None = None) -> str:
    parts = ([first] if first else []) + [f"case when {c} then {lit(r)} end" for c, r in rules]
    return "concat_ws('; ', " + ", ".join(parts) + ")"


def validate_select(
    spec: Dataset,
    source_sql: str,
    columns: dict[str, tuple[str, str]],
    raw_sql: str | None = None,
    ref_tables: frozenset[str] = frozenset(),
    reject_sql: str | None = None,
) -> str:
    """SELECT producing, per source row: every contract column typed, extra columns as
    text, `_source_file`, `_row_number`, `_reason` (NULL when the row is good) and `_raw`
    (the row as text, only where `_reason` is set).

    `columns` maps a source column name to (SQL expression, DuckDB type). `source_sql`
    must expose those expressions plus `__sl_source_file` and `__sl_row_number`.
    `reject_sql`, when given, is a reason (or NULL) the reader found for a source row
    before any typing (bad bytes, an over-long line): such a row is quarantined with it.
    """
    contract = set(spec.column_names)
    present_cols = [c for c in spec.columns if c.name in columns]
    extras = [n for n in columns if n not in contract]
    s = {c.name: q("__s_" + c.name) for c in present_cols}  # source value
    t = {c.name: q("__t_" + c.name) for c in spec.columns}  # typed value

    # L1: source values under fixed names; L2: typed values beside them.
    l1 = (
        [f"{columns[c.name][0]} as {s[c.name]}" for c in present_cols]
        + [f"cast({columns[n][0]} as varchar) as {q(n)}" for n in extras]
        + ["__sl_source_file as _source_file", "__sl_row_number as _row_number"]
        + ([f"{raw_sql} as __raw"] if raw_sql else [])
        + [f"{reject_sql or 'null::varchar'} as __pre"]
    )
    l2 = [f"{coerce(s[c.name], columns[c.name][1], c)} as {t[c.name]}" for c in present_cols]
    l2 += [f"cast(null as {c.type}) as {t[c.name]}" for c in spec.columns if c.name not in columns]

    # L3: contract names, and the rules that need only this row's own values.
    rules: list[tuple[str, str]] = []
    for c in spec.columns:
        if c.name not in columns:
            if c.required:
                rules.append(("true", f"missing: {c.name} (no such column)"))
            continue
        if c.type == STR:
            # the typed value is the trimmed text: null exactly when the source is blank
            if c.required:
                rules.append((f"{t[c.name]} is null", f"missing: {c.name}"))
        else:
            present = _present(s[c.name], columns[c.name][1])
            rules.append(
                (f"{present} and {t[c.name]} is null", f"bad_type: {c.name} is not a valid {_TYPE_WORDS[c.type]}")
            )
            rules += _calendar_rule(c, t[c.name])
            if c.required:
                rules.append((f"not {present}", f"missing: {c.name}"))
        rules += _range_rules(c, t[c.name])
    l3 = [f"{t[c.name]} as {q(c.name)}" for c in spec.columns] + [
        f"__pre is not null or {_any_broken(rules)} as __type_bad"
    ]

    # L4: references to other datasets and row rules, on typed values only (row alias v).
    more: list[tuple[str, str]] = []
    if "known_models" in ref_tables:
        more += [
            (f"v.{q(c)} is not null and v.{q(c)} not in (select model from known_models)", f"unknown_model: {c}")
            for c in spec.model_refs
        ]
    if "known_providers" in ref_tables:
        more += [
            (
                f"v.{q(c)} is not null and v.{q(c)} not in (select provider from known_providers)",
                f"unknown_provider: {c}",
            )
            for c in spec.provider_refs
        ]
    for chk in spec.checks:
        if "known_fx" in chk.sql and "known_fx" not in ref_tables:
            continue
        more.append((f"({chk.sql})", chk.reason))

    # L5: the reason text and the raw row, built for bad rows only (most rows are good,
    # and building a string per row would cost more than all the checks together).
    raw_fields = ", ".join(f"{lit(c.name)}: {s[c.name]}" for c in present_cols)
    raw_expr = "__raw" if raw_sql else (f"to_json({{{raw_fields}}})" if raw_fields else "'{}'")
    all_rules = rules + more
    out = (
        [q(c.name) for c in spec.columns]
        + [q(n) for n in extras]
        + [
            "_source_file",
            "_row_number",
            f"case when __bad then nullif({_reason_text(all_rules, '__pre')}, '') end as _reason",
            f"case when __bad then cast({raw_expr} as varchar) end as _raw",
        ]
    )
    return (
        f"select {', '.join(out)} from ("
        f"select *, __type_bad or {_any_broken(more)} as __bad from ("
        f"select *, {', '.join(l3)} from ("
        f"select *, {', '.join(l2)} from ("
        f"select {', '.join(l1)} from ({source_sql}) s1) s2) s3) v) v"
    )
