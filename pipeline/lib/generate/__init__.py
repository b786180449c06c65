"""Synthetic, calibrated raw drop generator (contract section 1) for 2025-10-01 .. 2025-12-31.

    generate_drop(out_dir, n_requests=1_000_000, seed=0, bad_row_fraction=0.0005, progress=None,
                  shifts="sample")

writes models/, endpoints/, prices/, fx_rates/ (CSV), requests/ and latency_probes/ (hive
partitions date=YYYY-MM-DD, parquet), compat_probes/ (JSONL: three rounds of the suites in
compat_probes.jsonl, the daily tool-call canary of canary.py in date=YYYY-MM-DD/canary.jsonl)
and _manifest.json, and returns the manifest. Deterministic per (n_requests, seed, bad_row_fraction, shifts): byte-identical
files. shifts plants service shifts (`shifts.py`): "sample" the sample world's
(pipeline/data/world/service_shifts.csv), "random" random_shifts(seed), "none" none; the
manifest's planted_changes lists them, one entry per published metric they move. best_providers
"planted" plants task-dependent best providers for one model (`best.py`; manifest:
planted_best_providers).
Requests are generated day by day in parts of at most CHUNK rows; memory stays bounded for
any n_requests. The world (families, endpoints, prices, regimes) is in `world.py`, its tables in `pipeline/data/`.
"""

from __future__ import annotations

import csv
import json
import math
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from . import tables
from . import world as W
from .best import MODES as BEST_MODES
from .best import planted_best_providers
from .canary import canary_rows
from .capacity import MODES as CAPACITY_MODES
from .capacity import planted_capacity
from .model import client_pool, compile_world
from .probes import compat_line, compat_lines, compat_rows, latency_probes_day
from .requests import REQUEST_SCHEMA, generate_rows
from .shifts import planted_changes, shifts_for

CHUNK = 1_000_000
DATASETS = ("models", "endpoints", "prices", "fx_rates", "requests", "latency_probes", "compat_probes")
# Planted request defects. All but bad_ts go into the parquet parts at random positions;
# bad_ts rows (an unparseable ts needs a text column) go to requests/date=.../part-bad.csv.
BAD_KINDS = (
    "negative_tokens",
    "bad_ts",
    "bad_sample_rate",
    "bad_status",
    "null_model",
    "unknown_model",
    "unknown_provider",
    "duplicate",
    "conflict",
)
INLINE_KINDS = ("negative_tokens", "bad_sample_rate", "bad_status", "null_model", "unknown_model", "unknown_provider")
BAD_TS_STRINGS = (
    "2025-13-45T25:61:00Z",
    "not-a-timestamp",
    "yesterday at noon",
    "2025/10/32 99:00",
    "1e99",
    "2025-11-31T00:00:00+25:00",
)
PARQUET_OPTS = dict(compression="zstd", write_statistics=True)
WHERE_PLANTED = {  # the manifest's where_planted when defects are planted
    "requests": "negative_tokens/bad_sample_rate/bad_status/null_model/unknown_model/unknown_provider: "
    "random positions in requests parquet parts; bad_ts: requests/date=*/part-bad.csv; "
    "duplicate/conflict: copies of rows from an earlier day, in a later day's part-00000",
    "prices": "prices.csv: currency XYZ (together/gpt-oss-120b 2025-10-20T12:00Z), negative input price "
    "(deepinfra/phi-4 2025-11-20T12:00Z)",
    "endpoints": "endpoints.csv: groq/gemma-3-27b-it with quantization fp3",
    "compat_probes": "compat_probes.jsonl: one truncated JSON line, one row with tool_calls = -1",
}


def _rng(*key: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(list(key))))


def _mutate(rows: list[dict], kinds: list[str], rng: np.random.Generator) -> None:
    for r, k in zip(rows, kinds, strict=False):
        if k == "negative_tokens":
            r["input_tokens"] = -int(rng.integers(1, 5000))
            r["cached_input_tokens"] = None
        elif k == "bad_sample_rate":
            r["sample_rate"] = 0.0 if rng.random() < 0.5 else 1.5
        elif k == "bad_status":
            r["status"] = "maybe"
        elif k == "null_model":
            r["model"] = None
        elif k == "unknown_model":
            r["model"] = "no-such-model"
        elif k == "unknown_provider":
            r["provider"] = "no-such-provider"
        else:  # pragma: no cover
            raise ValueError(k)


def _insert_random(main: pa.Table, extra: pa.Table, rng: np.random.Generator) -> pa.Table:
    if extra.num_rows == 0:
        return main
    n = main.num_rows
    keys = np.r_[np.arange(n, dtype=float), rng.uniform(0, n, extra.num_rows)]
    order = np.argsort(keys, kind="stable")
    return pa.concat_tables([main, extra.cast(REQUEST_SCHEMA)]).take(pa.array(order))


def _csv_text(v) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return repr(v)
    return str(v)


def generate_drop(
    out_dir: Path,
    n_requests: int = 1_000_000,
    seed: int = 0,
    bad_row_fraction: float = 0.0005,
    progress: Callable[[int], None] | None = None,
    shifts: str = "sample",
    best_providers: str = "none",
    capacity: str = "none",
) -> dict:
    planted_shifts = shifts_for(shifts, seed)  # first: a wrong mode writes nothing
    if best_providers not in BEST_MODES:
        raise ValueError(f"best_providers must be one of {', '.join(BEST_MODES)}, got {best_providers!r}")
    if capacity not in CAPACITY_MODES:
        raise ValueError(f"capacity must be one of {', '.join(CAPACITY_MODES)}, got {capacity!r}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for name in DATASETS:  # a re-run must not leave parts of an older drop behind
        if (out / name).exists():
            shutil.rmtree(out / name)
    plant = bad_row_fraction > 0
    c = compile_world(seed, planted_shifts, best_providers=best_providers == "planted", capacity=capacity == "planted")
    rows, planted = {}, {}
    rows["models"] = tables.write_models(out)
    rows["endpoints"], planted["endpoints"] = tables.write_endpoints(out, plant, c.eps)
    rows["prices"], planted["prices"] = tables.write_prices(out, plant, c.eps)
    rows["fx_rates"] = tables.write_fx(out)
    planted["models"], planted["fx_rates"] = {}, {}
    writer = _RequestWriter(out, c, seed, progress)
    rows["requests"], planted["requests"] = writer.write(n_requests, bad_row_fraction, plant)
    rows["latency_probes"], planted["latency_probes"] = _write_latency_probes(out, c, seed), {}
    rows["compat_probes"], planted["compat_probes"] = _write_compat_probes(out, c, seed, plant)
    manifest = {
        "seed": seed,
        "n_requests": n_requests,
        "bad_row_fraction": bad_row_fraction,
        "period": [W.QUARTER_START.isoformat(), W.QUARTER_END.isoformat()],
        "rows": rows,
        "planted": planted,
        "expected": _expected(rows, planted, n_requests),
        "where_planted": WHERE_PLANTED if plant else {},
        "shifts": shifts,
        "planted_changes": planted_changes(planted_shifts),
        "best_providers": best_providers,
        "planted_best_providers": planted_best_providers() if best_providers == "planted" else [],
        "capacity": capacity,
        "planted_capacity": planted_capacity() if capacity == "planted" else [],
    }
    with open(out / "_manifest.json", "w", encoding="utf-8") as fh:
        json.dump(manifest, fh, indent=2, sort_keys=True)
        fh.write("\n")
    return manifest


def _bad_rows_per_day(plan: np.random.Generator, n_bad: int, dw: np.ndarray) -> tuple[dict, dict]:
    """(planted request defects by kind, kind -> count per day): `n_bad` spread evenly over
    the kinds, each kind's rows over the days by the days' weights."""
    counts = {k: n_bad // len(BAD_KINDS) + (1 if i < n_bad % len(BAD_KINDS) else 0) for i, k in enumerate(BAD_KINDS)}
    per_day = {}
    for k in BAD_KINDS:
        if k in ("duplicate", "conflict"):  # need an original on an earlier day
            days = 1 + plan.choice(W.N_DAYS - 1, counts[k], p=dw[1:] / dw[1:].sum())
        else:
            days = plan.choice(W.N_DAYS, counts[k], p=dw)
        per_day[k] = np.bincount(days, minlength=W.N_DAYS)
    return counts, per_day


class _RequestWriter:
    """Writes requests/ day by day. Duplicate and conflict rows are copies of rows of earlier
    days, drawn from a reservoir that keeps a few rows of every day (enough for all copies)."""

    def __init__(self, out: Path, c, seed: int, progress: Callable[[int], None] | None):
        self.out, self.c, self.seed, self.progress = out, c, seed, progress
        self.clients = client_pool()
        self.plan = _rng(seed, 7_000_000)
        self.reservoir: list[dict] = []
        self.keep_per_day = 0
        self.rows = 0
        self.id_next = 0

    def write(self, n_requests: int, bad_row_fraction: float, plant: bool) -> tuple[int, dict]:
        """-> (rows written, planted defects by kind)."""
        dw = W.day_weights()
        day_n = W.allocate(n_requests, dw)
        n_bad = int(round(bad_row_fraction * n_requests)) if plant else 0
        counts, per_day = _bad_rows_per_day(self.plan, n_bad, dw)
        n_dc_total = counts["duplicate"] + counts["conflict"]
        self.keep_per_day = (math.ceil(2 * n_dc_total / W.N_DAYS) + 2) if n_dc_total else 0
        for d, day in enumerate(W.DAYS):
            self._day(d, day, int(day_n[d]), {k: int(per_day[k][d]) for k in BAD_KINDS})
        return self.rows, counts if plant else {k: 0 for k in BAD_KINDS}

    def _count(self, n: int) -> None:
        self.rows += n
        if self.progress:
            self.progress(n)

    def _day(self, d: int, day, n_good: int, bad: dict[str, int]) -> None:
        folder = self.out / "requests" / f"date={day.isoformat()}"
        folder.mkdir(parents=True, exist_ok=True)
        n_inline = sum(bad[k] for k in INLINE_KINDS)
        n_dc = bad["duplicate"] + bad["conflict"]
        total = n_good + n_inline + n_dc
        n_parts = max(1, math.ceil(total / CHUNK))
        caps = np.full(n_parts, float(CHUNK))
        caps[0] -= n_dc
        gen_counts = W.allocate(n_good + n_inline, caps)
        # which part gets which inline bad row
        kind_list = [k for k in INLINE_KINDS for _ in range(bad[k])]
        part_of = (
            self.plan.choice(n_parts, len(kind_list), p=gen_counts / max(gen_counts.sum(), 1))
            if kind_list
            else np.array([], int)
        )
        kept_today: list[dict] = []
        for p in range(n_parts):
            kinds_p = [k for k, q in zip(kind_list, part_of, strict=False) if q == p]
            self._part(folder, d, p, int(gen_counts[p]), kinds_p, bad if p == 0 else None, kept_today)
        self.reservoir.extend(kept_today)

    def _part(
        self, folder: Path, d: int, p: int, n: int, kinds_p: list[str], bad: dict[str, int] | None, kept: list[dict]
    ) -> None:
        """Part p of day d: n generated rows with kinds_p's defects among them; the first part
        (`bad` given) also gets the day's bad_ts rows (a CSV beside it) and copies of earlier rows."""
        rng = _rng(self.seed, d, p)
        n_badts = bad["bad_ts"] if bad else 0
        n_gen = n + n_badts
        tbl = generate_rows(self.c, self.clients, rng, n_gen, d, self.id_next, _rng(self.seed, 9_000_000 + d, p))
        self.id_next += n_gen
        n_special = len(kinds_p) + n_badts
        pos = rng.choice(n_gen, n_special, replace=False) if n_special else np.array([], dtype=np.int64)
        special = tbl.take(pa.array(pos)).to_pylist() if n_special else []
        keep_mask = np.ones(n_gen, dtype=bool)
        keep_mask[pos] = False
        main = tbl.filter(pa.array(keep_mask)) if n_special else tbl
        extra_rows = special[: len(kinds_p)]
        _mutate(extra_rows, kinds_p, rng)
        if n_badts:
            _write_bad_csv(folder / "part-bad.csv", special[len(kinds_p) :], rng)
            self._count(n_badts)
        if bad and bad["duplicate"] + bad["conflict"]:
            extra_rows += self._copies(bad["duplicate"], bad["conflict"], rng)
        if self.keep_per_day and main.num_rows and len(kept) < self.keep_per_day:
            k = min(self.keep_per_day - len(kept), main.num_rows)
            kp = np.sort(rng.choice(main.num_rows, k, replace=False))
            kept.extend(main.take(pa.array(kp)).to_pylist())
        extra = pa.Table.from_pylist(extra_rows, schema=REQUEST_SCHEMA) if extra_rows else REQUEST_SCHEMA.empty_table()
        final = _insert_random(main, extra, rng)
        pq.write_table(final, folder / f"part-{p:05d}.parquet", **PARQUET_OPTS)
        self._count(final.num_rows)

    def _copies(self, n_dup: int, n_conf: int, rng: np.random.Generator) -> list[dict]:
        """n_dup duplicates and n_conf conflicts (same request_id, other output_tokens) of rows
        taken out of the reservoir."""
        take = rng.choice(len(self.reservoir), n_dup + n_conf, replace=False)
        src = [self.reservoir[i] for i in sorted(take)]
        for i in sorted(take, reverse=True):
            self.reservoir.pop(i)
        out = []
        for j, r in enumerate(src):
            r = dict(r)
            if j >= n_dup:
                r["output_tokens"] = int(r["output_tokens"]) + int(rng.integers(1, 50))
            out.append(r)
        return out


def _write_latency_probes(out: Path, c, seed: int) -> int:
    n_probe = 0
    for d, day in enumerate(W.DAYS):
        t = latency_probes_day(c, _rng(seed, 8_000_000 + d), d, _rng(seed, 8_100_000 + d))
        folder = out / "latency_probes" / f"date={day.isoformat()}"
        folder.mkdir(parents=True, exist_ok=True)
        pq.write_table(t, folder / "part-00000.parquet", **PARQUET_OPTS)
        n_probe += t.num_rows
    return n_probe


def _write_compat_probes(out: Path, c, seed: int, plant: bool) -> tuple[int, dict]:
    """-> (lines written, planted defects). The rounds' lines (with the planted defects among
    them) in compat_probes.jsonl; the daily canary's (canary.py) in a file per day,
    compat_probes/date=YYYY-MM-DD/canary.jsonl, as a monitor that runs every day delivers them: a
    new day is a new file, so it costs a day (a grown file would make all its days new)."""
    lines = compat_lines(compat_rows(c, seed))
    planted = {}
    if plant:
        bad = json.loads(lines[len(lines) // 2])
        bad["tool_calls"] = -1
        bad["ts"] = bad["ts"][:-1] + ".001Z"  # a distinct key
        lines.insert(2 * len(lines) // 3, compat_line(bad))
        lines.insert(len(lines) // 3, '{"ts": "2025-10-')
        planted = {"malformed_json": 1, "negative_tool_calls": 1}
    (out / "compat_probes").mkdir(parents=True, exist_ok=True)
    with open(out / "compat_probes" / "compat_probes.jsonl", "w", encoding="utf-8", newline="\n") as fh:
        fh.write("\n".join(lines) + "\n")
    canary = compat_lines(canary_rows(c, seed))
    by_day: dict[str, list[str]] = {}
    for line in canary:  # '{"ts":"YYYY-MM-DD...': the day is at a fixed place
        by_day.setdefault(line[7:17], []).append(line)
    for day, day_lines in sorted(by_day.items()):
        folder = out / "compat_probes" / f"date={day}"
        folder.mkdir(parents=True, exist_ok=True)
        with open(folder / "canary.jsonl", "w", encoding="utf-8", newline="\n") as fh:
            fh.write("\n".join(day_lines) + "\n")
    return len(lines) + len(canary), planted


def _expected(rows: dict, planted: dict, n_requests: int) -> dict:
    """Per dataset, the rows staging should load, quarantine and drop as duplicates."""
    expected = {}
    for name in DATASETS:
        kinds = planted.get(name, {})
        if name == "requests":
            dup = kinds.get("duplicate", 0)
            q = sum(v for k, v in kinds.items() if k != "duplicate")
            expected[name] = {"loaded": n_requests, "quarantined": q, "duplicate": dup}
            assert n_requests + q + dup == rows[name]
        else:
            q = sum(kinds.values())
            expected[name] = {"loaded": rows[name] - q, "quarantined": q, "duplicate": 0}
    return expected


def _write_bad_csv(path: Path, rows: list[dict], rng: np.random.Generator) -> None:
    names = REQUEST_SCHEMA.names
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(names)
        for r in rows:
            r = dict(r)
            r["ts"] = BAD_TS_STRINGS[int(rng.integers(0, len(BAD_TS_STRINGS)))]
            w.writerow([_csv_text(r[k]) for k in names])


__all__ = ["generate_drop", "CHUNK", "BAD_KINDS"]
