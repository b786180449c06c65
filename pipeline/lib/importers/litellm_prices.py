"""LiteLLM model price table snapshots -> contract prices, endpoints and models.

Source: LiteLLM's `model_prices_and_context_window.json` (the copy every litellm release
ships as `litellm/model_prices_and_context_window_backup.json`), one file per dated
snapshot; see ../shared/data/real/litellm-model-prices/SOURCE.md. `import_litellm_prices`
accepts the folder of snapshot folders, snapshot folders (`<YYYY-MM-DD>_...`) or the JSON
files themselves. The snapshot date is read from the folder (or file) name; a file without
a date in its path is reported and skipped. Snapshots are processed in date order.

A source row is one key of one snapshot (row = the key's 1-based position in the file).

Which keys count: a key is mapped through the alias map (aliases.py) with its route, the
entry's `litellm_provider` (else the key's prefix), on the snapshot date. Keys of other
modes than chat/completion/responses (embeddings, images, audio ...; a key without `mode`
counts as chat), `sample_spec`, and keys the alias map classes as non_target, closed,
derivative or out_of_scope are skipped and counted per snapshot and reason (one report
line each, row empty). Keys of a target family whose spelling the map does not know are
listed one by one, as is every mapped key that cannot be written (below).

prices (snapshot_ts = the snapshot date at 00:00 UTC; the release's wheel was uploaded that
day, SOURCE.md gives the exact times, and the table can lag the live file by days):

    input_per_mtok          input_cost_per_token x 1e6
    output_per_mtok         output_cost_per_token x 1e6
    cached_input_per_mtok   cache_read_input_token_cost x 1e6 (null when absent)
    currency                USD (the whole table is in USD)

(prices x 1e6 are rounded to 12 decimals, so float noise in the JSON, e.g. 2.99999e-06 in one
snapshot and 2.9999900000000002e-06 in the next, is not a price change.)

Only changes are written: a (provider, model) gets a prices row at the first snapshot that
prices it and at every later snapshot whose (input, output, cached) differs from the last
written one. A snapshot repeating the price in force adds nothing (counted per snapshot as
`unchanged`): a price is in force until the next row, so the series means the same with
fewer rows, and each row's snapshot_ts is the first snapshot that showed that price (a
change lies between the previous snapshot and that date). Extra columns: `litellm_key`,
`litellm_snapshot` (the snapshot folder).

endpoints: one row per (provider, model) state, where a state is a run of consecutive
snapshots listing the pair with the same attributes:

    provider            aliases.provider_id(litellm_provider)
    valid_from          the first snapshot (00:00 UTC) of the run
    valid_to            the first later snapshot without the pair or with other attributes
                        (null when the pair is in the last snapshot imported)
    context_length      max_input_tokens; when absent, max_tokens (LiteLLM's legacy field,
                        documented as max_input_tokens when the provider gives no output cap);
                        when both are absent, the model's native window from aliases.py (some
                        Together entries have no limits). Extra column context_length_source
                        says which of the three was used.
    max_output_tokens   max_output_tokens (null when absent)
    quantization        from the key (fp8, fp4, bf16, fp16, int8, int4; awq -> int4,
                        nvfp4 / mxfp4 -> fp4), else unknown
    supports_tools      supports_function_calling (absent -> false, as LiteLLM reads it)
    supports_json_mode  supports_response_schema (absent -> false)
    supports_reasoning  supports_reasoning (absent -> false)
    supports_streaming  true: the table has no streaming flag and every provider here streams

models: one row per canonical model with an endpoint, from aliases.CANONICAL.

One key per (provider, model) and snapshot: several keys can name one model on one
provider (DeepInfra's `Llama-3.3-70B-Instruct` and `-Turbo`, Bedrock's regional copies,
OpenRouter's `:free`, DeepSeek's `deepseek-chat` and `deepseek-reasoner`). The kept key is
the standard offering: fewest offering markers (turbo, fast, free, region ...; see
aliases.Resolution.rank), then a `<route>/` prefixed key over a bare one, then the shorter
key, then the key text. The others are listed with the kept key named.

A mapped key is listed (not written) when its price is missing or not a number (missing
prices are never read as free) or when a token limit is not a whole number >= 1.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections import Counter
from pathlib import Path

import polars as pl

from pipeline.lib.importers import ImportIssue, contract_schema, read_json
from pipeline.lib.importers.aliases import CANONICAL, Resolution, provider_id, resolve
from pipeline.lib.importers.snapshots import (
    Snapshot,
    SnapshotImportReport,
    add_aggregates,
    dated_snapshots,
    find_snapshot_files,
    write_prices_drop,
)

FORMAT = "litellm-prices"
OUT_NAME = "litellm_prices"
NATIVE_CONTEXT = "model card (aliases.py)"  # context_length_source when the source has no limit
CHAT_MODES = frozenset({"chat", "completion", "responses", None})
JSON_NAME = re.compile(r"model_prices_and_context_window.*\.json$")

PRICE_SCHEMA = contract_schema("prices")
ENDPOINT_SCHEMA = contract_schema("endpoints")
MODEL_SCHEMA = contract_schema("models")
STATE_COLUMNS = (
    "context_length",
    "max_output_tokens",
    "quantization",
    "supports_tools",
    "supports_json_mode",
    "supports_streaming",
    "supports_reasoning",
)
PRICE_COLUMNS = ("input_per_mtok", "output_per_mtok", "cached_input_per_mtok")


# --------------------------------------------------------------------------- values


def as_number(value) -> float | None | str:
    """A finite number, None when absent, or the string 'bad' for anything else."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return "bad"
    return float(value)


def as_count(value) -> int | None | str:
    """A whole number >= 1, None when absent, or 'bad'."""
    n = as_number(value)
    if n is None or n == "bad":
        return n
    return int(n) if n == int(n) and n >= 1 else "bad"


def choose(candidates: list[dict]) -> tuple[list[dict], list[tuple[dict, dict]]]:
    """One candidate per (provider, model): see the module docstring. Returns (kept,
    [(dropped, kept instead)])."""
    groups: dict[tuple[str, str], list[dict]] = {}
    for c in candidates:
        groups.setdefault((c["provider"], c["model"]), []).append(c)
    kept, dropped = [], []
    for group in groups.values():
        group.sort(key=lambda c: (c["_rank"], "/" not in c["_key"], len(c["_key"]), c["_key"]))
        kept.append(group[0])
        dropped += [(c, group[0]) for c in group[1:]]
    return kept, dropped


def dropped_reason(c: dict, winner: dict) -> str:
    return (
        f"duplicate_offering: key {c['_key']!r} and the kept key {winner['_key']!r} both map to "
        f"({c['provider']}, {c['model']}) in this snapshot; the kept one is the standard offering"
    )


# --------------------------------------------------------------------------- series -> tables


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


def model_rows(models: set[str]) -> pl.DataFrame:
    return pl.DataFrame(
        [
            {
                "model": m,
                "family": CANONICAL[m].family,
                "developer": CANONICAL[m].developer,
                "release_date": CANONICAL[m].release_date,
                "successor_of": CANONICAL[m].successor_of,
                "official_provider": CANONICAL[m].official_provider,
            }
            for m in sorted(models)
        ],
        schema=MODEL_SCHEMA,
    )


# --------------------------------------------------------------------------- one snapshot

SKIP_TEXT = {
    "not_a_model": "skipped: sample_spec documents the fields and is not a model",
    "not_chat": "skipped: mode is not chat, completion or responses (embeddings, images, audio, rerank ...)",
    "non_target": "skipped: not a model family the project studies",
    "closed": "skipped: a target family's developer but not open weights (qwen-max, moonshot-v1, mistral-medium ...)",
    "derivative": "skipped: third-party fine-tunes or merges of target models",
    "out_of_scope": "skipped: open weights but not a chat model studied (guard, embedding, base, OCR ...)",
}
UNCHANGED_TEXT = (
    "no new prices row: the price equals the one in force, written at an earlier snapshot "
    "(the endpoint state continues)"
)
AGGREGATED_TEXT = {**SKIP_TEXT, "unchanged": UNCHANGED_TEXT}  # fates reported as one line per snapshot


def map_snapshot(snap: Snapshot, data: dict, report: SnapshotImportReport) -> tuple[list[dict], Counter]:
    """One snapshot's keys -> the kept candidates (dicts with contract values), and the
    counts of skipped keys by reason. Keys that cannot be written are added to the report."""
    file = str(snap.path)
    skipped: Counter = Counter()
    listed = 0
    candidates: list[dict] = []
    for row, (key, entry) in enumerate(data.items(), start=1):
        if key == "sample_spec":
            skipped["not_a_model"] += 1
            continue
        if not isinstance(entry, dict):
            report.issues.append(ImportIssue(file, row, f"malformed_row: key {key!r}: value is not a JSON object"))
            listed += 1
            continue
        mode = entry.get("mode")
        if mode not in CHAT_MODES:
            skipped["not_chat"] += 1
            continue
        route = entry.get("litellm_provider") or (key.split("/", 1)[0] if "/" in key else None)
        res: Resolution = resolve(key, route, snap.date)
        if res.status != "ok":
            if res.status == "unmapped":
                report.issues.append(ImportIssue(file, row, f"{res.reason} (key {key!r}, provider {route!r})"))
                listed += 1
            else:
                skipped[res.status] += 1
            continue
        problems = []
        provider = provider_id(route)
        if provider is None:
            problems.append("missing: litellm_provider (no provider for the key)")
        prices = {}
        for src, dst in (
            ("input_cost_per_token", "input_per_mtok"),
            ("output_cost_per_token", "output_per_mtok"),
            ("cache_read_input_token_cost", "cached_input_per_mtok"),
        ):
            v = as_number(entry.get(src))
            if v == "bad":
                problems.append(f"bad_type: {src} is not a number ({entry.get(src)!r})")
            elif v is None and dst != "cached_input_per_mtok":
                problems.append(f"missing: {src} (no price; not read as free)")
            else:
                prices[dst] = None if v is None else v * 1e6
        limits = {f: as_count(entry.get(f)) for f in ("max_input_tokens", "max_tokens", "max_output_tokens")}
        for f, v in limits.items():
            if v == "bad":
                problems.append(f"bad_type: {f} is not a whole number >= 1 ({entry.get(f)!r})")
        if limits["max_input_tokens"] not in (None, "bad"):
            ctx, ctx_src = limits["max_input_tokens"], "max_input_tokens"
        elif limits["max_tokens"] not in (None, "bad"):
            ctx, ctx_src = limits["max_tokens"], "max_tokens"
        else:
            ctx, ctx_src = CANONICAL[res.model].context_length, NATIVE_CONTEXT
        if problems:
            report.issues.append(ImportIssue(file, row, f"{'; '.join(problems)} (key {key!r} -> {res.model})"))
            listed += 1
            continue
        mo = limits["max_output_tokens"]
        candidates.append(
            {
                "provider": provider,
                "model": res.model,
                "_key": key,
                "_row": row,
                "_rank": res.rank,
                **{k: round(v, 12) if v is not None else None for k, v in prices.items()},
                "context_length": ctx,
                "context_length_source": ctx_src,
                "max_output_tokens": None if mo in (None, "bad") else mo,
                "quantization": res.quantization,
                "supports_tools": bool(entry.get("supports_function_calling") is True),
                "supports_json_mode": bool(entry.get("supports_response_schema") is True),
                "supports_streaming": True,
                "supports_reasoning": bool(entry.get("supports_reasoning") is True),
            }
        )
    kept, dropped = choose(candidates)
    for c, winner in dropped:
        report.issues.append(ImportIssue(file, c["_row"], dropped_reason(c, winner)))
    listed += len(dropped)
    skipped["listed"] = listed
    return kept, skipped


# --------------------------------------------------------------------------- the import


def import_litellm_prices(paths: list[Path], out: Path) -> SnapshotImportReport:
    """Write out/{models,endpoints,prices}/litellm_prices.parquet and the report; see the
    module docstring. Raises FileNotFoundError for a missing path, ValueError when the
    paths hold no price table."""
    files = find_snapshot_files(paths, JSON_NAME, "LiteLLM price table (model_prices_and_context_window*.json)")
    report = SnapshotImportReport(FORMAT, Path(out))
    snaps = dated_snapshots(files, report)
    kept_all: list[dict] = []
    read: list[Snapshot] = []
    for snap in snaps:
        data = read_json(snap.path, dict, "a JSON object keyed by model", report)
        if data is None:
            continue
        idx = len(read)
        read.append(snap)
        report.rows_read += len(data)
        kept, skipped = map_snapshot(snap, data, report)
        for c in kept:
            c.update(_idx=idx, snapshot_ts=snap.ts, _order=c["_row"], litellm_snapshot=snap.label)
        kept_all += kept
        report.fates[str(snap.path)] = skipped
    prices, endpoints, models = build_tables(
        kept_all, read, report, key_col="litellm_key", snapshot_col="litellm_snapshot"
    )
    for snap in read:  # aggregated lines after the listed ones of the same file
        add_aggregates(report, str(snap.path), AGGREGATED_TEXT)
    return write_prices_drop(report, OUT_NAME, prices, endpoints, models)


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
    models = model_rows(set(endpoints["model"].to_list()))
    return prices, endpoints, models
