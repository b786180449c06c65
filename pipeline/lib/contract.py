"""The data contract (../shared/spec/data-contract.md, section 1) as data.

Everything that knows a dataset's columns, types, keys and value rules lives here, so the
ingestion engine stays generic and a contract change is one edit (plus README and tests).
"""

from __future__ import annotations

from dataclasses import dataclass, field

QUANTIZATIONS = ("bf16", "fp16", "fp8", "int8", "int4", "fp4", "unknown")
STATUSES = ("ok", "error")
ERROR_TYPES = (
    "rate_limit",
    "timeout",
    "server_error",
    "context_overflow",
    "invalid_request",
    "auth",
    "content_filter",
    "other",
)
FINISH_REASONS = ("stop", "tool_calls", "length", "content_filter", "error")

# The smallest sample rate whose weight (1 / sample_rate) weighted sums can hold: 1e100 per
# request leaves room for 2^63 requests, times any token count, in a double.
MIN_SAMPLE_RATE = 1e-100

# DuckDB type names used as targets. Timestamps are stored as naive UTC TIMESTAMP: the
# contract reads naive input as UTC, and one zone everywhere keeps ad hoc queries honest.
STR, INT, FLOAT, BOOL, TS, DATE = "VARCHAR", "BIGINT", "DOUBLE", "BOOLEAN", "TIMESTAMP", "DATE"


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    required: bool = False
    min_value: float | None = None  # inclusive lower bound
    min_exclusive: bool = False
    max_value: float | None = None  # inclusive upper bound
    allowed: tuple[str, ...] | None = None
    lower: bool = False  # normalise case before the allowed-set check (e.g. 'OK' -> 'ok')
    upper: bool = False


@dataclass(frozen=True)
class Check:
    """A row rule over typed columns: `sql` is true when the row is BAD. The row is
    aliased `v`; qualify its columns inside subqueries."""

    reason: str
    sql: str


@dataclass(frozen=True)
class Dataset:
    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    # columns whose value must be a model / provider the drop knows
    model_refs: tuple[str, ...] = ()
    provider_refs: tuple[str, ...] = ()
    checks: tuple[Check, ...] = ()
    # timestamp/date column whose UTC date names the hive partition; None: one file
    partition_by: str | None = None
    optional: bool = False
    depends_on: tuple[str, ...] = field(default=())

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)


def _nonneg(name: str, type_: str, required: bool = True) -> Column:
    return Column(name, type_, required=required, min_value=0)


MODELS = Dataset(
    name="models",
    columns=(
        Column("model", STR, required=True),
        Column("family", STR, required=True),
        Column("developer", STR, required=True),
        Column("release_date", DATE, required=True),
        Column("successor_of", STR),
        Column("official_provider", STR, required=True),
    ),
    key=("model",),
    checks=(Check("self_successor: successor_of equals model", "successor_of = model"),),
)

ENDPOINTS = Dataset(
    name="endpoints",
    columns=(
        Column("provider", STR, required=True),
        Column("model", STR, required=True),
        Column("valid_from", TS, required=True),
        Column("valid_to", TS),
        Column("context_length", INT, required=True, min_value=1),
        Column("max_output_tokens", INT, min_value=1),
        Column("quantization", STR, required=True, allowed=QUANTIZATIONS, lower=True),
        Column("supports_tools", BOOL, required=True),
        Column("supports_json_mode", BOOL, required=True),
        Column("supports_streaming", BOOL, required=True),
        Column("supports_reasoning", BOOL, required=True),
    ),
    key=("provider", "model", "valid_from"),
    model_refs=("model",),
    checks=(Check("out_of_range: valid_to must be after valid_from", "valid_to <= valid_from"),),
    depends_on=("models",),
)

FX_RATES = Dataset(
    name="fx_rates",
    columns=(
        Column("date", DATE, required=True),
        Column("currency", STR, required=True, upper=True),
        Column("usd_per_unit", FLOAT, required=True, min_value=0, min_exclusive=True),
    ),
    key=("date", "currency"),
    checks=(
        Check(
            "bad_value: currency must be a 3-letter ISO 4217 code",
            "not regexp_full_match(currency, '[A-Z]{3}')",
        ),
    ),
    partition_by="date",
    optional=True,
)

PRICES = Dataset(
    name="prices",
    columns=(
        Column("snapshot_ts", TS, required=True),
        Column("provider", STR, required=True),
        Column("model", STR, required=True),
        Column("input_per_mtok", FLOAT, required=True, min_value=0),
        Column("output_per_mtok", FLOAT, required=True, min_value=0),
        Column("cached_input_per_mtok", FLOAT, min_value=0),
        Column("currency", STR, required=True, upper=True),
    ),
    key=("provider", "model", "snapshot_ts"),
    model_refs=("model",),
    provider_refs=("provider",),
    checks=(
        # Mixing currencies without a rate is an error, never a silent sum: a price we
        # cannot convert to USD is quarantined rather than published in the wrong unit.
        Check(
            "no_fx_rate: no fx_rates row for this currency on or before the snapshot date",
            # `v` is the row being checked; unqualified names would bind to known_fx.
            "v.currency <> 'USD' and not exists (select 1 from known_fx f "
            "where f.currency = v.currency and f.date <= cast(v.snapshot_ts as date))",
        ),
    ),
    partition_by="snapshot_ts",
    depends_on=("models", "endpoints", "fx_rates"),
)

REQUESTS = Dataset(
    name="requests",
    columns=(
        Column("request_id", STR, required=True),
        Column("ts", TS, required=True),
        Column("application", STR),
        Column("client_id", STR),
        Column("model", STR, required=True),
        Column("provider", STR, required=True),
        _nonneg("input_tokens", INT),
        _nonneg("output_tokens", INT),
        _nonneg("cached_input_tokens", INT, required=False),
        Column("status", STR, required=True, allowed=STATUSES, lower=True),
        Column("error_type", STR, allowed=ERROR_TYPES, lower=True),
        Column("http_status", INT, min_value=100, max_value=599),
        _nonneg("ttft_ms", FLOAT, required=False),
        _nonneg("latency_ms", FLOAT, required=False),
        Column("stream", BOOL, required=True),
        Column("tools", BOOL, required=True),
        Column("json_mode", BOOL, required=True),
        Column("sample_rate", FLOAT, required=True, min_value=0, min_exclusive=True, max_value=1),
    ),
    key=("request_id",),
    model_refs=("model",),
    provider_refs=("provider",),
    checks=(
        Check(
            "out_of_range: cached_input_tokens exceeds input_tokens",
            "cached_input_tokens > input_tokens",
        ),
        # Inside the contract's (0, 1], but its weight 1 / sample_rate (over 1e100) would
        # overflow weighted sums to infinity; no sampling design goes anywhere near it.
        Check(
            f"out_of_range: sample_rate must be at least {MIN_SAMPLE_RATE:g} (its weight 1 / sample_rate must stay summable)",
            f"sample_rate > 0 and sample_rate < {MIN_SAMPLE_RATE!r}",
        ),
    ),
    partition_by="ts",
    depends_on=("models", "endpoints"),
)

LATENCY_PROBES = Dataset(
    name="latency_probes",
    columns=(
        Column("ts", TS, required=True),
        Column("provider", STR, required=True),
        Column("model", STR, required=True),
        _nonneg("input_tokens", INT),
        _nonneg("output_tokens", INT),
        _nonneg("ttft_ms", FLOAT, required=False),
        _nonneg("latency_ms", FLOAT, required=False),
        Column("status", STR, required=True, allowed=STATUSES, lower=True),
        Column("error_type", STR, allowed=ERROR_TYPES, lower=True),
    ),
    key=("provider", "model", "ts"),
    model_refs=("model",),
    provider_refs=("provider",),
    checks=(
        # Throughput divides by (latency - ttft): a successful probe without both timings,
        # or with the last byte before the first token, cannot be measured.
        Check(
            "missing: a successful probe needs ttft_ms and latency_ms",
            "status = 'ok' and (ttft_ms is null or latency_ms is null)",
        ),
        Check("out_of_range: latency_ms is below ttft_ms", "latency_ms < ttft_ms"),
    ),
    partition_by="ts",
    depends_on=("models", "endpoints"),
)

COMPAT_PROBES = Dataset(
    name="compat_probes",
    columns=(
        Column("ts", TS, required=True),
        Column("provider", STR, required=True),
        Column("model", STR, required=True),
        Column("suite", STR, required=True),
        Column("case_id", STR, required=True),
        Column("finish_reason", STR, allowed=FINISH_REASONS, lower=True),
        _nonneg("tool_calls", INT),
        Column("schema_valid", BOOL),
        Column("status", STR, required=True, allowed=STATUSES, lower=True),
        Column("error_type", STR, allowed=ERROR_TYPES, lower=True),
    ),
    key=("provider", "model", "suite", "case_id", "ts"),
    model_refs=("model",),
    provider_refs=("provider",),
    partition_by="ts",
    depends_on=("models", "endpoints"),
)

# Load order matters: references are checked against what earlier datasets loaded.
DATASETS: dict[str, Dataset] = {
    d.name: d for d in (MODELS, ENDPOINTS, FX_RATES, PRICES, REQUESTS, LATENCY_PROBES, COMPAT_PROBES)
}
