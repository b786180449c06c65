"""The world compiled into numpy arrays (endpoints, candidate tables, variant mix by hour)
and the seeded incident schedule shared by requests and latency probes."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

from . import world as W
from .shifts import Shift, ShiftArrays, compile_shifts, endpoint_states

BIG_US = np.iinfo(np.int64).max // 2
INCIDENT_OUTAGE, INCIDENT_RATE_LIMIT = 0, 1


@dataclass
class Compiled:
    # endpoints (one entry per endpoint state)
    ep_model: np.ndarray
    ep_prov: np.ndarray
    ep_vf: np.ndarray
    ep_vt: np.ndarray
    ep_ctx: np.ndarray
    ep_maxout: np.ndarray
    ep_tools: np.ndarray
    ep_json: np.ndarray
    ep_stream: np.ndarray
    ep_weight: np.ndarray
    ep_ttft: np.ndarray
    ep_tps: np.ndarray
    ep_region: np.ndarray  # 0 cn, 1 us, 2 eu
    ep_cache: np.ndarray  # provider bills cache hits for this model
    ep_cn: np.ndarray
    cand: np.ndarray  # (n_models, K) endpoint indices, -1 padded
    model_max_ctx: np.ndarray
    hour_cdf: np.ndarray  # (n_hours, n_models) cumulative variant mix
    # incidents
    inc_prov: np.ndarray
    inc_model: np.ndarray  # -1: all models of the provider
    inc_start: np.ndarray
    inc_end: np.ndarray
    inc_kind: np.ndarray
    # the endpoint states the arrays above index (W.ENDPOINTS plus planted quantization
    # states) and the planted service shifts on them
    eps: list
    shift: ShiftArrays
    # issue 17: per endpoint state, the planted capacity limit K (capacity.py; 0: none)
    ep_capacity: np.ndarray


REGION_CODE = {"cn": 0, "us": 1, "eu": 2}
PEAK_HOUR = np.array([5.5, 18.5, 12.0])


def load_factor_code(region_code: np.ndarray, hour: np.ndarray) -> np.ndarray:
    d = ((hour - PEAK_HOUR[region_code]) + 12.0) % 24.0 - 12.0
    return 1.0 + 0.45 * np.exp(-0.5 * (d / 3.0) ** 2)


def compile_world(
    seed: int, shifts: list[Shift] = (), best_providers: bool = False, capacity: bool = False
) -> Compiled:
    midx = {m: i for i, m in enumerate(W.MODEL_IDS)}
    pidx = {p: i for i, p in enumerate(W.PROVIDER_IDS)}
    eps = endpoint_states(list(shifts))
    if best_providers:  # issue 17: the planted task-dependent best providers (best.py)
        from .best import plant_endpoints

        eps = plant_endpoints(eps)
    has_cache = {}
    for e in eps:
        if e["price"] is not None:
            has_cache[(e["provider"], e["model"])] = e["price"][2] is not None
    c = dict(
        ep_model=np.array([midx[e["model"]] for e in eps], dtype=np.int32),
        ep_prov=np.array([pidx[e["provider"]] for e in eps], dtype=np.int32),
        ep_vf=np.array([W.day_us(e["valid_from"]) for e in eps], dtype=np.int64),
        ep_vt=np.array([W.day_us(e["valid_to"]) if e["valid_to"] else BIG_US for e in eps], dtype=np.int64),
        ep_ctx=np.array([e["context_length"] for e in eps], dtype=np.int64),
        ep_maxout=np.array([e["max_output_tokens"] or 10**9 for e in eps], dtype=np.int64),
        ep_tools=np.array([e["supports_tools"] for e in eps]),
        ep_json=np.array([e["supports_json_mode"] for e in eps]),
        ep_stream=np.array([e["supports_streaming"] for e in eps]),
        ep_weight=np.array([W.endpoint_weight(e) for e in eps]),
        ep_ttft=np.array([W.endpoint_speed(e)[0] for e in eps]),
        ep_tps=np.array([W.endpoint_speed(e)[1] for e in eps]),
        ep_region=np.array([REGION_CODE[W.PROVIDERS[e["provider"]]["region"]] for e in eps], dtype=np.int64),
        ep_cache=np.array([has_cache[(e["provider"], e["model"])] for e in eps]),
        ep_cn=np.array([W.PROVIDERS[e["provider"]]["region"] == "cn" for e in eps]),
    )
    per_model = [[i for i, e in enumerate(eps) if midx[e["model"]] == m] for m in range(len(W.MODEL_IDS))]
    k = max(len(x) for x in per_model)
    cand = np.full((len(W.MODEL_IDS), k), -1, dtype=np.int64)
    for m, lst in enumerate(per_model):
        assert lst, W.MODEL_IDS[m]
        cand[m, : len(lst)] = lst
    c["cand"] = cand
    c["model_max_ctx"] = np.array([max(eps[i]["context_length"] for i in lst) for lst in per_model], dtype=np.int64)

    # variant mix by hour of the quarter (family share x within-family weight)
    n_hours = W.N_DAYS * 24
    t_days = (np.arange(n_hours) + 0.5) / 24.0
    within = W.within_family_weights(t_days)
    fam_share = np.array([W.FAMILY_SHARES[W.MODELS[m][0]] for m in W.MODEL_IDS])
    p = within * fam_share[None, :]
    cdf = np.cumsum(p, axis=1)
    cdf /= cdf[:, -1:]
    c["hour_cdf"] = cdf
    c.update(make_incidents(seed))
    c["eps"], c["shift"] = eps, compile_shifts(eps, list(shifts))
    if capacity:
        from .capacity import endpoint_capacity

        c["ep_capacity"] = endpoint_capacity(eps)
    else:
        c["ep_capacity"] = np.zeros(len(eps))
    return Compiled(**c)


def make_incidents(seed: int) -> dict:
    """Outages and rate-limit spells (seeded). Each provider gets Poisson(2.5) outages
    (median 2 h, 0.5-8 h; 40 % provider-wide, else one model) and Poisson(4) rate-limit
    spells (median 3 h, 1-12 h); every model released during the quarter gets a 24-48 h
    rate-limit spell on its official API from launch (launch-day crunch)."""
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, 7_000_001])))
    midx = {m: i for i, m in enumerate(W.MODEL_IDS)}
    rows = []
    span = W.Q_END_US - W.Q_START_US
    hour = 3_600_000_000
    for pi, p in enumerate(W.PROVIDER_IDS):
        models = sorted({midx[e["model"]] for e in W.ENDPOINTS if e["provider"] == p})
        for kind, lam, med, lo, hi in (
            (INCIDENT_OUTAGE, 2.5, 2.0, 0.5, 8.0),
            (INCIDENT_RATE_LIMIT, 4.0, 3.0, 1.0, 12.0),
        ):
            for _ in range(rng.poisson(lam)):
                start = W.Q_START_US + int(rng.integers(0, span // 60_000_000)) * 60_000_000
                dur = float(np.clip(med * np.exp(0.7 * rng.standard_normal()), lo, hi))
                scope = -1 if rng.random() < 0.4 else int(rng.choice(models))
                rows.append((pi, scope, start, start + int(dur * hour), kind))
    pidx = {p: i for i, p in enumerate(W.PROVIDER_IDS)}
    for m, v in W.MODELS.items():
        rel = W.model_release(m)
        if W.QUARTER_START <= rel <= W.QUARTER_END:
            start = W.day_us(rel) + int(rng.integers(1, 4)) * hour
            rows.append((pidx[v[4]], midx[m], start, start + int(rng.integers(24, 49)) * hour, INCIDENT_RATE_LIMIT))
    a = np.array(rows, dtype=np.int64).reshape(-1, 5)
    return dict(inc_prov=a[:, 0], inc_model=a[:, 1], inc_start=a[:, 2], inc_end=a[:, 3], inc_kind=a[:, 4])


def incident_masks(c: Compiled, ep_prov: np.ndarray, ep_model: np.ndarray, ts: np.ndarray, lo: int, hi: int):
    """Boolean masks (in outage, in rate-limit spell) for rows with the given provider,
    model and ts; only incidents overlapping [lo, hi) are checked."""
    outage = np.zeros(ts.size, dtype=bool)
    spell = np.zeros(ts.size, dtype=bool)
    sel = np.nonzero((c.inc_start < hi) & (c.inc_end > lo))[0]
    for i in sel:
        m = (ep_prov == c.inc_prov[i]) & (ts >= c.inc_start[i]) & (ts < c.inc_end[i])
        if c.inc_model[i] >= 0:
            m &= ep_model == c.inc_model[i]
        if c.inc_kind[i] == INCIDENT_OUTAGE:
            outage |= m
        else:
            spell |= m
    return outage, spell


def client_pool() -> tuple[list[str], np.ndarray, np.ndarray]:
    """Pseudonymous client ids per application: ('c_' + 12 hex of a hash). Returns the
    flat list, and per application the offset and size in it."""
    ids, offs, sizes = [], [], []
    for app in W.APP_IDS:
        offs.append(len(ids))
        sizes.append(W.CLIENTS_PER_APP[app])
        for i in range(W.CLIENTS_PER_APP[app]):
            ids.append("c_" + hashlib.blake2b(f"{app}:{i}".encode(), digest_size=6).hexdigest())
    return ids, np.array(offs), np.array(sizes)
