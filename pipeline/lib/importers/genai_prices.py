"""pydantic genai-prices snapshots -> contract prices, endpoints and models.

Source: `prices/data.json` of https://github.com/pydantic/genai-prices (the v1 artifact),
one file per dated snapshot; see ../shared/data/real/genai-prices/SOURCE.md.
`import_genai_prices` accepts the folder of snapshot folders (`<YYYY-MM-DD>_<sha8>/data.json`),
snapshot folders or the files; the snapshot date is read from the folder (or file) name.

The file is a JSON array of providers, each with a `models` array. A source row is one model
entry; its row number is its 1-based position counted through the whole file (provider by
provider, in file order); the report names the provider and model id as well.

Mapping: the provider `id` through aliases.provider_id (`moonshotai` -> moonshot, `zhipuai`
-> zhipu, `aws` -> bedrock, `huggingface_<backend>` -> `huggingface-<backend>`: the Hugging
Face router's price for that backend, a service of its own); the model `id` through the
alias map on the snapshot date (DeepSeek's `deepseek-chat` / `deepseek-reasoner` are moving
aliases). Skipped and listed entries follow litellm_prices: non-target / closed / derivative
/ out-of-scope entries are counted per snapshot and reason, target entries the map does not
know are listed one by one, and so are entries that cannot be written.

prices (USD per million tokens as in the source; snapshot_ts = the snapshot date, 00:00 UTC;
only changes are written, as in litellm_prices, comparing the contract prices and the extra
price columns below):

    input_per_mtok, output_per_mtok, cached_input_per_mtok  <- input_mtok, output_mtok,
                                                              cache_read_mtok

Price shapes, none dropped:

- Tiered prices (`{"base": 3, "tiers": [{"start": 200000, "price": 6}]}`: the price rises
  above a prompt-length threshold): the contract column holds the base price, the price of
  prompts below the first threshold (the price of most requests, and the one that matches
  the flat prices of other providers). All tiers go to the extra column `tier_prices`, a JSON
  list of {"start": prompt tokens, "<field>": price} with one object per threshold.
- Time-of-day prices (a list entry with constraint start_time / end_time, e.g. DeepSeek's
  off-peak discount): the contract columns hold the price that applies for the most hours of
  the UTC day (DeepSeek: the standard price, 16 h; genai-prices lists the off-peak price as
  the unconstrained default, see its price_comments). Every window's price goes to the extra
  column `time_of_day_prices`, a JSON list of {"from_utc", "to_utc", <fields>} covering the
  whole day.
- Dated price changes (a list entry with constraint start_date): the price in force on the
  snapshot date is the snapshot's row; a change dated after the snapshot and before the next
  snapshot imported (or any later date, for the last snapshot) is written as a row of its own
  at that date (extra column `scheduled_in` names the snapshot that announced it).
- Other price fields are kept as extra columns: `cache_write_per_mtok` (cache_write_mtok),
  `requests_per_1k_usd` (requests_kcount), `price_fields_other` (a JSON object of any
  remaining field, e.g. audio prices).

The report ends with one note line per snapshot for each of: rows carrying tiers, rows
carrying time-of-day prices, scheduled changes written.

An entry is listed (not written) when input_mtok or output_mtok is missing (a model priced
per request only: not read as free) or not a number, when a constraint is of a kind this
importer does not know, or when context_window is not a whole number >= 1.

endpoints (states as in litellm_prices): context_length = context_window, else the model's
native window from aliases.py (extra column context_length_source says which); quantization
from the model id (e.g. `-FP8`), else unknown; genai-prices has no capability fields, so
supports_tools / supports_json_mode / supports_reasoning are false and supports_streaming
true, with the extra column `capabilities_known` = false: combine with the LiteLLM import
(which has the flags) for routing feasibility. max_output_tokens is null.

models: one row per canonical model with an endpoint (aliases.CANONICAL).

The price shapes are read in genai_price_shapes; keeping one key per (provider, model), the
report's fates and the tables are shared with litellm_prices (snapshots, price_series).
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from pathlib import Path

import polars as pl

from pipeline.lib.importers import ImportIssue, read_json
from pipeline.lib.importers.aliases import CANONICAL, provider_id, resolve
from pipeline.lib.importers.genai_price_shapes import PriceError, resolve_prices
from pipeline.lib.importers.price_series import build_tables
from pipeline.lib.importers.snapshots import (
    AGGREGATED_TEXT,
    NATIVE_CONTEXT,
    KeyFates,
    Snapshot,
    SnapshotImportReport,
    add_aggregates,
    as_count,
    dated_snapshots,
    find_snapshot_files,
    resolution_fate,
    write_prices_drop,
)

FORMAT = "genai-prices"
OUT_NAME = "genai_prices"
JSON_NAME = re.compile(r"^data\.json$")
PRICE_EXTRAS = {
    "cache_write_per_mtok": pl.Float64,
    "requests_per_1k_usd": pl.Float64,
    "price_fields_other": pl.String,
    "tier_prices": pl.String,
    "time_of_day_prices": pl.String,
    "scheduled_in": pl.String,
}
COMPARED_EXTRAS = {k: v for k, v in PRICE_EXTRAS.items() if k != "scheduled_in"}


# --------------------------------------------------------------------------- one snapshot


def map_model(m, route: str, provider: str | None, row: int, snap: Snapshot, until: dt.date | None):
    """The fate of one model entry: ("skipped", reason code), ("listed", report text) or
    ("kept", the candidate: contract values, with `_later` its dated changes after the snapshot)."""
    if not isinstance(m, dict) or not isinstance(m.get("id"), str):
        return "listed", f"malformed_row: provider {route!r}: model entry is not an object with an 'id'"
    where = f"(provider {route!r}, model {m['id']!r})"
    res = resolve(m["id"], route, snap.date)
    if res.status != "ok":
        return resolution_fate(res, where)
    try:
        if provider is None:
            raise PriceError("missing: provider id")
        now, later = resolve_prices(m.get("prices"), snap.date, until)
        ctx = as_count(m.get("context_window"))
        if ctx == "bad":
            raise PriceError(f"bad_type: context_window is not a whole number >= 1 ({m.get('context_window')!r})")
    except PriceError as exc:
        return "listed", f"{exc} {where} -> {res.model}"
    return "kept", {
        "provider": provider,
        "model": res.model,
        "_key": m["id"],
        "_row": row,
        "_rank": res.rank,
        "genai_provider": route,
        **now,
        "scheduled_in": None,
        "context_length": ctx if ctx is not None else CANONICAL[res.model].context_length,
        "context_length_source": "context_window" if ctx is not None else NATIVE_CONTEXT,
        "max_output_tokens": None,
        "quantization": res.quantization,
        "supports_tools": False,
        "supports_json_mode": False,
        "supports_streaming": True,
        "supports_reasoning": False,
        "_later": later,
    }


def scheduled_rows(kept: list[dict], snap: Snapshot) -> list[dict]:
    """The price observations of the dated changes the kept candidates announce (taken out of
    their `_later`), each at its start date."""
    scheduled = []
    for c in kept:
        for d, cols in c.pop("_later"):
            scheduled.append(
                {
                    **{k: c[k] for k in ("provider", "model", "_key", "_row")},
                    **cols,
                    "snapshot_ts": dt.datetime.combine(d, dt.time(0)),
                    "_order": c["_row"],
                    "scheduled_in": snap.label,
                    "genai_snapshot": snap.label,
                }
            )
    return scheduled


def map_snapshot(
    snap: Snapshot, data: list, until: dt.date | None, report: SnapshotImportReport
) -> tuple[list[dict], list[dict], Counter, int]:
    """-> (kept candidates, scheduled observations, skipped counts, rows read)."""
    file = str(snap.path)
    fates = KeyFates(file, report)
    row = 0
    for pi, prov in enumerate(data, start=1):
        models = prov.get("models") if isinstance(prov, dict) else None
        if not isinstance(models, list):
            report.issues.append(
                ImportIssue(
                    file,
                    None,
                    f"malformed_json: provider #{pi} has no 'models' array; its models (if any) cannot be counted",
                )
            )
            continue
        route = str(prov.get("id") or "")
        provider = provider_id(route)
        for m in models:
            row += 1
            fates.add(row, *map_model(m, route, provider, row, snap, until))
    kept, skipped = fates.finish()
    return kept, scheduled_rows(kept, snap), skipped, row


# --------------------------------------------------------------------------- the import


def import_genai_prices(paths: list[Path], out: Path) -> SnapshotImportReport:
    """Write out/{models,endpoints,prices}/genai_prices.parquet and the report; see the
    module docstring. Raises FileNotFoundError for a missing path, ValueError when the
    paths hold no data.json."""
    files = find_snapshot_files(paths, JSON_NAME, "genai-prices (data.json)")
    report = SnapshotImportReport(FORMAT, Path(out))
    snaps = dated_snapshots(files, report)
    kept_all, scheduled_all, read = [], [], []
    for i, snap in enumerate(snaps):
        data = read_json(snap.path, list, "a JSON array of providers", report)
        if data is None:
            continue
        until = snaps[i + 1].date if i + 1 < len(snaps) else None
        idx = len(read)
        read.append(snap)
        kept, scheduled, skipped, n = map_snapshot(snap, data, until, report)
        report.rows_read += n
        for c in kept:
            c.update(_idx=idx, snapshot_ts=snap.ts, _order=c["_row"], genai_snapshot=snap.label)
        kept_all += kept
        scheduled_all += scheduled
        report.fates[str(snap.path)] = skipped
    prices, endpoints, models = build_tables(
        kept_all,
        read,
        report,
        key_col="genai_model_id",
        snapshot_col="genai_snapshot",
        price_extras=COMPARED_EXTRAS,
        info_extras={"scheduled_in": pl.String},
        scheduled=scheduled_all,
    )
    endpoints = endpoints.with_columns(pl.lit(False).alias("capabilities_known"))
    for snap in read:
        add_aggregates(report, str(snap.path), AGGREGATED_TEXT)
        rows = prices.filter(pl.col("genai_snapshot") == snap.label)
        for col, text in (
            ("tier_prices", "carry prompt-length tiers in column tier_prices (contract price = the base tier)"),
            (
                "time_of_day_prices",
                "carry time-of-day prices in column time_of_day_prices (contract price = the one applying the most UTC hours)",
            ),
            ("scheduled_in", "are dated price changes announced in this snapshot, written at their start date"),
        ):
            n = rows.filter(pl.col(col).is_not_null()).height
            if n:
                report.issues.append(ImportIssue(str(snap.path), None, f"note: {n} written prices rows {text}"))
    return write_prices_drop(report, OUT_NAME, prices, endpoints, models)
