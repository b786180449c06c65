"""The static world of a synthetic drop: families, variants, providers, endpoints, prices,
applications, incidents. Plain data + small pure functions; the only files read are the
package's own reference tables (pipeline/data/, see its README.md): the model facts in
pipeline/data/models.csv, shared with the alias map (importers/aliases.py), and the world's
variants, providers and endpoint states in pipeline/data/world/.

All figures are fixed at design time. Where a figure comes from a public dataset the comment
here, or the data file's README and the endpoints' source column, names the file it was read
from (those files are NOT needed at run time):

- AZ  = shared/data/real/azure-llm-inference-2023 (Splitwise trace, CC-BY-4.0)
- LL  = shared/data/real/litellm-model-prices/<snapshot>/model_prices_and_context_window_backup.json
        (key cited as LL:<snapshot>:<key>, per-token costs x 1e6)
- GP  = shared/data/real/genai-prices/<snapshot>/data.json
- K2  = shared/data/real/k2-vendor-verifier/k2vv_results_by_readme_commit.csv
- LP  = shared/data/real/llmperf-leaderboard/raw_data/summary (median TTFT 0.21-1.19 s,
        output throughput 1.4-185 tok/s for Llama-2-70B, Dec 2023)
- MEM = public list price remembered from the provider's price page (Q4 2025); approximate.
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np

from pipeline.lib.reference_data import table

# --------------------------------------------------------------------------- time frame
QUARTER_START = dt.date(2025, 10, 1)
QUARTER_END = dt.date(2025, 12, 31)  # inclusive
N_DAYS = (QUARTER_END - QUARTER_START).days + 1  # 92
DAYS = [QUARTER_START + dt.timedelta(days=i) for i in range(N_DAYS)]
US_PER_DAY = 86_400_000_000
EPOCH = dt.date(1970, 1, 1)


def day_us(d: dt.date) -> int:
    """Microseconds since the epoch at 00:00 UTC of date d."""
    return (d - EPOCH).days * US_PER_DAY


def date_of(s: str) -> dt.date:
    return dt.date.fromisoformat(s)


Q_START_US = day_us(QUARTER_START)
Q_END_US = day_us(QUARTER_END) + US_PER_DAY  # exclusive

# --------------------------------------------------------------------------- families
# Expected demand shares (sample-weighted requests) per family, calibrated to the AI Ping
# Q4 2025 aggregate: top1 = 32.0 %, top5 = 87.4 %, Gini = 0.693 over 20 families.
# Solved at design time: geometric decay r = 0.69194 within the top five (s1 = 0.32,
# s1 * (r + r^2 + r^3 + r^4) = 0.554) and geometric decay q = 0.96587 within the 15-family
# tail (tail total 0.126), q found by root-finding the population Gini to 0.693; rounded to
# 5 decimals, last entry absorbs the rounding so the vector sums to 1.
# Achieved: top1 0.32000, top5 0.87399, Gini 0.69302.
FAMILY_SHARES: dict[str, float] = {
    "deepseek": 0.32000,
    "qwen": 0.22142,
    "glm": 0.15321,
    "kimi": 0.10601,
    "minimax": 0.07335,
    "gpt-oss": 0.01059,
    "ernie": 0.01023,
    "llama": 0.00988,
    "hunyuan": 0.00954,
    "seed-oss": 0.00922,
    "longcat": 0.00890,
    "mistral": 0.00860,
    "step": 0.00831,
    "ling": 0.00802,
    "baichuan": 0.00775,
    "internlm": 0.00748,
    "gemma": 0.00723,
    "nemotron": 0.00698,
    "yi": 0.00674,
    "phi": 0.00654,
}
FAMILIES = list(FAMILY_SHARES)

# Half-life (days) of the old variant's share of (old + new) after a successor's release.
# Design choices, documented: DeepSeek's own API switches aliases at once but third-party
# and pinned users lag (10 d); MiniMax M2 was promoted hard with a free period (14 d);
# Kimi K2 users move slowly, thinking is a different mode (21 d); GLM pinned
# deployments are sticky (25 d). Qwen/others: 18 d default.
HALF_LIFE_DAYS = {"deepseek": 10.0, "minimax": 14.0, "kimi": 21.0, "glm": 25.0}
DEFAULT_HALF_LIFE = 18.0

# --------------------------------------------------------------------------- providers
# pipeline/data/world/providers.csv, one row per provider: region of peak load, currency, median
# TTFT (ms) and decode speed (tok/s), default quantization, context-limit behaviour, tool-call
# trigger F1 and schema accuracy vs the official API (LP and K2 figures: its README.md).
PROVIDERS: dict[str, dict] = {
    r["provider"]: dict(
        region=r["region"],
        currency=r["currency"],
        ttft=int(r["ttft_ms"]),
        tps=int(r["decode_tps"]),
        quant=r["quantization"],
        ctx=r["context_limit"],
        f1=float(r["tool_f1"]),
        schema=float(r["schema_accuracy"]),
    )
    for r in table("world/providers.csv")
}
PROVIDER_IDS = list(PROVIDERS)
# Popularity of third-party hosts (relative routing weight); the official API gets
# OFFICIAL_WEIGHT_FACTOR x the sum of the others, i.e. ~55 % of a model's requests.
PROVIDER_POPULARITY = {
    "siliconflow": 0.30,
    "volcengine": 0.22,
    "together": 0.16,
    "fireworks": 0.15,
    "deepinfra": 0.13,
    "novita": 0.08,
    "groq": 0.10,
    "baidu-qianfan": 0.10,
    "alibaba": 0.25,
    "deepseek": 0.2,
    "moonshot": 0.2,
    "zhipu": 0.2,
    "minimax": 0.2,
    "mistral": 0.2,
}
OFFICIAL_WEIGHT_FACTOR = 1.2


# --------------------------------------------------------------------------- models
# model: (family, developer, release_date, successor_of, official_provider,
#         base weight within family (for successor chains: weight of the whole chain on
#         its root), reasoning-capable, size class s/m/l for speed)
# The world's variants, in generation order, with the world's own columns (weight, reasoning,
# size class) are pipeline/data/world/models.csv; the model facts are pipeline/data/models.csv,
# which the alias map (importers/aliases.py) reads too. successor_of is the predecessor within
# this world: one the world does not have (llama-3.3-70b's llama-3.1-70b) leaves a chain root.
def _load_models() -> dict[str, tuple]:
    facts = {r["model"]: r for r in table("models.csv")}
    rows = table("world/models.csv")
    ids = {r["model"] for r in rows}
    models = {}
    for r in rows:
        f = facts[r["model"]]
        successor = f["successor_of"] if f["successor_of"] in ids else None
        family, developer, release, official = f["family"], f["developer"], f["release_date"], f["official_provider"]
        weight, reasoning, size = float(r["weight"]), r["reasoning"] == "1", r["size_class"]
        models[r["model"]] = (family, developer, release, successor, official, weight, reasoning, size)
    return models


MODELS: dict[str, tuple] = _load_models()
MODEL_IDS = list(MODELS)
SIZE_FACTORS = {"s": (0.7, 1.8), "m": (1.0, 1.0), "l": (1.2, 0.8)}  # (ttft x, tps x)


def model_family(m: str) -> str:
    return MODELS[m][0]


def model_release(m: str) -> dt.date:
    return date_of(MODELS[m][2])


# --------------------------------------------------------------------------- endpoints
# pipeline/data/world/endpoints.csv, one row per endpoint state: context, max output,
# quantization, feature flags (1/0), validity, and the price of the endpoint's first state
# (input, output, cached per million tokens in the provider's currency; '-' on its later
# states) with the price's source (LL, GP, MEM). valid_from of endpoints that exist before the
# quarter is 2025-09-01 (or the release date).

# Price changes during the quarter: (provider, model, effective date, in, out, cached)
# (None in a slot keeps the old value; cached 'null' clears it).
PRICE_EVENTS = [
    # MiniMax M2 was free on the official API for its launch period, priced from 2025-11-07.
    ("minimax", "minimax-m2", "2025-10-27", 0.0, 0.0, 0.0),
    ("minimax", "minimax-m2", "2025-11-07", 0.3, 1.2, 0.03),
    # Third-party cuts after competition / newer hardware (MEM, approximate).
    ("together", "kimi-k2-0905", "2025-11-15", 0.6, 2.5, None),
    ("fireworks", "deepseek-v3.2", "2025-12-15", 0.56, 1.68, None),  # LL:2025-12-07 lists 1.2/1.2, cut later
    ("siliconflow", "glm-4.6", "2025-11-01", 2.5, 10, None),
    ("deepinfra", "glm-4.5", "2025-10-20", 0.35, 1.55, None),
    ("novita", "deepseek-v3.1-terminus", "2025-10-10", 0.2, 0.8, None),
    ("groq", "kimi-k2-0905", "2025-12-01", 0.6, 2.5, None),
    ("alibaba", "qwen3-coder-480b-a35b-instruct", "2025-11-20", 4, 16, 1.6),
]


def _parse_endpoints() -> list[dict]:
    rows = []
    for r in table("world/endpoints.csv"):
        model, prov = r["model"], r["provider"]
        assert model in MODELS, model
        assert prov in PROVIDERS, prov
        price = r["input"], r["output"], r["cached"]
        rows.append(
            dict(
                model=model,
                provider=prov,
                context_length=int(r["context_length"]),
                max_output_tokens=int(r["max_output_tokens"]) if r["max_output_tokens"] else None,
                quantization=r["quantization"],
                supports_tools=r["tools"] == "1",
                supports_json_mode=r["json_mode"] == "1",
                supports_streaming=r["streaming"] == "1",
                supports_reasoning=r["reasoning"] == "1",
                valid_from=date_of(r["valid_from"]),
                valid_to=date_of(r["valid_to"]) if r["valid_to"] else None,
                price=None
                if price[0] == "-"
                else (float(price[0]), float(price[1]), float(price[2]) if price[2] else None),
                source=r["source"],
            )
        )
    return rows


ENDPOINTS: list[dict] = _parse_endpoints()


def endpoint_weight(ep: dict) -> float:
    """Routing weight of an endpoint among the providers of its model."""
    prov, model = ep["provider"], ep["model"]
    if prov == MODELS[model][4]:
        others = {e["provider"] for e in ENDPOINTS if e["model"] == model and e["provider"] != prov}
        return OFFICIAL_WEIGHT_FACTOR * max(sum(PROVIDER_POPULARITY[p] for p in others), 0.2)
    return PROVIDER_POPULARITY[prov]


def endpoint_speed(ep: dict) -> tuple[float, float]:
    """(median TTFT ms, median decode tok/s) of an endpoint at off-peak load; a fixed
    per-endpoint jitter (hash of the ids) spreads endpoints of the same provider."""
    p = PROVIDERS[ep["provider"]]
    fx_ttft, fx_tps = SIZE_FACTORS[MODELS[ep["model"]][7]]
    h = _stable_unit(ep["provider"] + "/" + ep["model"])
    j = math.exp(0.25 * (h - 0.5))
    return p["ttft"] * fx_ttft * j, p["tps"] * fx_tps / j


def _stable_unit(s: str) -> float:
    """A deterministic number in [0, 1) from a string (no Python hash randomisation)."""
    h = 2166136261
    for ch in s.encode():
        h = ((h ^ ch) * 16777619) & 0xFFFFFFFF
    return h / 2**32


def within_family_weights(t_days: np.ndarray) -> np.ndarray:
    """Variant weights within their family at times t (days since quarter start, float).

    Successor chains root -> v1 -> v2: the chain's weight flows along it. After release of
    v_k at t_k, the previous variant keeps D_k(t) = 2^(-(t - t_k)/h) of the mass that has
    reached it (h: family half-life). Returns an array (len(t), n_models); each family's
    columns sum to 1 at every t.
    """
    t = np.asarray(t_days, dtype=float)
    out = np.zeros((t.size, len(MODEL_IDS)))
    idx = {m: i for i, m in enumerate(MODEL_IDS)}
    children = {m: [c for c, v in MODELS.items() if v[3] == m] for m in MODELS}
    for m, v in MODELS.items():
        if v[3] is not None:
            continue  # not a chain root
        chain = [m]
        while children[chain[-1]]:
            chain.append(children[chain[-1]][0])
        h = HALF_LIFE_DAYS.get(v[0], DEFAULT_HALF_LIFE)
        remaining = np.full(t.size, v[5], dtype=float)
        for k, cur in enumerate(chain):
            if k + 1 < len(chain):
                nxt = chain[k + 1]
                t_rel = (model_release(nxt) - QUARTER_START).days
                keep = np.where(t < t_rel, 1.0, np.exp2(-np.clip(t - t_rel, 0, None) / h))
                out[:, idx[cur]] = remaining * keep
                remaining = remaining * (1 - keep)
            else:
                out[:, idx[cur]] = remaining
    # normalise per family
    for fam in FAMILIES:
        cols = [idx[m] for m in MODEL_IDS if MODELS[m][0] == fam]
        s = out[:, cols].sum(axis=1, keepdims=True)
        out[:, cols] /= s
    return out


# --------------------------------------------------------------------------- applications
# name: (weighted demand share, sample_rate, stream p, tools p, json p, cache-hit p,
#        cached fraction of input on a hit)
# Token regimes (lognormal: median, sigma, clip lo, clip hi) below.
APPLICATIONS: dict[str, tuple] = {
    "chat": (0.40, 0.10, 0.92, 0.06, 0.03, 0.35, 0.6),
    "code_completion": (0.25, 0.05, 0.85, 0.00, 0.00, 0.50, 0.8),
    "rag": (0.12, 0.25, 0.60, 0.02, 0.15, 0.20, 0.3),
    "agent": (0.15, 1.00, 0.50, 0.93, 0.05, 0.70, 0.7),
    "reasoning": (0.06, 0.50, 0.85, 0.02, 0.02, 0.10, 0.3),
    "long_context": (0.02, 1.00, 0.40, 0.02, 0.02, 0.40, 0.8),
}
APP_IDS = list(APPLICATIONS)
NULL_APP_WEIGHTED_SHARE = 0.003  # application null -> 'unknown'; chat-like, sample_rate 1.0

# Lognormal token regimes: (median, sigma, lo, hi). sigma = (ln p90 - ln p10) / 2.563.
# code_completion & chat fitted on AZ (code: input median 1469, p10 147, p90 5188, max 7437;
# output median 13, p10 7, p90 55. conv: input median 1020, p10 207, p90 2734, max 14050;
# output median 129, p10 54, p90 424, capped ~1000).
TOKENS_IN = {
    "chat": (1020, 1.01, 8, 16384),
    "code_completion": (1469, 1.39, 16, 8192),
    "rag": (6000, 0.50, 1000, 32000),
    "agent": (7000, 0.70, 500, 100000),  # median grows x1.8 over the quarter
    "reasoning": (400, 0.90, 20, 8000),
    "long_context": (60000, 0.35, 32000, 120000),
}
TOKENS_OUT = {
    "chat": (129, 0.80, 1, 4096),
    "code_completion": (13, 0.80, 1, 2048),
    "rag": (180, 0.60, 5, 2048),
    "agent": (300, 0.80, 5, 8192),
    "reasoning": (3000, 0.70, 200, 32768),
    "long_context": (500, 0.70, 20, 8192),
}
AGENT_INPUT_GROWTH = 0.8  # median x (1 + 0.8 * t / quarter)
CLIENTS_PER_APP = {"chat": 400, "code_completion": 300, "rag": 200, "agent": 250, "reasoning": 200, "long_context": 120}


# --------------------------------------------------------------------------- arrivals
# Daily volume: linear growth (+60 % over the quarter), weekends at 80 %, China's Golden
# Week (Oct 1-7) at 75 %, Christmas week at 85 %.
def day_weights() -> np.ndarray:
    w = np.empty(N_DAYS)
    for i, d in enumerate(DAYS):
        x = 1.0 + 0.6 * i / (N_DAYS - 1)
        if d.weekday() >= 5:
            x *= 0.8
        if dt.date(2025, 10, 1) <= d <= dt.date(2025, 10, 7):
            x *= 0.75
        if dt.date(2025, 12, 24) <= d <= dt.date(2025, 12, 31):
            x *= 0.85
        w[i] = x
    return w / w.sum()


def allocate(n: int, weights: np.ndarray) -> np.ndarray:
    """Largest-remainder allocation of n integer units over weights (exact sum n)."""
    raw = n * np.asarray(weights, dtype=float) / np.sum(weights)
    base = np.floor(raw).astype(np.int64)
    rem = int(n - base.sum())
    if rem > 0:
        order = np.argsort(-(raw - base), kind="stable")
        base[order[:rem]] += 1
    return base


# Diurnal request profile (UTC hours): a mix of the China business day (UTC 1-10) and the
# US business day (UTC 14-23).
def hour_weights() -> np.ndarray:
    h = np.arange(24) + 0.5
    cn = np.exp(-0.5 * ((h - 5.5) / 3.0) ** 2)
    us = np.exp(-0.5 * ((((h - 18.5) + 12) % 24 - 12) / 3.5) ** 2)
    w = 0.25 + 1.0 * cn + 0.7 * us
    return w / w.sum()


def load_factor(region: np.ndarray | str, hour: np.ndarray) -> np.ndarray:
    """Provider load multiplier (>= 1) by UTC hour: slower during the provider's peak."""
    hour = np.asarray(hour, dtype=float)
    peak = {"cn": 5.5, "us": 18.5, "eu": 12.0}
    if isinstance(region, str):
        c = peak[region]
    else:
        c = np.vectorize(peak.get)(region)
    d = ((hour - c) + 12) % 24 - 12
    return 1.0 + 0.45 * np.exp(-0.5 * (d / 3.0) ** 2)


# --------------------------------------------------------------------------- fx
def cny_usd_per_unit(i_day: np.ndarray) -> np.ndarray:
    """USD per CNY by day index: 7.13 CNY/USD on Oct 1 drifting to 7.04 on Dec 31 (the
    renminbi firmed in Q4 2025; MEM, approximate) with a small deterministic wiggle."""
    i = np.asarray(i_day, dtype=float)
    cny_per_usd = 7.13 - 0.09 * i / (N_DAYS - 1) + 0.012 * np.sin(i / 5.0)
    return np.round(1.0 / cny_per_usd, 6)


# --------------------------------------------------------------------------- compat
COMPAT_SUITES = {"tool_calls": 200, "json_mode": 50, "streaming": 20, "context_limit": 10}
COMPAT_ROUNDS = ["2025-10-15", "2025-11-12", "2025-12-10"]
# K2: official kimi-k2-0905 answered ~1274-1286 of 4000 with tool_calls (~32 %); 2-3 %
# of requests ended with other finish reasons; Moonshot vs Moonshot Turbo 99.3 % similar.
TOOL_CASE_POSITIVE_RATE = 0.33
# K2VV set its pass bar from repeated runs of the official API, whose lowest trigger F1 was
# 82.71 % (K2-0905, temperature 0.6) and 75.81 % (K2-thinking, 1.0). Flipping a tenth of the
# official's tool-call decisions per run gives F1 about 0.86 between two runs.
OFFICIAL_RERUN_FLIP = 0.10
