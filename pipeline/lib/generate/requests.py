"""Vectorised generation of request rows (one chunk = one parquet part)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from . import world as W
from .model import Compiled, incident_masks, load_factor_code

HOUR_US = 3_600_000_000

REQUEST_SCHEMA = pa.schema(
    [
        ("request_id", pa.string()),
        ("ts", pa.timestamp("us", tz="UTC")),
        ("application", pa.string()),
        ("client_id", pa.string()),
        ("model", pa.string()),
        ("provider", pa.string()),
        ("input_tokens", pa.int64()),
        ("output_tokens", pa.int64()),
        ("cached_input_tokens", pa.int64()),
        ("status", pa.string()),
        ("error_type", pa.string()),
        ("http_status", pa.int64()),
        ("ttft_ms", pa.float64()),
        ("latency_ms", pa.float64()),
        ("stream", pa.bool_()),
        ("tools", pa.bool_()),
        ("json_mode", pa.bool_()),
        ("sample_rate", pa.float64()),
    ]
)

ERROR_TYPES = [
    "rate_limit",
    "timeout",
    "server_error",
    "context_overflow",
    "invalid_request",
    "auth",
    "content_filter",
    "other",
]
E = {e: i for i, e in enumerate(ERROR_TYPES)}
# Background error rates per request (outside incidents).
BASE_ERROR_P = {
    "rate_limit": 0.004,
    "server_error": 0.002,
    "timeout": 0.001,
    "invalid_request": 0.002,
    "auth": 0.0005,
    "content_filter": 0.001,
    "other": 0.0005,
}


def _app_arrays():
    apps = W.APP_IDS
    share = np.array([W.APPLICATIONS[a][0] for a in apps] + [W.NULL_APP_WEIGHTED_SHARE])
    sr = np.array([W.APPLICATIONS[a][1] for a in apps] + [1.0])
    row_p = share * sr
    row_p /= row_p.sum()
    col = lambda j, null: np.array([W.APPLICATIONS[a][j] for a in apps] + [null])  # noqa: E731
    tin = np.array([W.TOKENS_IN[a] for a in apps] + [W.TOKENS_IN["chat"]], dtype=float)
    tout = np.array([W.TOKENS_OUT[a] for a in apps] + [W.TOKENS_OUT["chat"]], dtype=float)
    return dict(
        row_p=row_p,
        sr=sr,
        stream=col(2, 0.9),
        tools=col(3, 0.05),
        json=col(4, 0.03),
        hit=col(5, 0.3),
        frac=col(6, 0.5),
        tin=tin,
        tout=tout,
    )


APP = _app_arrays()
NULL_APP = len(W.APP_IDS)


def _dict_array(idx: np.ndarray, values: list[str], mask: np.ndarray | None = None) -> pa.Array:
    ind = pa.array(idx.astype(np.int32), mask=mask)
    return pa.DictionaryArray.from_arrays(ind, pa.array(values, pa.string())).cast(pa.string())


def generate_rows(
    c: Compiled,
    clients,
    rng: np.random.Generator,
    n: int,
    day_idx: int,
    id_offset: int,
    srng: np.random.Generator | None = None,
) -> pa.Table:
    """n good request rows of day `day_idx`, sorted by ts, ids id_offset .. id_offset+n-1.
    srng draws the extra failures of planted shifts (needed only when c has some)."""
    day0 = W.day_us(W.DAYS[day_idx])
    # --- arrival times: diurnal hour, uniform within the hour
    hours = rng.choice(24, size=n, p=W.hour_weights())
    ts = day0 + hours.astype(np.int64) * HOUR_US + rng.integers(0, HOUR_US, size=n)
    ts.sort()
    hours = (ts - day0) // HOUR_US
    t_frac = (ts - W.Q_START_US) / (W.Q_END_US - W.Q_START_US)

    # --- application, independent of model (so weighted family shares follow the vector)
    app = rng.choice(len(APP["row_p"]), size=n, p=APP["row_p"])

    # --- model: variant mix of the hour (family share x within-family succession)
    u = rng.random(n)
    model = np.empty(n, dtype=np.int64)
    hq = day_idx * 24 + hours
    bounds = np.searchsorted(hours, np.arange(25))
    for h in range(24):
        a, b = bounds[h], bounds[h + 1]
        if b > a:
            model[a:b] = np.searchsorted(c.hour_cdf[hq[a]], u[a:b], side="right")
    model = np.minimum(model, c.hour_cdf.shape[1] - 1)

    # --- tokens (lognormal regimes per application)
    tin_med = APP["tin"][app, 0] * np.where(app == W.APP_IDS.index("agent"), 1 + W.AGENT_INPUT_GROWTH * t_frac, 1.0)
    inp = np.exp(np.log(tin_med) + APP["tin"][app, 1] * rng.standard_normal(n))
    inp = np.clip(inp, APP["tin"][app, 2], APP["tin"][app, 3])
    out = np.exp(np.log(APP["tout"][app, 0]) + APP["tout"][app, 1] * rng.standard_normal(n))
    out = np.clip(out, APP["tout"][app, 2], APP["tout"][app, 3]).astype(np.int64)
    # clients of a small-context model do not send prompts it cannot hold
    inp = np.minimum(inp, 0.9 * c.model_max_ctx[model] - out).astype(np.int64)
    inp = np.maximum(inp, 1)

    # --- feature needs
    stream = rng.random(n) < APP["stream"][app]
    tools = rng.random(n) < APP["tools"][app]
    json_mode = (rng.random(n) < APP["json"][app]) & ~tools

    # --- provider: among endpoints valid at ts; feasible ones strongly preferred
    cand = c.cand[model]  # (n, K)
    ok = cand >= 0
    ci = np.where(ok, cand, 0)
    valid = ok & (c.ep_vf[ci] <= ts[:, None]) & (ts[:, None] < c.ep_vt[ci])
    feas = c.ep_ctx[ci] >= (inp + out)[:, None]
    feas &= ~tools[:, None] | c.ep_tools[ci]
    feas &= ~json_mode[:, None] | c.ep_json[ci]
    feas &= ~stream[:, None] | c.ep_stream[ci]
    score = c.ep_weight[ci] * valid * np.where(feas, 1.0, 0.002)
    cum = np.cumsum(score, axis=1)
    tot = cum[:, -1]
    assert np.all(tot > 0), "a requested model has no valid endpoint"
    k = (cum < (rng.random(n) * tot)[:, None]).sum(axis=1)
    k = np.minimum(k, cand.shape[1] - 1)
    ep = cand[np.arange(n), k]
    prov = c.ep_prov[ep]

    # clients adapt to missing features most of the time; the rest are rejected
    err = np.full(n, -1, dtype=np.int64)
    for flag, sup in ((tools, c.ep_tools), (json_mode, c.ep_json), (stream, c.ep_stream)):
        miss = flag & ~sup[ep]
        adapt = miss & (rng.random(n) < 0.97)
        flag[adapt] = False
        err[miss & ~adapt] = E["invalid_request"]
    out = np.minimum(out, c.ep_maxout[ep])
    overflow = inp + out > c.ep_ctx[ep]
    err[overflow & (err < 0)] = E["context_overflow"]

    # --- incidents and background errors
    outage, spell = incident_masks(c, prov, model, ts, day0, day0 + W.US_PER_DAY)
    r = rng.random(n)
    m = (err < 0) & outage & (r < 0.85)
    err[m] = np.where(rng.random(m.sum()) < 0.6, E["server_error"], E["timeout"])
    m = (err < 0) & spell & (r < 0.35)
    err[m] = E["rate_limit"]
    r = rng.random(n)
    acc = 0.0
    for et, p in BASE_ERROR_P.items():
        pe = np.full(n, p)
        if et == "content_filter":
            pe = np.where(c.ep_cn[ep], 3 * p, p)
        m = (err < 0) & (r >= acc) & (r < acc + pe)
        err[m] = E[et]
        acc = acc + pe
    _shifted_errors(c, ep, ts, err, srng)
    if c.ep_capacity.any():  # issue 17: a planted capacity limit (capacity.py)
        from .capacity import refuse

        refuse(c.ep_capacity, ep, hours, 1.0 / APP["sr"][app], err, srng, E["rate_limit"])
    is_err = err >= 0

    # --- http status
    http = np.full(n, 200, dtype=np.int64)
    r = rng.random(n)
    http[err == E["rate_limit"]] = 429
    http[err == E["server_error"]] = np.where(r[err == E["server_error"]] < 0.5, 500, 503)
    http[err == E["timeout"]] = 504
    http[err == E["context_overflow"]] = 400
    http[err == E["invalid_request"]] = np.where(r[err == E["invalid_request"]] < 0.9, 400, 422)
    http[err == E["auth"]] = 401
    http[err == E["content_filter"]] = 400
    http[err == E["other"]] = np.where(r[err == E["other"]] < 0.5, 502, 520)

    # --- timings
    load = load_factor_code(c.ep_region[ep], (ts - day0) / HOUR_US)
    ttft = c.ep_ttft[ep] * load * np.exp(0.35 * rng.standard_normal(n)) + inp * c.ep_ttft[ep] * 4e-5
    tps = c.ep_tps[ep] / np.sqrt(load) * np.exp(0.2 * rng.standard_normal(n))
    if c.shift.active("ttft_p50_ms"):
        ttft = ttft * c.shift.at("ttft_p50_ms", ep, ts)
    if c.shift.active("decode_tps_p50"):
        tps = tps * c.shift.at("decode_tps_p50", ep, ts)
    lat = ttft + out / tps * 1000.0
    # errors: fast rejections, slow failures, timeouts at the client's deadline
    fast = np.isin(err, [E["rate_limit"], E["auth"], E["invalid_request"], E["context_overflow"]])
    lat = np.where(fast, 120.0 * np.exp(0.5 * rng.standard_normal(n)), lat)
    lat = np.where(err == E["server_error"], 2000.0 * np.exp(0.8 * rng.standard_normal(n)), lat)
    lat = np.where(err == E["other"], 1000.0 * np.exp(0.8 * rng.standard_normal(n)), lat)
    deadline = np.array([60_000.0, 120_000.0, 300_000.0])[rng.integers(0, 3, n)]
    lat = np.where(err == E["timeout"], deadline + rng.random(n) * 50.0, lat)
    cf = err == E["content_filter"]  # filtered mid-stream: first token seen
    ttft_null = ~stream | (is_err & ~cf)
    lat = np.round(lat, 3)
    ttft = np.round(np.minimum(ttft, lat), 3)
    out = np.where(is_err, 0, out)

    # --- cache
    hit = rng.random(n) < APP["hit"][app]
    cached = np.floor(inp * APP["frac"][app] * rng.uniform(0.5, 1.0, n) * hit).astype(np.int64)
    cached_null = ~c.ep_cache[ep] | is_err

    # --- clients
    ids, offs, sizes = clients
    is_null_app = app == NULL_APP
    a0 = np.where(is_null_app, 0, app)
    cl = offs[a0] + np.floor(sizes[a0] * rng.random(n) ** 2.5).astype(np.int64)
    cl_null = is_null_app & (rng.random(n) < 0.5)

    rid = pc.binary_join_element_wise(
        "req_",
        pc.utf8_lpad(pc.cast(pa.array(np.arange(id_offset, id_offset + n, dtype=np.int64)), pa.string()), 12, "0"),
        "",
    )
    status_idx = is_err.astype(np.int32)
    cols = [
        rid,
        pa.array(ts, pa.timestamp("us", tz="UTC")),
        _dict_array(np.where(is_null_app, 0, app), W.APP_IDS, mask=is_null_app),
        _dict_array(cl, ids, mask=cl_null),
        _dict_array(model, W.MODEL_IDS),
        _dict_array(prov, W.PROVIDER_IDS),
        pa.array(inp),
        pa.array(out),
        pa.array(cached, mask=cached_null),
        _dict_array(status_idx, ["ok", "error"]),
        _dict_array(np.maximum(err, 0), ERROR_TYPES, mask=~is_err),
        pa.array(http),
        pa.array(ttft, mask=ttft_null),
        pa.array(lat),
        pa.array(stream),
        pa.array(tools),
        pa.array(json_mode),
        pa.array(APP["sr"][app]),
    ]
    return pa.Table.from_arrays(cols, schema=REQUEST_SCHEMA)


def _shifted_errors(c: Compiled, ep: np.ndarray, ts: np.ndarray, err: np.ndarray, srng) -> None:
    """Planted availability and rate-limit shifts (shifts.py): from their start date a request
    not failed already fails with the shift's extra probability (server_error; rate_limit).
    Drawn from srng, not the row generator, so the rows of a world without shifts are the
    same draws as before shifts existed, and a shift changes only the rows it hits."""
    sh = c.shift
    if not (sh.active("availability") or sh.active("rate_limit_rate")):
        return
    u = srng.random(ts.size)
    av = sh.at("availability", ep, ts) if sh.active("availability") else 0.0
    rl = sh.at("rate_limit_rate", ep, ts) if sh.active("rate_limit_rate") else 0.0
    free = err < 0
    err[free & (u < av)] = E["server_error"]
    err[free & (u >= av) & (u < av + rl)] = E["rate_limit"]
