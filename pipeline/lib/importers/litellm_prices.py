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

import re
from collections import Counter
from pathlib import Path

from pipeline.lib.importers import read_json
from pipeline.lib.importers.aliases import CANONICAL, Resolution, provider_id, resolve
from pipeline.lib.importers.price_series import build_tables
from pipeline.lib.importers.snapshots import (
    AGGREGATED_TEXT,
    NATIVE_CONTEXT,
    KeyFates,
    Snapshot,
    SnapshotImportReport,
    add_aggregates,
    as_count,
    as_number,
    dated_snapshots,
    find_snapshot_files,
    resolution_fate,
    write_prices_drop,
)

FORMAT = "litellm-prices"
OUT_NAME = "litellm_prices"
CHAT_MODES = frozenset({"chat", "completion", "responses", None})
JSON_NAME = re.compile(r"model_prices_and_context_window.*\.json$")
PRICE_FIELDS = (  # source field -> prices column
    ("input_cost_per_token", "input_per_mtok"),
    ("output_cost_per_token", "output_per_mtok"),
    ("cache_read_input_token_cost", "cached_input_per_mtok"),
)
LIMIT_FIELDS = ("max_input_tokens", "max_tokens", "max_output_tokens")


# --------------------------------------------------------------------------- one key


def _prices(entry: dict, problems: list[str]) -> dict:
    """The entry's prices per million tokens; what cannot be read is added to `problems`."""
    prices = {}
    for src, dst in PRICE_FIELDS:
        v = as_number(entry.get(src))
        if v == "bad":
            problems.append(f"bad_type: {src} is not a number ({entry.get(src)!r})")
        elif v is None and dst != "cached_input_per_mtok":
            problems.append(f"missing: {src} (no price; not read as free)")
        else:
            prices[dst] = None if v is None else v * 1e6
    return prices


def _limits(entry: dict, problems: list[str]) -> dict:
    """The entry's token limits (None when absent, 'bad' when not a whole number >= 1, which is
    added to `problems`)."""
    limits = {f: as_count(entry.get(f)) for f in LIMIT_FIELDS}
    for f, v in limits.items():
        if v == "bad":
            problems.append(f"bad_type: {f} is not a whole number >= 1 ({entry.get(f)!r})")
    return limits


def _context(limits: dict, model: str) -> tuple[int, str]:
    """(context_length, context_length_source): see the module docstring."""
    if limits["max_input_tokens"] not in (None, "bad"):
        return limits["max_input_tokens"], "max_input_tokens"
    if limits["max_tokens"] not in (None, "bad"):
        return limits["max_tokens"], "max_tokens"
    return CANONICAL[model].context_length, NATIVE_CONTEXT


def map_key(key: str, entry, row: int, snap: Snapshot) -> tuple[str, str | dict]:
    """The fate of one key: ("skipped", reason code), ("listed", report text) or ("kept", the
    candidate: a dict of contract values)."""
    if key == "sample_spec":
        return "skipped", "not_a_model"
    if not isinstance(entry, dict):
        return "listed", f"malformed_row: key {key!r}: value is not a JSON object"
    if entry.get("mode") not in CHAT_MODES:
        return "skipped", "not_chat"
    route = entry.get("litellm_provider") or (key.split("/", 1)[0] if "/" in key else None)
    res: Resolution = resolve(key, route, snap.date)
    if res.status != "ok":
        return resolution_fate(res, f"(key {key!r}, provider {route!r})")
    problems = []
    provider = provider_id(route)
    if provider is None:
        problems.append("missing: litellm_provider (no provider for the key)")
    prices = _prices(entry, problems)
    limits = _limits(entry, problems)
    ctx, ctx_src = _context(limits, res.model)
    if problems:
        return "listed", f"{'; '.join(problems)} (key {key!r} -> {res.model})"
    mo = limits["max_output_tokens"]
    return "kept", {
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


# --------------------------------------------------------------------------- one snapshot


def map_snapshot(snap: Snapshot, data: dict, report: SnapshotImportReport) -> tuple[list[dict], Counter]:
    """One snapshot's keys -> the kept candidates (dicts with contract values), and the
    counts of skipped keys by reason. Keys that cannot be written are added to the report."""
    fates = KeyFates(str(snap.path), report)
    for row, (key, entry) in enumerate(data.items(), start=1):
        fates.add(row, *map_key(key, entry, row, snap))
    return fates.finish()


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
