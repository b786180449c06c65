"""Latency probes (every 10 minutes per valid endpoint) and compat probes (test suites)."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from . import world as W
from .model import Compiled, incident_masks, load_factor_code

PROBE_SCHEMA = pa.schema(
    [
        ("ts", pa.timestamp("us", tz="UTC")),
        ("provider", pa.string()),
        ("model", pa.string()),
        ("input_tokens", pa.int64()),
        ("output_tokens", pa.int64()),
        ("ttft_ms", pa.float64()),
        ("latency_ms", pa.float64()),
        ("status", pa.string()),
        ("error_type", pa.string()),
    ]
)
SLOT_US = 600_000_000
PROBE_ERRORS = ["server_error", "timeout", "rate_limit"]


def latency_probes_day(
    c: Compiled, rng: np.random.Generator, day_idx: int, srng: np.random.Generator | None = None
) -> pa.Table:
    """Probes of day `day_idx`; srng draws the extra failures of planted shifts (needed only
    when c has some, and kept apart from rng so a world without shifts draws as before)."""
    day0 = W.day_us(W.DAYS[day_idx])
    n_ep = c.ep_model.size
    # each endpoint probes at a fixed second offset within the 10-minute slot
    offs = (
        np.array(
            [int(W._stable_unit(f"{p}/{m}") * 60) for p, m in zip(c.ep_prov, c.ep_model, strict=False)], dtype=np.int64
        )
        * 1_000_000
    )
    slots = day0 + np.arange(144, dtype=np.int64) * SLOT_US
    ts = slots[None, :] + offs[:, None]
    ep = np.broadcast_to(np.arange(n_ep)[:, None], ts.shape)
    valid = (c.ep_vf[:, None] <= ts) & (ts < c.ep_vt[:, None])
    # order by ts then endpoint
    order = np.lexsort((ep[valid], ts[valid]))
    ts = ts[valid][order]
    ep = ep[valid][order]
    n = ts.size
    prov, model = c.ep_prov[ep], c.ep_model[ep]
    inp = 1000 + rng.integers(-24, 25, n)
    out = 256 - rng.integers(0, 9, n)
    load = load_factor_code(c.ep_region[ep], (ts - day0) / 3_600_000_000)
    ttft = c.ep_ttft[ep] * load * np.exp(0.25 * rng.standard_normal(n)) + 1000 * c.ep_ttft[ep] * 4e-5
    tps = c.ep_tps[ep] / np.sqrt(load) * np.exp(0.12 * rng.standard_normal(n))
    if c.shift.active("ttft_p50_ms"):
        ttft = ttft * c.shift.at("ttft_p50_ms", ep, ts)
    if c.shift.active("decode_tps_p50"):
        tps = tps * c.shift.at("decode_tps_p50", ep, ts)
    lat = ttft + out / tps * 1000.0
    outage, spell = incident_masks(c, prov, model, ts, day0, day0 + W.US_PER_DAY)
    err = np.full(n, -1)
    r = rng.random(n)
    err[outage & (r < 0.95)] = np.where(rng.random((outage & (r < 0.95)).sum()) < 0.6, 0, 1)
    m = (err < 0) & spell & (r < 0.5)
    err[m] = 2
    r = rng.random(n)
    m = (err < 0) & (r < 0.003)
    err[m] = rng.choice(3, m.sum(), p=[0.5, 0.3, 0.2])
    if c.shift.active("availability"):  # a probe not failed already fails, as in an outage
        u, v = srng.random(n), srng.random(n)
        m = (err < 0) & (u < c.shift.at("availability", ep, ts))
        err[m] = np.where(v[m] < 0.6, 0, 1)
    is_err = err >= 0
    out = np.where(is_err, 0, out)
    cols = [
        pa.array(ts, pa.timestamp("us", tz="UTC")),
        pa.DictionaryArray.from_arrays(pa.array(prov.astype(np.int32)), pa.array(W.PROVIDER_IDS)).cast(pa.string()),
        pa.DictionaryArray.from_arrays(pa.array(model.astype(np.int32)), pa.array(W.MODEL_IDS)).cast(pa.string()),
        pa.array(inp.astype(np.int64)),
        pa.array(out.astype(np.int64)),
        pa.array(np.round(ttft, 3), mask=is_err),
        pa.array(np.round(lat, 3), mask=is_err),
        pa.DictionaryArray.from_arrays(pa.array(is_err.astype(np.int32)), pa.array(["ok", "error"])).cast(pa.string()),
        pa.DictionaryArray.from_arrays(
            pa.array(np.maximum(err, 0).astype(np.int32), mask=~is_err), pa.array(PROBE_ERRORS)
        ).cast(pa.string()),
    ]
    return pa.Table.from_arrays(cols, schema=PROBE_SCHEMA)


def compat_rows(c: Compiled, seed: int) -> dict:
    """Rows of the compat suites. Same case_ids to every provider of a model (official
    included), for models with at least one tools-capable endpoint on the round date.
    Official answers the tool_calls suite twice in rounds 1 and 3 (run-to-run spread). A
    planted schema_accuracy or tool_call_f1 shift sets the level from its start date on (after
    the draw, which keeps every draw of a world without shifts)."""
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, 7_000_002])))
    eps = c.eps
    rows: dict = {k: [] for k in COMPAT_COLUMNS}
    n_tc = W.COMPAT_SUITES["tool_calls"]
    pi = W.TOOL_CASE_POSITIVE_RATE
    for r_i, rd in enumerate(W.COMPAT_ROUNDS):
        t0 = W.day_us(W.date_of(rd)) + 2 * 3_600_000_000
        for m in W.MODEL_IDS:
            live = [i for i, e in enumerate(eps) if e["model"] == m and c.ep_vf[i] <= t0 < c.ep_vt[i]]
            if not live or not any(eps[i]["supports_tools"] for i in live):
                continue
            official = W.MODELS[m][4]
            thinking = W.MODELS[m][6]
            truth = rng.random(n_tc) < pi  # which cases call for a tool (per model, round)
            off_trig = truth ^ (rng.random(n_tc) < W.OFFICIAL_RERUN_FLIP)
            runs = []
            for i in live:
                e = eps[i]
                runs.append((i, e, 0))
                if e["provider"] == official and r_i in (0, 2):
                    runs.append((i, e, 1))
            for i, e, rerun in runs:
                prov = e["provider"]
                P = W.PROVIDERS[prov]
                base = t0 + W.PROVIDER_IDS.index(prov) * 900_000_000 + rerun * 3_600_000_000
                is_off = prov == official
                if is_off:
                    f1, schema = 1.0, c.shift.level_at("schema_accuracy", i, t0, 1.0)
                    trig = off_trig ^ (rng.random(n_tc) < W.OFFICIAL_RERUN_FLIP) if rerun else off_trig
                else:
                    f1 = float(
                        np.clip(P["f1"] - abs(0.03 * rng.standard_normal()) - (0.04 if thinking else 0.0), 0.6, 1.0)
                    )
                    schema = float(
                        np.clip(P["schema"] - abs(0.01 * rng.standard_normal()) - (0.02 if thinking else 0.0), 0.6, 1.0)
                    )
                    f1 = c.shift.level_at("tool_call_f1", i, t0, f1)
                    schema = c.shift.level_at("schema_accuracy", i, t0, schema)
                    miss = 1.0 - f1
                    fp = pi * miss / (1 - pi)
                    rr = rng.random(n_tc)
                    trig = np.where(off_trig, rr >= miss, rr < fp)
                _suite_rows(rows, rng, prov, m, e, base, trig, schema, rerun)
    return rows


def _suite_rows(rows, rng, prov, m, e, base, trig, schema, rerun):
    """Append one provider's answers to the suites (vectorised per suite). rows is a dict
    of column lists; ts advances 2 s per case."""
    P = W.PROVIDERS[prov]
    n = trig.size
    blocks = []  # (suite, case_ids, finish, calls, valid(-1 null/0/1), status_err(bool), etype)
    u = rng.random(n)
    finish = np.where(trig, "tool_calls", np.where(rng.random(n) < 0.015, "length", "stop")).astype(object)
    calls = np.where(trig, rng.choice([1, 2, 3], n, p=[0.85, 0.12, 0.03]), 0)
    valid = np.where(trig, (rng.random(n) < schema).astype(int), -1)
    etype = np.full(n, None, dtype=object)
    if not e["supports_tools"]:
        is_err = u < 0.7
        etype[is_err] = "invalid_request"
        finish[:] = "stop"
        calls[:] = 0
        valid[:] = -1
    else:
        is_err = u < 0.005
        etype[is_err] = np.array(["server_error", "timeout", "rate_limit"], dtype=object)[
            rng.integers(0, 3, is_err.sum())
        ]
    finish[is_err] = "error"
    calls[is_err] = 0
    valid[is_err] = -1
    blocks.append(("tool_calls", [f"tc-{j:04d}" for j in range(n)], finish, calls, valid, is_err, etype))
    if not rerun:
        k = W.COMPAT_SUITES["json_mode"]
        is_err = (rng.random(k) < 0.6) & (not e["supports_json_mode"])
        finish = np.where(is_err, "error", np.where(rng.random(k) < 0.02, "length", "stop")).astype(object)
        et = np.where(is_err, "invalid_request", None).astype(object)
        blocks.append(
            ("json_mode", [f"json-{j:03d}" for j in range(k)], finish, np.zeros(k, int), np.full(k, -1), is_err, et)
        )
        k = W.COMPAT_SUITES["streaming"]
        is_err = np.full(k, not e["supports_streaming"])
        finish = np.where(is_err, "error", "stop").astype(object)
        et = np.where(is_err, "invalid_request", None).astype(object)
        blocks.append(
            ("streaming", [f"stream-{j:03d}" for j in range(k)], finish, np.zeros(k, int), np.full(k, -1), is_err, et)
        )
        k = W.COMPAT_SUITES["context_limit"]
        b = P["ctx"]
        is_err = np.full(k, b == "error")
        finish = np.full(k, {"error": "error", "truncate": "length", "accept": "stop"}[b], dtype=object)
        et = np.where(is_err, "context_overflow", None).astype(object)
        blocks.append(
            ("context_limit", [f"ctx-{j:03d}" for j in range(k)], finish, np.zeros(k, int), np.full(k, -1), is_err, et)
        )
    ts = base
    for suite, cases, finish, calls, valid, is_err, et in blocks:
        k = len(cases)
        rows["ts"].append(ts + np.arange(k, dtype=np.int64) * 2_000_000)
        ts += k * 2_000_000
        rows["provider"].extend([prov] * k)
        rows["model"].extend([m] * k)
        rows["suite"].extend([suite] * k)
        rows["case_id"].extend(cases)
        rows["finish_reason"].extend(finish.tolist())
        rows["tool_calls"].extend(np.asarray(calls).tolist())
        rows["schema_valid"].extend([None if v < 0 else bool(v) for v in valid.tolist()])
        rows["status"].extend(["error" if x else "ok" for x in np.asarray(is_err).tolist()])
        rows["error_type"].extend(et.tolist())


COMPAT_COLUMNS = [
    "ts",
    "provider",
    "model",
    "suite",
    "case_id",
    "finish_reason",
    "tool_calls",
    "schema_valid",
    "status",
    "error_type",
]


JSON_TYPES = {"tool_calls": pa.int64(), "schema_valid": pa.bool_()}  # the others are strings


def _json_values(values: list, typ: pa.DataType) -> pa.Array:
    """One column's JSON texts: strings quoted (ids and enums only: nothing to escape), ints
    as digits, booleans as true / false, nulls as null."""
    a = pa.array(values, type=typ)
    if typ == pa.string():
        a = pc.binary_join_element_wise('"', a, '"', "")
    elif typ == pa.bool_():
        a = pc.if_else(a, "true", "false")
    else:
        a = pc.cast(a, pa.string())
    return pc.fill_null(a, "null")


def compat_lines(cols: dict) -> list[str]:
    """The JSON lines of compat columns (COMPAT_COLUMNS; ts a list of int64 µs arrays, the
    others lists), built column-wise by Arrow: no Python per row."""
    ts = np.concatenate(cols["ts"]) if cols["ts"] else np.array([], dtype=np.int64)
    if ts.size == 0:
        return []
    parts: list = ['{"ts":"', pa.array(np.datetime_as_string(ts.astype("datetime64[us]"), unit="s")), 'Z"']
    for k in COMPAT_COLUMNS[1:]:
        parts += [f',"{k}":', _json_values(cols[k], JSON_TYPES.get(k, pa.string()))]
    return pc.binary_join_element_wise(*parts, "}", "").to_pylist()


def compat_line(row: dict) -> str:
    return json.dumps(row, separators=(",", ":"))
