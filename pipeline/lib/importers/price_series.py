"""Price observations -> contract tables, shared by the price-table importers (litellm_prices,
genai_prices): the prices rows written only where a price changes, the endpoint states (runs
of consecutive snapshots with the same attributes), and the models rows.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter

import polars as pl

from pipeline.lib.contract import ENDPOINTS
from pipeline.lib.importers import canonical_model_rows, contract_schema
from pipeline.lib.importers.snapshots import Snapshot, SnapshotImportReport

PRICE_SCHEMA = contract_schema("prices")
ENDPOINT_SCHEMA = contract_schema("endpoints")
# an endpoint state: every contract column of endpoints but its keys and validity
STATE_COLUMNS = tuple(c for c in ENDPOINTS.column_names if c not in ("provider", "model", "valid_from", "valid_to"))
PRICE_COLUMNS = ("input_per_mtok", "output_per_mtok", "cached_input_per_mtok")


def price_rows(obs: pl.DataFrame, compare: tuple[str, ...] = PRICE_COLUMNS) -> pl.DataFrame:
    """Observations (snapshot_ts, provider, model, prices, extras ...) -> the rows whose
    `compare` columns differ from the previous observation of the same (provider, model).
    Adds the boolean column `_written`."""
    obs = obs.sort("provider", "model", "snapshot_ts", "_order")
    changed = pl.lit(False)
    for c in compare:
        prev = pl.col(c).shift(1).over("provider", "model")
        changed = changed | (pl.col(c).ne_missing(prev))
    first = pl.col("snapshot_ts").cum_count().over("provider", "model") == 1
    return obs.with_columns((first | changed).alias("_written"))


def endpoint_states(obs: pl.DataFrame, snapshot_ts: list[dt.datetime], extra: tuple[str, ...] = ()) -> pl.DataFrame:
    """Per-snapshot endpoint observations -> one row per state (consecutive snapshots with
    equal STATE_COLUMNS). `obs` has provider, model, _idx (the snapshot's position in
    `snapshot_ts`), STATE_COLUMNS and `extra` columns (taken from a state's first snapshot)."""
    if obs.height == 0:
        return pl.DataFrame(schema={**ENDPOINT_SCHEMA, **{e: obs.schema[e] for e in extra}})
    obs = obs.sort("provider", "model", "_idx")
    prev_idx = pl.col("_idx").shift(1).over("provider", "model")
    new = prev_idx.is_null() | (pl.col("_idx") != prev_idx + 1)
    for c in STATE_COLUMNS:
        new = new | pl.col(c).ne_missing(pl.col(c).shift(1).over("provider", "model"))
    obs = obs.with_columns(new.cum_sum().over("provider", "model").alias("_state"))
    ts = pl.DataFrame(
        {"_i": list(range(len(snapshot_ts))), "_ts": snapshot_ts}, schema={"_i": pl.Int64, "_ts": pl.Datetime("us")}
    )
    states = obs.group_by("provider", "model", "_state", maintain_order=True).agg(
        pl.col("_idx").min().alias("_first"),
        (pl.col("_idx").max() + 1).alias("_next"),
        *[pl.col(c).first() for c in STATE_COLUMNS + extra],
    )
    return (
        states.join(ts.rename({"_i": "_first", "_ts": "valid_from"}), on="_first", how="left")
        .join(ts.rename({"_i": "_next", "_ts": "valid_to"}), on="_next", how="left")  # null past the last snapshot
        .select("provider", "model", "valid_from", "valid_to", *STATE_COLUMNS, *extra)
        .cast(ENDPOINT_SCHEMA)
        .sort("provider", "model", "valid_from")
    )


def build_tables(
    kept: list[dict],
    read: list[Snapshot],
    report: SnapshotImportReport,
    key_col: str,
    snapshot_col: str,
    price_extras: dict[str, pl.DataType] | None = None,
    scheduled: list[dict] | None = None,
    info_extras: dict[str, pl.DataType] | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Kept candidates of every snapshot -> (prices, endpoints, models); records the
    priced / unchanged fates per file. `price_extras` are extra price columns (compared
    like the prices: a change in them is a new row). `scheduled` are extra price
    observations (dated price changes announced in a snapshot), written when they change
    the series. `info_extras` are extra columns carried along but not compared."""
    compared = dict(price_extras or {})
    extra_schema = {**compared, **(info_extras or {})}
    base_schema = {
        **PRICE_SCHEMA,
        "_idx": pl.Int64,
        "_order": pl.Int64,
        "_file": pl.String,
        "_scheduled": pl.Boolean,
        key_col: pl.String,
        snapshot_col: pl.String,
        **extra_schema,
    }
    rows = [
        {
            **{k: c.get(k) for k in base_schema},
            "currency": "USD",
            "_file": str(read[c["_idx"]].path),
            "_scheduled": False,
            key_col: c["_key"],
        }
        for c in kept
    ] + [
        {**{k: s.get(k) for k in base_schema}, "currency": "USD", "_scheduled": True, key_col: s["_key"]}
        for s in (scheduled or [])
    ]
    obs = pl.DataFrame(rows, schema=base_schema)
    marked = price_rows(obs, PRICE_COLUMNS + tuple(compared))
    for (file, written), n in Counter(
        zip(
            marked.filter(~pl.col("_scheduled"))["_file"],
            marked.filter(~pl.col("_scheduled"))["_written"],
            strict=False,
        )
    ).items():
        report.fates.setdefault(file, Counter())["priced" if written else "unchanged"] += n
    report.scheduled_rows = marked.filter(pl.col("_scheduled") & pl.col("_written")).height
    prices = (
        marked.filter(pl.col("_written"))
        .sort("provider", "model", "snapshot_ts")
        .select(*PRICE_SCHEMA, key_col, snapshot_col, *extra_schema)
    )
    ep_obs = pl.DataFrame(
        [
            {k: c[k] for k in ("provider", "model", "_idx", *STATE_COLUMNS, "context_length_source")}
            | {key_col: c["_key"]}
            for c in kept
        ],
        schema={
            "provider": pl.String,
            "model": pl.String,
            "_idx": pl.Int64,
            "context_length": pl.Int64,
            "max_output_tokens": pl.Int64,
            "quantization": pl.String,
            "supports_tools": pl.Boolean,
            "supports_json_mode": pl.Boolean,
            "supports_streaming": pl.Boolean,
            "supports_reasoning": pl.Boolean,
            "context_length_source": pl.String,
            key_col: pl.String,
        },
    )
    endpoints = endpoint_states(ep_obs, [s.ts for s in read], extra=("context_length_source", key_col))
    models = canonical_model_rows(set(endpoints["model"].to_list()))
    return prices, endpoints, models
