"""Hostile drops for the fuzz suite, and what the engine must make of them.

A drop is planned row by row as typed values (what the contract says a row means), then
rendered into Parquet, CSV and JSONL files with hostile choices on top: odd column types and
orders, extra and case-clashing columns, strings of any content, float edges, line ends of
every kind, blank and malformed lines, bytes that are not UTF-8, truncated and garbage files,
duplicates and conflicts across files, hive partitions. While rendering, every record written
is logged with its row number and its expected fate, worked out here from the rows themselves
(the contract's rules re-stated in Python), never from the engine.
"""

from __future__ import annotations

import datetime as dt
import math
import struct
from dataclasses import dataclass, field

import pyarrow as pa

from pipeline.lib.contract import BOOL, DATASETS, DATE, ERROR_TYPES, FLOAT, INT, STR, TS

STATS: dict = {
    "examples": 0,
    "files": 0,
    "rows": 0,
    "files_by_format": {},
    "files_by_dataset": {},
    "records_by_kind": {},
    "unreadable_by_design": 0,
    "unpredictable_files": 0,
}

UTC = dt.UTC
BASE_MODELS = ("m1", "m2", "m3")
BASE_PROVIDERS = ("p1", "p2")
FX_FROM = {"CNY": dt.date(2000, 1, 1), "EUR": dt.date(2000, 1, 1)}  # the base fx_rates rows
# DuckDB's trim() removes exactly the Unicode space separators (Zs); generated text never
# starts or ends with any whitespace except the ASCII spaces added on purpose as padding.
ZS = "".join(chr(c) for c in (0x20, 0xA0, 0x1680, *range(0x2000, 0x200B), 0x202F, 0x205F, 0x3000))

BASE_FILES = {
    "models/base.csv": "model,family,developer,release_date,successor_of,official_provider\n"
    "m1,fam,dev,2020-01-01,,p1\nm2,fam,dev,2020-02-01,m1,p1\nm3,other,dev2,2021-01-01,,p2\n",
    "endpoints/base.csv": "provider,model,valid_from,valid_to,context_length,max_output_tokens,quantization,"
    "supports_tools,supports_json_mode,supports_streaming,supports_reasoning\n"
    + "".join(
        f"{p},{m},2000-01-01T00:00:00Z,,131072,8192,bf16,true,true,true,false\n"
        for p in BASE_PROVIDERS
        for m in BASE_MODELS
    ),
    "fx_rates/base.csv": "date,currency,usd_per_unit\n2000-01-01,CNY,0.14\n2000-01-01,EUR,1.1\n",
}
NEEDS = {
    "models": (),
    "endpoints": ("models",),
    "fx_rates": (),
    "prices": ("models", "endpoints", "fx_rates"),
    "requests": ("models", "endpoints"),
    "latency_probes": ("models", "endpoints"),
    "compat_probes": ("models", "endpoints"),
}
# A string column a hive folder may stand in for (`provider=p1/`), with the values it may take.
HIVE_FILL = {
    "models": ("family", ("fam", "other")),
    "endpoints": ("quantization", ("bf16", "fp8")),
    "fx_rates": None,
    "prices": ("provider", BASE_PROVIDERS),
    "requests": ("provider", BASE_PROVIDERS),
    "latency_probes": ("model", BASE_MODELS),
    "compat_probes": ("provider", BASE_PROVIDERS),
}
# The column a conflicting copy changes (keeping the row valid).
CONFLICT_COL = {
    "models": "developer",
    "endpoints": "context_length",
    "fx_rates": "usd_per_unit",
    "prices": "input_per_mtok",
    "requests": "output_tokens",
    "latency_probes": "input_tokens",
    "compat_probes": "tool_calls",
}


def bump(name: str, key: str, n: int = 1) -> None:
    STATS[name][key] = STATS[name].get(key, 0) + n


@dataclass(frozen=True)
class Raw:
    """A value written as this exact text in every format (a mutation)."""

    text: str


@dataclass
class Row:
    values: dict  # contract column -> typed value (str, int, float, bool, datetime, date, None) or Raw
    codes: set = field(default_factory=set)  # reason codes the row must be quarantined with (mutations)
    extras: dict = field(default_factory=dict)
    bad_bytes: bool = False  # written with a byte that is not UTF-8


@dataclass
class Rec:
    """One record as written: its number in the file (None: not a row) and expected fate."""

    row_number: int | None
    kind: str  # row | malformed | bad_bytes | unknown
    row: Row | None = None
    final: dict | None = None  # typed values after the file's layout (dropped/filled columns, line ends)
    codes: set = field(default_factory=set)
    data: bytes = b""  # the record as written (CSV, JSONL)


@dataclass
class FileOut:
    rel: str
    fmt: str
    data: bytes
    records: list[Rec]
    unreadable: bool | None = False  # written so that it cannot be read at all (None: it may not be)
    predictable: bool = True  # the row count is known (False: garbage CSV, corrupted Parquet)
    header: bytes = b""  # CSV: the header line as written

    def __repr__(self) -> str:
        return f"FileOut({self.rel!r}, {self.fmt}, {len(self.data)} bytes, {len(self.records)} records, unreadable={self.unreadable})"


# ------------------------------------------------------------------------ values


POOLS = [
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789",
    " ,;\"'\\/|{}[]=:#*?~",
    "\x00\x01\x07\x1b\x1e\x7f",
    "\t\n\r",
    "\u00e9\u00fc\u00df\u00f1",
    "\u4e2d\u6587\u5b57\u0627\u0644\u0639",
    "\u202e\u200f\u200b\u2066\ufeff\u200d",
    "\U0001f600\U0001f9ea\U0001d11e",
    "e\u0301a\u0308",
    "\u00a0\u3000\u2028\u2029\x85",
]


def hostile_text(rnd, max_len: int = 24) -> str:
    """Text of any content: NULs, controls, RTL marks, emoji, quotes, commas, line breaks;
    sometimes long. Never starts or ends with whitespace (padding is added separately)."""
    r = rnd.random()
    if r < 0.3:
        s = "".join(rnd.choice(POOLS[0]) for _ in range(rnd.randint(1, 8)))
    elif r < 0.97:
        s = "".join(rnd.choice(rnd.choice(POOLS)) for _ in range(rnd.randint(1, max_len)))
    else:
        s = rnd.choice(POOLS[0]) * rnd.randint(2_000, 40_000) + "".join(rnd.choice(rnd.choice(POOLS)) for _ in range(8))
    s = s.strip("".join(c for p in POOLS for c in p if c.isspace()) + ZS)
    while s and s[-1].isspace():
        s = s[:-1]
    return s or "x"


def padded(rnd, s: str) -> str:
    return (" " * rnd.randint(1, 3) + s + " " * rnd.randint(0, 2)) if rnd.random() < 0.25 else s


def any_int(rnd, lo: int = 0) -> int:
    r = rnd.random()
    if r < 0.6:
        return rnd.randint(lo, lo + 5000)
    if r < 0.85:
        return rnd.randint(lo, 2**53)
    return rnd.choice([2**63 - 1, 2**63 - 2, 2**53 + 1, 2**62, rnd.randint(2**53, 2**63 - 1)])


def any_float(rnd, lo: float = 0.0, exclusive: bool = False, hi: float | None = None) -> float:
    edges = [5e-324, 2.2250738585072014e-308, 1e-300, 0.1, 1 / 3, 1.0]
    if hi is None:
        edges += [1e308, 1.7976931348623157e308, 123456789.123456789, 2.0**53 + 2]
    if not exclusive:
        edges += [0.0, -0.0]
    r = rnd.random()
    if r < 0.2:
        v = rnd.choice(edges)
    elif r < 0.6:
        v = rnd.uniform(lo, hi if hi is not None else 10_000.0)
    else:
        while True:  # a random positive finite double of any magnitude
            v = abs(struct.unpack("<d", struct.pack("<Q", rnd.getrandbits(64)))[0])
            if math.isfinite(v) and (hi is None or v <= hi):
                break
    if exclusive and v <= lo:
        v = 5e-324
    if hi is not None and v > hi:
        v = hi
    return v


def any_ts(rnd, edges: bool = True) -> dt.datetime:
    if edges and rnd.random() < 0.05:
        return rnd.choice(
            [dt.datetime(1, 1, 1), dt.datetime(9999, 12, 31, 23, 59, 59, 999999), dt.datetime(1970, 1, 1)]
        )
    base = dt.datetime(1990, 1, 1) + dt.timedelta(seconds=rnd.randint(0, 120 * 365 * 86400))
    return base.replace(microsecond=rnd.choice([0, 0, rnd.randint(0, 999) * 1000, rnd.randint(0, 999_999)]))


def any_date(rnd) -> dt.date:
    if rnd.random() < 0.05:
        return rnd.choice([dt.date(1, 1, 1), dt.date(9999, 12, 31)])
    return dt.date(1900, 1, 1) + dt.timedelta(days=rnd.randint(0, 300 * 365))


def cased(rnd, s: str) -> str:
    return "".join(c.upper() if rnd.random() < 0.5 else c.lower() for c in s)


# ------------------------------------------------------------------ valid rows


def valid_row(ds: str, rnd, n: int, far: bool = False) -> dict:
    """A row that breaks no rule of the contract; `n` makes its key unique in the drop.
    `far`: key dates after 2150, so that no truncation of it can equal another row's key."""
    start = dt.datetime(2150, 1, 1) if far else dt.datetime(2001, 1, 1)
    key_ts = start + dt.timedelta(
        seconds=n * 7919 % 1_500_000_000, microseconds=rnd.choice([0, n % 1000 * 1000, rnd.randint(0, 999_999)])
    )
    uniq = f"#{n}~"
    model, provider = padded(rnd, rnd.choice(BASE_MODELS)), padded(rnd, rnd.choice(BASE_PROVIDERS))
    status = rnd.choice(["ok", "error"])
    err = None if rnd.random() < 0.5 else cased(rnd, rnd.choice(ERROR_TYPES))
    if ds == "models":
        return {
            "model": padded(rnd, hostile_text(rnd) + uniq),
            "family": padded(rnd, hostile_text(rnd)),
            "developer": padded(rnd, hostile_text(rnd)),
            "release_date": any_date(rnd),
            "successor_of": None if rnd.random() < 0.5 else padded(rnd, hostile_text(rnd)),
            "official_provider": padded(rnd, hostile_text(rnd)),
        }
    if ds == "endpoints":
        return {
            "provider": padded(rnd, hostile_text(rnd)),
            "model": model,
            "valid_from": key_ts,
            "valid_to": None if rnd.random() < 0.5 else key_ts + dt.timedelta(microseconds=rnd.randint(1, 10**12)),
            "context_length": any_int(rnd, 1),
            "max_output_tokens": None if rnd.random() < 0.3 else any_int(rnd, 1),
            "quantization": cased(rnd, rnd.choice(("bf16", "fp16", "fp8", "int8", "int4", "fp4", "unknown"))),
            "supports_tools": rnd.random() < 0.5,
            "supports_json_mode": rnd.random() < 0.5,
            "supports_streaming": rnd.random() < 0.5,
            "supports_reasoning": rnd.random() < 0.5,
        }
    if ds == "fx_rates":
        letters = "".join(chr(65 + (n // 26**i) % 26) for i in range(3))
        date = dt.date(2150, 1, 1) + dt.timedelta(days=n) if far else any_date(rnd)
        return {
            "date": date,
            "currency": padded(rnd, cased(rnd, letters)),
            "usd_per_unit": any_float(rnd, 0.0, exclusive=True),
        }
    if ds == "prices":
        cur = rnd.choice(["USD", "usd", "CNY", "eur", "Eur"])
        return {
            "snapshot_ts": key_ts,
            "provider": provider,
            "model": model,
            "input_per_mtok": any_float(rnd),
            "output_per_mtok": any_float(rnd),
            "cached_input_per_mtok": None if rnd.random() < 0.4 else any_float(rnd),
            "currency": padded(rnd, cur),
        }
    if ds == "requests":
        inp = any_int(rnd)
        return {
            "request_id": padded(rnd, hostile_text(rnd) + uniq),
            "ts": any_ts(rnd),
            "application": None if rnd.random() < 0.3 else padded(rnd, hostile_text(rnd)),
            "client_id": None if rnd.random() < 0.3 else padded(rnd, hostile_text(rnd)),
            "model": model,
            "provider": provider,
            "input_tokens": inp,
            "output_tokens": any_int(rnd),
            "cached_input_tokens": None if rnd.random() < 0.4 else rnd.randint(0, inp),
            "status": cased(rnd, status),
            "error_type": err,
            "http_status": None if rnd.random() < 0.3 else rnd.randint(100, 599),
            "ttft_ms": None if rnd.random() < 0.3 else any_float(rnd),
            "latency_ms": None if rnd.random() < 0.3 else any_float(rnd),
            "stream": rnd.random() < 0.5,
            "tools": rnd.random() < 0.5,
            "json_mode": rnd.random() < 0.5,
            "sample_rate": any_float(rnd, 0.0, exclusive=True, hi=1.0),
        }
    if ds == "latency_probes":
        a, b = sorted([any_float(rnd), any_float(rnd)])
        timed = status == "ok" or rnd.random() < 0.5
        return {
            "ts": key_ts,
            "provider": provider,
            "model": model,
            "input_tokens": any_int(rnd),
            "output_tokens": any_int(rnd),
            "ttft_ms": a if timed else None,
            "latency_ms": b if timed else None,
            "status": cased(rnd, status),
            "error_type": err,
        }
    if ds == "compat_probes":
        return {
            "ts": any_ts(rnd),
            "provider": provider,
            "model": model,
            "suite": padded(rnd, hostile_text(rnd)),
            "case_id": padded(rnd, hostile_text(rnd) + uniq),
            "finish_reason": None
            if rnd.random() < 0.3
            else cased(rnd, rnd.choice(("stop", "tool_calls", "length", "content_filter", "error"))),
            "tool_calls": any_int(rnd),
            "schema_valid": rnd.choice([None, True, False]),
            "status": cased(rnd, status),
            "error_type": err,
        }
    raise ValueError(ds)


BAD_TEXT = {
    INT: ["abc", "1.5", "1e400", "9223372036854775808", "nan", "--1", "1,000", "12abc"],
    FLOAT: ["abc", "nan", "inf", "-inf", "1e400", "--1", "1.2.3", "NaN"],
    BOOL: ["maybe", "2", "on", "tru", "-1"],
    TS: [
        "garbage",
        "2025-13-01T00:00:00Z",
        "infinity",
        "0000-06-01T00:00:00Z",
        "10000-01-01T00:00:00Z",
        "2025-10-01T25:00:00Z",
        "-infinity",
    ],
    DATE: ["garbage", "2025-02-30", "infinity", "0000-01-01", "10000-01-01", "31/12/2025"],
}


def mutate(ds: str, values: dict, rnd, present: list[str]) -> tuple[dict, str]:
    """Break one rule of a valid row; returns the row and the code it must be quarantined with."""
    spec = DATASETS[ds]
    v = dict(values)
    cols = [c for c in spec.columns if c.name in present]
    options = []
    for c in cols:
        if c.required:
            options.append((c.name, rnd.choice([None, Raw(""), Raw("   ")]), "missing"))
        if c.type in BAD_TEXT:
            options.append((c.name, Raw(rnd.choice(BAD_TEXT[c.type])), "bad_type"))
        if c.min_value is not None and c.type == INT:
            options.append((c.name, int(c.min_value) - rnd.randint(1, 10**6), "out_of_range"))
        if c.min_value is not None and c.type == FLOAT:
            options.append(
                (
                    c.name,
                    -0.5
                    if c.min_exclusive and rnd.random() < 0.5
                    else (0.0 if c.min_exclusive else -rnd.choice([1e-300, 1.0, 1e308])),
                    "out_of_range",
                )
            )
        if c.max_value is not None:
            options.append((c.name, c.max_value + (1 if c.type == INT else 0.5), "out_of_range"))
        if c.allowed is not None:
            options.append((c.name, rnd.choice(["bogus", "o k", "OKAY"]), "not_allowed"))
        if c.name in spec.model_refs:
            options.append((c.name, "zz-unknown-model", "unknown_model"))
        if c.name in spec.provider_refs:
            options.append((c.name, "zz-unknown-provider", "unknown_provider"))
    if ds == "models" and "successor_of" in present and "model" in present:
        options.append(("successor_of", v["model"], "self_successor"))
    if ds == "endpoints" and "valid_to" in present and "valid_from" in present:
        options.append(("valid_to", v["valid_from"] - dt.timedelta(microseconds=rnd.randint(0, 10**9)), "out_of_range"))
    if ds == "fx_rates" and "currency" in present:
        options.append(("currency", rnd.choice(["ABCD", "A1C", "AB", "\u00c9UR"]), "bad_value"))
    if ds == "prices" and "currency" in present:
        options.append(("currency", rnd.choice(["XYZ", "gbp"]), "no_fx_rate"))
    if ds == "requests" and "cached_input_tokens" in present and v["input_tokens"] < 2**63 - 1:
        options.append(("cached_input_tokens", v["input_tokens"] + 1, "out_of_range"))
    if ds == "latency_probes" and {"ttft_ms", "latency_ms", "status"} <= set(present):
        if v["status"].lower() == "ok":
            options.append(("ttft_ms", None, "missing"))  # a successful probe without its timing
        options.append(("latency_ms", "below ttft", "out_of_range"))
    col, value, code = rnd.choice(options)
    if value == "below ttft":
        v["ttft_ms"], value = 2.0, 1.0
    v[col] = value
    return v, code


# -------------------------------------------------------------- typed expectations


def norm_text(s: str, csv_normalised: bool) -> str | None:
    if csv_normalised:
        s = s.replace("\r\n", "\n").replace("\r", "\n")
    s = s.strip(ZS)
    return s or None


def expected_value(col, value, csv_normalised: bool):
    """What the engine must stage for a valid typed value."""
    if value is None:
        return None
    if col.type == STR:
        s = norm_text(value, csv_normalised)
        if s is not None and col.lower:
            s = s.lower()
        if s is not None and col.upper:
            s = s.upper()
        return s
    if col.type == FLOAT:
        return float(value)
    return value


def violations(ds: str, vals: dict) -> set[str]:
    """The contract's rules on typed values, re-stated: the codes a row breaks."""
    spec = DATASETS[ds]
    codes = set()
    for c in spec.columns:
        v = vals.get(c.name)
        if v is None:
            if c.required:
                codes.add("missing")
            continue
        if c.min_value is not None and (v <= c.min_value if c.min_exclusive else v < c.min_value):
            codes.add("out_of_range")
        if c.max_value is not None and v > c.max_value:
            codes.add("out_of_range")
        if c.allowed is not None and v not in c.allowed:
            codes.add("not_allowed")
    models = BASE_MODELS if ds != "models" else None
    for c in spec.model_refs:
        if vals.get(c) is not None and models is not None and vals[c] not in models:
            codes.add("unknown_model")
    for c in spec.provider_refs:
        if vals.get(c) is not None and vals[c] not in BASE_PROVIDERS:
            codes.add("unknown_provider")
    if ds == "models" and vals.get("successor_of") is not None and vals["successor_of"] == vals.get("model"):
        codes.add("self_successor")
    if (
        ds == "endpoints"
        and vals.get("valid_to") is not None
        and vals.get("valid_from") is not None
        and vals["valid_to"] <= vals["valid_from"]
    ):
        codes.add("out_of_range")
    if (
        ds == "fx_rates"
        and vals.get("currency") is not None
        and not (len(vals["currency"]) == 3 and all("A" <= ch <= "Z" for ch in vals["currency"]))
    ):
        codes.add("bad_value")
    if ds == "prices" and vals.get("currency") not in (None, "USD"):
        since = FX_FROM.get(vals["currency"])
        if since is None or vals.get("snapshot_ts") is None or vals["snapshot_ts"].date() < since:
            codes.add("no_fx_rate")
    if (
        ds == "requests"
        and None not in (vals.get("cached_input_tokens"), vals.get("input_tokens"))
        and vals["cached_input_tokens"] > vals["input_tokens"]
    ):
        codes.add("out_of_range")
    if ds == "requests" and vals.get("sample_rate") is not None and 0 < vals["sample_rate"] < 1e-100:
        codes.add("out_of_range")  # its weight 1 / sample_rate would overflow weighted sums
    if ds == "latency_probes":
        if vals.get("status") == "ok" and (vals.get("ttft_ms") is None or vals.get("latency_ms") is None):
            codes.add("missing")
        if None not in (vals.get("ttft_ms"), vals.get("latency_ms")) and vals["latency_ms"] < vals["ttft_ms"]:
            codes.add("out_of_range")
    return codes


# ------------------------------------------------------------------- rendering


def ts_text(rnd, v: dt.datetime) -> str:
    frac = f".{v.microsecond:06d}" if v.microsecond else rnd.choice(["", ".0", ".000"])
    if v.microsecond and v.microsecond % 1000 == 0 and rnd.random() < 0.5:
        frac = f".{v.microsecond // 1000:03d}"

    def iso(d: dt.datetime, sep: str = "T") -> str:
        return f"{d.year:04d}-{d.month:02d}-{d.day:02d}{sep}{d.hour:02d}:{d.minute:02d}:{d.second:02d}{frac}"

    r = rnd.random()
    if r < 0.35:
        return iso(v) + "Z"
    if r < 0.6 and 2 <= v.year <= 9998:
        minutes = rnd.choice([60, -300, 330, 525, -570, 0, 840])
        local = v + dt.timedelta(minutes=minutes)
        sign = "+" if minutes >= 0 else "-"
        return iso(local) + f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
    if r < 0.8:
        return iso(v, " ")  # naive: UTC
    return iso(v) + "+00:00"


def text_of(rnd, col, v) -> str | None:
    """A valid typed value as the text a CSV or JSON string holds."""
    if v is None:
        return None
    if isinstance(v, Raw):
        return v.text
    t = col.type if col is not None else STR
    if t == STR or isinstance(v, str):
        return v
    if t == BOOL:
        return cased(rnd, rnd.choice(["true", "t", "1", "yes", "y"] if v else ["false", "f", "0", "no", "n"]))
    if t == INT:
        r = rnd.random()
        if r < 0.15 and abs(v) < 2**53:
            return f"{v}.0"
        if r < 0.25:
            return f" {v} "
        if r < 0.3 and v >= 0:
            return f"+{v}"
        return str(v)
    if t == FLOAT:
        return rnd.choice([repr(v), f"{v:.17g}", f" {v!r}"])
    if t == TS:
        return ts_text(rnd, v)
    if t == DATE:
        d = f"{v.year:04d}-{v.month:02d}-{v.day:02d}"
        return rnd.choice([d, d, d + "T00:00:00Z", d + " 12:34:56"])
    raise ValueError(t)


def arrow_column(rnd, col, values: list):
    """An Arrow array for one column of a Parquet file: a type that holds the values (picked at
    random among the ones that do), else text."""
    t = col.type if col is not None else STR
    raws = any(isinstance(v, (Raw, bytes)) for v in values)
    present = [v for v in values if v is not None and not isinstance(v, (Raw, bytes))]
    choices = []
    if not raws:
        if not present:
            choices += [pa.null(), pa.string()]
        elif t == INT and all(isinstance(v, int) for v in present):
            choices += [pa.int64()]
            if all(-(2**31) <= v < 2**31 for v in present):
                choices += [pa.int32()]
            if all(v >= 0 for v in present):
                choices += [pa.uint64()]
            if all(abs(v) < 2**53 for v in present):
                choices += [pa.float64(), pa.decimal128(20, 0)]
        elif t == FLOAT:
            choices += [pa.float64(), pa.float64()]
        elif t == BOOL:
            choices += [pa.bool_(), pa.int8()]
        elif t == TS:
            choices += [pa.timestamp("us", tz="UTC"), pa.timestamp("us")]
            if all(v.microsecond % 1000 == 0 for v in present):
                choices += [pa.timestamp("ms", tz="UTC")]
            if all(dt.datetime(1678, 1, 1) < v < dt.datetime(2262, 1, 1) for v in present):
                choices += [pa.timestamp("ns", tz="Asia/Kolkata")]
        elif t == DATE:
            choices += [pa.date32()]
        elif t == STR:
            choices += [pa.string(), pa.large_string(), pa.dictionary(pa.int32(), pa.string())]
    typ = rnd.choice(choices) if choices and rnd.random() < 0.85 else pa.string()
    if any(isinstance(v, bytes) for v in values):
        return binary_strings(values)
    if typ == pa.null():
        return pa.nulls(len(values))
    if typ in (pa.string(), pa.large_string()) or isinstance(typ, pa.DictionaryType):
        texts = [text_of(rnd, col, v) for v in values]
        arr = pa.array(texts, pa.string() if isinstance(typ, pa.DictionaryType) else typ)
        return arr.dictionary_encode() if isinstance(typ, pa.DictionaryType) else arr
    if t == BOOL and typ == pa.int8():
        return pa.array([None if v is None else int(v) for v in values], typ)
    if t == INT and pa.types.is_floating(typ):
        return pa.array([None if v is None else float(v) for v in values], typ)
    if t == INT and pa.types.is_decimal(typ):
        from decimal import Decimal

        return pa.array([None if v is None else Decimal(v) for v in values], typ)
    if t == TS:
        if typ.tz is None:
            return pa.array(values, typ)
        return pa.array([None if v is None else v.replace(tzinfo=UTC) for v in values], typ)
    return pa.array(values, typ)


def binary_strings(values: list) -> pa.Array:
    """A string array that may hold bytes that are not UTF-8 (Arrow does not check)."""
    data, offsets, valid = bytearray(), [0], []
    for v in values:
        if v is None:
            valid.append(False)
        else:
            b = v if isinstance(v, bytes) else (v.text if isinstance(v, Raw) else str(v)).encode()
            data += b
            valid.append(True)
        offsets.append(len(data))
    bitmap = pa.array(valid, pa.bool_()).buffers()[1]
    return pa.Array.from_buffers(
        pa.string(),
        len(values),
        [bitmap, pa.array(offsets, pa.int32()).buffers()[1], pa.py_buffer(bytes(data))],
        null_count=valid.count(False),
    )


def spoil_bytes(line: bytes, rnd) -> bytes:
    """Replace one letter or digit of a line by a byte that is not UTF-8."""
    spots = [i for i, b in enumerate(line) if 48 <= b <= 57 or 65 <= b <= 90 or 97 <= b <= 122]
    i = rnd.choice(spots)
    return line[:i] + rnd.choice([b"\xff", b"\xc3", b"\x80", b"\xed\xa0\x80"]) + line[i + 1 :]


EXTRA_NAMES = [
    "note",
    "Note",
    "filename",
    "file_row_number",
    "file_index",
    "rowid",
    "__sl_filename",
    "__sl_k",
    "_source_file",
    "_reason",
    "date",
    "decode_tps",
    "line",
    "__vals",
    "",
    " ",
    'a"b',
    "a,b",
    "x\x00y",
    "\u00e9t\u00e9",
    "\u202eevil",
    "*",
    "/",
    "~0",
    "__s_model",
    "__bad",
    "MODEL",
    "Status",
    "column0",
]
