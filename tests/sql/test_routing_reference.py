"""Counterfactual routing against a brute-force reference (issue 5, "done when": on drops written
by someone else, with known optimal routes, the cost and throughput changes equal the true ones).

`random_world(seed)` writes a small contract drop: 2-3 replayed models with 3-5 providers each
(the official one included) plus a model with a single priced provider (never replayed);
endpoint state changes (a new state at valid_to, a de-listing gap, a late listing) with other
context lengths, output caps and feature flags; price snapshots changing mid-day (one exactly at
a request's start), a CNY provider converted with daily fx rates (one day missing, so the as-of
rate applies); latency probes every 5, 6 or 10 minutes over 2-3 days with random failures, rate
limits, outages, gaps and diurnal throughput; a pair of providers with identical prices and
probes (ties go to the alphabetically first); a few hundred requests with random tokens, cached
tokens, flags and sample rates in {1, 0.5, 0.1}.

`Reference(world).run(requests)` replays it with one plain Python loop per request, written from
the text of the data contract (section 3, "Counterfactual routing") and the README ("Routing
methods"), not from the SQL. The pipeline's marts.routing_counterfactual (baseline and routed
values, change_pct, requests routed and excluded, per quarter and month) and the per-request
decisions of all eight policies (provider, cost_usd, decode_tps, ttft_ms, success_prob) must equal
it to 1e-9 relative. Requests billed no tokens (cost 0 everywhere: a tie) are checked on their own.
The pipeline replays groups of requests (issue 13); the per-request decisions are read from the
warehouse view that places every request back in its group (sql/views/routing_decisions.sql), so
the grouping, the group's decisions and the view are all checked against the loop.
price_weighted_balance follows the definition of issue 13: weights 1 / price^2, the price at a
fixed 3:1 input:output mix (not the request's own cost).

The first run of this test found three broken rules (a causal choice losing a provider that had
no probes in the request's own bucket, retries' throughput lost when the first attempt had no
successful probe, ties at cost 0 left to row order); the end of the file keeps each one as a
hand-sized regression case.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from scipy.stats import binomtest

from pipeline.lib.contract import DATASETS
from pipeline.lib.duck import connect, lit
from pipeline.lib.ingest import stage_dataset
from pipeline.lib.routing import POLICIES, RoutingParams, build_routing
from pipeline.sql import load_sql

SEEDS = (0, 1, 2, 3, 4)
REL = 1e-9
BUCKET = dt.timedelta(minutes=60)  # README: buckets are 60 minutes
MIN_SUCCESS = 0.9  # README / contract: the availability threshold
# README: down only when the bucket's probes show success below 0.9 at 95 % one-sided
# confidence (Wilson); the upper end of scipy's 90 % two-sided Wilson interval is that bound
EVIDENCE = 0.90
# the intervals are not checked here; a few failures a day give a provider its own billed share
PARAMS = RoutingParams(n_boot=20, failure_min_reporting=2)
POOL = ("aleph", "bolt", "cirrus", "delta", "ember", "flux")
ERRORS = ("rate_limit", "rate_limit", "timeout", "server_error")
UNBILLED_FAILURES = ("flux", "twin-b")


# ---------------------------------------------------------------------------------------------
# the world


def random_world(seed: int) -> dict:
    rng = np.random.default_rng(seed)
    start = dt.datetime(2025, 9, 30) if seed % 2 == 0 else dt.datetime(2025, 10, 31)  # a quarter / a month boundary
    end = start + dt.timedelta(days=int(rng.integers(2, 4)))
    span = int((end - start).total_seconds())

    def when(lo: float = 0.05, hi: float = 0.95) -> dt.datetime:
        return start + dt.timedelta(seconds=int(rng.integers(int(lo * span), int(hi * span))))

    names = ["m-alpha", "m-beta", "m-gamma"][: int(rng.integers(2, 4))]
    officials = {"m-alpha": "acme", "m-beta": "bayes", "m-gamma": "bolt"}
    lineup: dict[str, list[str]] = {}
    for m in names:
        others = [p for p in POOL if p != officials[m]]
        k = int(rng.integers(2, 5))
        if m == "m-alpha":  # the CNY provider and the identical twins
            lineup[m] = [officials[m], "hanzo", "twin-a", "twin-b"] + list(
                rng.choice(others, size=int(rng.integers(0, 2)), replace=False)
            )
        else:
            lineup[m] = [officials[m]] + list(rng.choice(others, size=k, replace=False))
    models = [
        {
            "model": m,
            "family": m.split("-")[1],
            "developer": officials[m],
            "release_date": dt.date(2025, 1, 1),
            "successor_of": None,
            "official_provider": officials[m],
        }
        for m in names
    ]
    models.append(
        {
            "model": "m-solo",
            "family": "solo",
            "developer": "acme",
            "release_date": dt.date(2025, 1, 1),
            "successor_of": None,
            "official_provider": "acme",
        }
    )

    special: list[tuple[str, dt.datetime]] = []  # (model, time) at which a request must start
    endpoints: list[dict] = []

    def state(official: bool) -> dict:
        return {
            "context_length": int(
                rng.choice([32768, 65536, 131072] if official else [8192, 16384, 32768, 65536, 131072])
            ),
            "max_output_tokens": None if rng.random() < 0.5 else int(rng.choice([2048, 4096, 8192])),
            "quantization": str(rng.choice(["bf16", "fp8", "int4"])),
            "supports_tools": bool(rng.random() < (0.9 if official else 0.7)),
            "supports_json_mode": bool(rng.random() < (0.8 if official else 0.6)),
            "supports_streaming": bool(rng.random() < (0.95 if official else 0.85)),
            "supports_reasoning": bool(rng.random() < 0.5),
        }

    def endpoint(p: str, m: str, vf: dt.datetime, vt: dt.datetime | None, official: bool) -> None:
        endpoints.append({"provider": p, "model": m, "valid_from": vf, "valid_to": vt, **state(official)})

    long_ago = start - dt.timedelta(days=10)
    for m in names:
        for i, p in enumerate(lineup[m]):
            official = i == 0
            kind = str(rng.choice(["plain", "change", "gap", "late"], p=[0.4, 0.3, 0.15, 0.15]))
            if (m, p) == ("m-alpha", "twin-b"):
                kind = "change"
            elif m == "m-beta" and i == 1:
                kind = "gap"
            elif m == "m-beta" and i == 2:
                kind = "late"
            elif official and kind in ("gap", "late"):
                kind = "change"
            if kind == "plain":
                endpoint(p, m, long_ago, None, official)
            elif kind == "change":  # a new state from exactly the old one's valid_to
                t = when()
                endpoint(p, m, long_ago, t, official)
                endpoint(p, m, t, None, official)
                special += [(m, t), (m, t - dt.timedelta(seconds=1))]
            elif kind == "gap":  # de-listed for a while
                t1 = when(0.1, 0.5)
                t2 = t1 + dt.timedelta(seconds=int(rng.integers(3600, 8 * 3600)))
                endpoint(p, m, long_ago, t1, official)
                endpoint(p, m, t2, None, official)
                special += [(m, t1 - dt.timedelta(seconds=1)), (m, t2)]
            else:  # listed mid-drop
                t = when(0.05, 0.5)
                endpoint(p, m, t, None, official)
                special.append((m, t))
    endpoint("acme", "m-solo", long_ago, None, True)
    endpoint("zeta", "m-solo", long_ago, None, False)  # listed, never priced: m-solo is not replayed

    prices: list[dict] = []
    schedules: dict[tuple[str, str], list[dict]] = {}
    for m in names:
        for i, p in enumerate(lineup[m]):
            if p == "twin-b":
                continue
            first = long_ago + dt.timedelta(days=5)
            if m == "m-beta" and i == 0:
                first = start + dt.timedelta(
                    seconds=int(rng.integers(3600, 5 * 3600))
                )  # official priced late: excluded before
            elif i > 0 and rng.random() < 0.2:
                first = when(0.05, 0.4)
            scale = 7.0 if p == "hanzo" else 1.0
            # the twins and the CNY provider are often cheapest
            pin = float(
                rng.uniform(0.05, 0.3)
                if p == "twin-a"
                else rng.uniform(0.1, 0.8)
                if p == "hanzo"
                else rng.uniform(0.1, 3.0)
            )
            pout = pin * float(rng.uniform(1.5, 5.0))
            cached = pin * float(rng.uniform(0.1, 0.5)) if rng.random() < 0.5 else None
            times = [first] + sorted(when() for _ in range(int(rng.integers(1 if p in ("hanzo", "twin-a") else 0, 4))))
            snaps = []
            for t in times:
                if t < first:
                    continue
                if snaps:
                    pin *= float(rng.uniform(0.6, 1.4))
                    pout *= float(rng.uniform(0.6, 1.4))
                    if rng.random() < 0.3:
                        cached = None if cached is not None else pin * 0.25
                snaps.append(
                    {
                        "snapshot_ts": t,
                        "provider": p,
                        "model": m,
                        "input_per_mtok": round(pin * scale, 6),
                        "output_per_mtok": round(pout * scale, 6),
                        "cached_input_per_mtok": None if cached is None else round(cached * scale, 6),
                        "currency": "CNY" if p == "hanzo" else "USD",
                    }
                )
            schedules[(p, m)] = snaps
            prices += snaps
            if p == "twin-a":
                prices += [{**s, "provider": "twin-b"} for s in snaps]
    # daily CNY rates, but none on the day of hanzo's first change: the rate of the day before applies
    gap_day = next(x["snapshot_ts"].date() for x in schedules[("hanzo", "m-alpha")] if x["snapshot_ts"] > start)
    fx_rates = [
        {"date": d, "currency": "CNY", "usd_per_unit": round(0.14 * (1 + rng.normal(0, 0.02)), 6)}
        for d in (start.date() + dt.timedelta(days=k) for k in range(-7, (end - start).days))
        if d != gap_day
    ]
    prices.append(
        {
            "snapshot_ts": long_ago,
            "provider": "acme",
            "model": "m-solo",
            "input_per_mtok": 1.0,
            "output_per_mtok": 2.0,
            "cached_input_per_mtok": None,
            "currency": "USD",
        }
    )
    for key in (("hanzo", "m-alpha"), ("twin-a", "m-alpha")):  # a request exactly at a mid-drop price change
        mid = [s["snapshot_ts"] for s in schedules[key] if s["snapshot_ts"] > start]
        if mid:
            special += [("m-alpha", mid[0]), ("m-alpha", mid[0] - dt.timedelta(seconds=1))]

    probes: list[dict] = []
    for m in names + ["m-solo"]:
        for p in lineup[m] if m != "m-solo" else ["acme", "zeta"]:
            if p == "twin-b":
                continue
            step = int(rng.choice([10, 10, 10, 5, 6]))
            offset = int(rng.integers(0, step * 60))
            base_tps, base_ttft = float(rng.uniform(20, 200)), float(rng.uniform(150, 1200))
            fail = float(rng.choice([0.005, 0.02, 0.05]))
            phase = float(rng.uniform(0, 2 * math.pi))
            gap = outage = (end, end)
            if rng.random() < 0.3:
                g = when()
                gap = (g, g + dt.timedelta(hours=int(rng.integers(1, 5))))
            if rng.random() < 0.3:
                o = when()
                outage = (o, o + dt.timedelta(hours=int(rng.integers(1, 4))))
            t = start + dt.timedelta(seconds=offset)
            rows = []
            while t < end:
                if not gap[0] <= t < gap[1]:
                    failed = rng.random() < (0.5 if outage[0] <= t < outage[1] else fail)
                    out = int(rng.integers(64, 512))
                    tps = (
                        base_tps
                        * (1 + 0.3 * math.sin(2 * math.pi * t.hour / 24 + phase))
                        * math.exp(rng.normal(0, 0.15))
                    )
                    ttft = round(base_ttft * math.exp(rng.normal(0, 0.3)), 3)
                    rows.append(
                        {
                            "ts": t,
                            "provider": p,
                            "model": m,
                            "input_tokens": 1000,
                            "output_tokens": 0 if failed else out,
                            "ttft_ms": None if failed else ttft,
                            "latency_ms": None if failed else round(ttft + out / tps * 1000, 3),
                            "status": "error" if failed else "ok",
                            "error_type": str(rng.choice(ERRORS)) if failed else None,
                        }
                    )
                t += dt.timedelta(minutes=step)
            probes += rows
            if p == "twin-a":
                probes += [{**r, "provider": "twin-b"} for r in rows]

    requests: list[dict] = []
    times = [(m, when(0, 1)) for m in names for _ in range(int(rng.integers(90, 160)))]
    times += [("m-solo", when(0, 1)) for _ in range(8)]
    times += [
        (names[0], start + dt.timedelta(seconds=int(rng.integers(0, 3600)))) for _ in range(4)
    ]  # no previous bucket
    times += [
        (names[-1], start + dt.timedelta(hours=int(rng.integers(1, 24)))) for _ in range(3)
    ]  # on a bucket boundary
    times += [(m, t) for m, t in special if start <= t < end]
    for i, (m, t) in enumerate(times):
        inp = int(np.clip(math.exp(rng.normal(7.5, 1.6)), 1, 150_000))
        out = int(np.clip(math.exp(rng.normal(5.5, 1.3)), 1, 12_000))
        ok = rng.random() < 0.93
        if not ok and rng.random() < 0.5:
            out = 0  # an error billed no output
        if i % 97 == 5:
            inp, out = 0, 0  # billed nothing: every provider costs 0, the tie goes to the first by name
        u = rng.random()
        cached = None if u < 0.4 else 0 if u < 0.55 else int(rng.integers(0, inp + 1))
        requests.append(
            {
                "request_id": f"r{seed}-{i:04d}",
                "ts": t,
                "application": str(rng.choice(["chat", "rag", "agent"])) if rng.random() < 0.8 else None,
                "client_id": f"c{int(rng.integers(0, 20))}",
                "model": m,
                "provider": str(rng.choice(lineup[m])) if m != "m-solo" else "acme",
                "input_tokens": inp,
                "output_tokens": out,
                "cached_input_tokens": cached,
                "status": "ok" if ok else "error",
                "error_type": None if ok else str(rng.choice(ERRORS)),
                "http_status": 200 if ok else 500,
                "ttft_ms": float(rng.uniform(100, 900)) if ok else None,
                "latency_ms": float(rng.uniform(1000, 9000)) if ok else None,
                "stream": bool(rng.random() < 0.6),
                "tools": bool(rng.random() < 0.3),
                "json_mode": bool(rng.random() < 0.2),
                "sample_rate": float(rng.choice([1.0, 0.5, 0.1])),
            }
        )
        if not ok and requests[-1]["provider"] in UNBILLED_FAILURES:
            requests[-1]["input_tokens"] = 0  # these hosts do not bill a failed request
            requests[-1]["cached_input_tokens"] = None if cached is None else 0
    return {
        "models": models,
        "endpoints": endpoints,
        "prices": prices,
        "fx_rates": fx_rates,
        "latency_probes": probes,
        "requests": requests,
        "compat_probes": [],
    }


def _text(v):
    if isinstance(v, dt.datetime):
        return v.strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(v, dt.date):
        return v.isoformat()
    return v


def stage(world: dict, tmp: Path) -> Path:
    raw, root = tmp / "raw", tmp / "wh"
    for name, rows in world.items():
        if not rows:
            continue
        (raw / name).mkdir(parents=True, exist_ok=True)
        pl.DataFrame([{k: _text(v) for k, v in r.items()} for r in rows], infer_schema_length=None).write_csv(
            raw / name / f"{name}.csv"
        )
    (raw / "compat_probes").mkdir(parents=True, exist_ok=True)
    pl.DataFrame(
        schema={
            "ts": pl.String,
            "provider": pl.String,
            "model": pl.String,
            "suite": pl.String,
            "case_id": pl.String,
            "finish_reason": pl.String,
            "tool_calls": pl.Int64,
            "schema_valid": pl.Boolean,
            "status": pl.String,
            "error_type": pl.String,
        }
    ).write_csv(raw / "compat_probes" / "compat_probes.csv")
    for spec in DATASETS.values():
        res = stage_dataset(spec, raw, root)
        assert res.rows_quarantined == 0 and res.rows_duplicate == 0, spec.name
    return root


# ---------------------------------------------------------------------------------------------
# the reference: a loop per request, from the contract and README text


def _median(xs: list[float]) -> float:
    return float(np.quantile(np.asarray(xs, dtype=float), 0.5))  # linear interpolation


class Reference:
    def __init__(self, world: dict):
        self.official = {m["model"]: m["official_provider"] for m in world["models"]}
        self.cache_share = self.cache_shares(world["requests"])
        self.bill = self.failure_billing(world["requests"])
        self.endpoints = defaultdict(list)
        for e in world["endpoints"]:
            self.endpoints[(e["provider"], e["model"])].append(e)
        fx = sorted((r["date"], r["usd_per_unit"]) for r in world["fx_rates"] if r["currency"] == "CNY")
        self.prices = defaultdict(list)  # (provider, model) -> [(snapshot_ts, in, out, cached)] in USD, by time
        for s in world["prices"]:
            # converted once, at the latest rate on or before the snapshot date (README, service-object methods)
            k = 1.0 if s["currency"] == "USD" else [r for d, r in fx if d <= s["snapshot_ts"].date()][-1]
            cached = s["cached_input_per_mtok"]
            self.prices[(s["provider"], s["model"])].append(
                (
                    s["snapshot_ts"],
                    s["input_per_mtok"] * k,
                    s["output_per_mtok"] * k,
                    None if cached is None else cached * k,
                )
            )
        for v in self.prices.values():
            v.sort(key=lambda x: x[0])
        groups = defaultdict(list)
        for p in world["latency_probes"]:
            groups[(p["provider"], p["model"], self.bucket(p["ts"]))].append(p)
        self.stats = {}
        for key, rows in groups.items():
            ok = [r for r in rows if r["status"] == "ok"]
            tps = [r["output_tokens"] / ((r["latency_ms"] - r["ttft_ms"]) / 1000) for r in ok]
            ttft = [r["ttft_ms"] for r in ok]
            self.stats[key] = {
                "success": len(ok) / len(rows),
                "upper": binomtest(len(ok), len(rows)).proportion_ci(confidence_level=EVIDENCE, method="wilson").high,
                "tps": _median(tps) if ok else None,
                "ttft": _median(ttft) if ok else None,
                "ttft_p90": float(np.quantile(ttft, 0.9)) if ok else None,
            }
        self.seen = Counter()  # what the world exercised (test_the_worlds_exercise_what_they_should)
        self.frozen = self.frozen_orders(world)
        providers = defaultdict(set)
        for p, m in self.endpoints:
            if self.prices.get((p, m)):
                providers[m].add(p)
        # README: models with at least two providers that had an endpoint and a price at some time
        self.routable = {m for m, ps in providers.items() if len(ps) >= 2}
        self.lineup = {m: sorted({p for (p, mm) in self.endpoints if mm == m}) for m in self.official}
        self.seen["buckets without a success"] = sum(st["tps"] is None for st in self.stats.values())
        # failures that a point rule would call an outage and the evidence does not
        self.seen["up on the evidence, down on the point rule"] = sum(
            st["success"] < MIN_SUCCESS <= st["upper"] for st in self.stats.values()
        )
        self.seen["down on the evidence"] = sum(st["upper"] < MIN_SUCCESS for st in self.stats.values())

    def candidates_at(self, m: str, t: dt.datetime) -> dict:
        """provider -> blended price (0.75 input + 0.25 output, USD) of the candidates of m at t."""
        out = {}
        for (p, mm), _ in list(self.endpoints.items()):
            price = self.price_at(p, m, t) if mm == m else None
            if price is not None and self.endpoint_at(p, m, t) is not None:
                out[p] = 0.75 * price[1] + 0.25 * price[2]
        return out

    def frozen_orders(self, world: dict) -> dict:
        """README (Routing methods, frozen policies): per (model, quarter of a request), the
        candidates at t0 (the quarter's start, or the first moment after it with a candidate) by
        blended price, and by median decode throughput of their successful probes on t0's UTC day
        (fastest first, those without a probe that day last), ties and the rest by name."""
        out = {}
        quarters = {(r["ts"].year, (r["ts"].month - 1) // 3) for r in world["requests"]}
        for m in self.official:
            times = sorted(
                {e["valid_from"] for (p, mm), es in self.endpoints.items() if mm == m for e in es}
                | {e["valid_to"] for (p, mm), es in self.endpoints.items() if mm == m for e in es if e["valid_to"]}
                | {s[0] for (p, mm), ss in self.prices.items() if mm == m for s in ss}
            )
            for y, q in quarters:
                start = dt.datetime(y, 3 * q + 1, 1)
                end = dt.datetime(y + (q == 3), 1 if q == 3 else 3 * q + 4, 1)
                t0 = next((t for t in [start, *times] if start <= t < end and self.candidates_at(m, t)), None)
                if t0 is None:
                    continue
                cands = self.candidates_at(m, t0)
                day0 = dt.datetime(t0.year, t0.month, t0.day)
                speed = {}
                for p in cands:
                    tps = [
                        pr["output_tokens"] / ((pr["latency_ms"] - pr["ttft_ms"]) / 1000)
                        for pr in world["latency_probes"]
                        if pr["model"] == m
                        and pr["provider"] == p
                        and pr["status"] == "ok"
                        and pr["latency_ms"] > pr["ttft_ms"]
                        and day0 <= pr["ts"] < day0 + dt.timedelta(days=1)
                    ]
                    if tps:
                        speed[p] = _median(tps)
                by_price = sorted(cands, key=lambda p: (cands[p], p))
                by_speed = sorted(cands, key=lambda p: (0, -speed[p], p) if p in speed else (1, 0.0, p))
                out[(m, f"{y}Q{q + 1}")] = (by_price, by_speed)
                self.seen["frozen orders"] += 1
                self.seen["frozen at a late listing"] += t0 > start
        return out

    @staticmethod
    def cache_shares(requests: list[dict]) -> dict:
        """README: a request that does not report its cache hits is a hit with chance hit_share and
        a miss otherwise. Among the same day's requests that report them (input > 0), weighted by
        1 / sample_rate: hit_share is the share with a cached count above 0; a hit's share of cached
        input is one of 20 strata of those requests' cached / input (the quantiles at the strata's
        midpoints, unweighted), scaled so that their mean is the hits' weighted cached / input
        tokens (at most 1). From the first of (model, application), model, application, the day with
        at least 10 of them; else no hits. Keyed by (day, model, application): (hit_share, strata)."""
        # per cell: [reporting requests, weight, weight of hits, weighted cached of hits, weighted input of hits, hit shares]
        cells = {k: defaultdict(lambda: [0, 0.0, 0.0, 0.0, 0.0, []]) for k in ("ma", "m", "a", "d")}
        for r in requests:
            if r["cached_input_tokens"] is None or r["input_tokens"] <= 0:
                continue
            day, w, app = r["ts"].date(), 1 / r["sample_rate"], r["application"] or ""
            cached = min(r["cached_input_tokens"], r["input_tokens"])
            for kind, key in (("ma", (day, r["model"], app)), ("m", (day, r["model"])), ("a", (day, app)), ("d", day)):
                c = cells[kind][key]
                c[0] += 1
                c[1] += w
                if cached > 0:
                    c[2] += w
                    c[3] += w * cached
                    c[4] += w * r["input_tokens"]
                    c[5].append(cached / r["input_tokens"])
        out = {}
        midpoints = [(2 * i + 1) / 40 for i in range(20)]
        for r in requests:
            day, app = r["ts"].date(), r["application"] or ""
            rates = (0.0, None)
            for kind, key in (("ma", (day, r["model"], app)), ("m", (day, r["model"])), ("a", (day, app)), ("d", day)):
                c = cells[kind].get(key)
                if c is not None and c[0] >= 10:
                    strata = None
                    if c[2] > 0:
                        q = np.quantile(c[5], midpoints)  # linear between order statistics, as quantile_cont
                        strata = [min(x * (c[3] / c[4]) / q.mean(), 1.0) for x in q]
                    rates = (c[2] / c[1], strata)
                    break
            out[(day, r["model"], app)] = rates
        return out

    @staticmethod
    def failure_billing(requests: list[dict]) -> dict:
        """README: a failed attempt at provider p is billed its input tokens with the chance that
        p's logged failures of the day (every error but auth and invalid_request, over all its
        models, weighted by 1 / sample_rate) carry input tokens, when it logged at least
        failure_min_reporting; else the day's share over every provider when there are that many;
        else 0. Keyed by (day,
        provider) and (day, None)."""
        cells = defaultdict(lambda: [0, 0.0, 0.0])  # failures, weight, weight with input billed
        for r in requests:
            if r["status"] != "error" or (r["error_type"] or "other") in ("auth", "invalid_request"):
                continue
            w = 1 / r["sample_rate"]
            for key in ((r["ts"].date(), r["provider"]), (r["ts"].date(), None)):
                cells[key][0] += 1
                cells[key][1] += w
                cells[key][2] += w if r["input_tokens"] > 0 else 0.0
        return {k: c[2] / c[1] for k, c in cells.items() if c[0] >= PARAMS.failure_min_reporting}

    def billed_share(self, day: dt.date, p: str) -> float:
        if (day, p) in self.bill:
            self.seen["failure billing: the provider's own share"] += 1
            share = self.bill[(day, p)]
        else:
            self.seen["failure billing: the day's share"] += (day, None) in self.bill
            share = self.bill.get((day, None), 0.0)
        self.seen["billed failed attempts"] += share > 0
        self.seen["unbilled failed attempts"] += share == 0
        return share

    def parts(self, r: dict) -> list[tuple[str, float, int, bool]]:
        """The request as the replay takes it: (cache part, weight, cached input tokens, estimated).
        One part when its log shows its cache hits; else a hit and a miss weighing hit_share and
        1 - hit_share of 1 / sample_rate (a part that weighs 0 left out); the hit's share of cached
        input is the stratum numbered by the first 8 hex digits of the md5 of the request id."""
        inp, rate = r["input_tokens"], r["sample_rate"]
        if r["cached_input_tokens"] is not None:
            return [("logged", 1 / rate, min(r["cached_input_tokens"], inp), False)]
        share, strata = self.cache_share[(r["ts"].date(), r["model"], r["application"] or "")]
        out = []
        if share > 0:
            stratum = int(hashlib.md5(r["request_id"].encode()).hexdigest()[:8], 16) % len(strata)
            cached = min(math.floor(inp * strata[stratum] + 0.5), inp)  # DuckDB rounds half away from 0
            self.seen["estimated cache hits"] += cached > 0
            out.append(("hit", 1 / (rate / share), cached, True))
        if share < 1:
            out.append(("miss", 1 / (rate / (1 - share)), 0, True))
        return out

    @staticmethod
    def bucket(t: dt.datetime) -> dt.datetime:
        return t.replace(minute=0, second=0, microsecond=0)

    def endpoint_at(self, p, m, t):
        rows = [
            e for e in self.endpoints[(p, m)] if e["valid_from"] <= t and (e["valid_to"] is None or t < e["valid_to"])
        ]
        assert len(rows) <= 1
        return rows[0] if rows else None

    def price_at(self, p, m, t):
        snaps = [s for s in self.prices.get((p, m), []) if s[0] <= t]  # as-of: the latest snapshot_ts <= t
        return snaps[-1] if snaps else None

    def available(self, p, m, b) -> bool:
        st = self.stats.get((p, m, b))
        return st is not None and st["upper"] >= MIN_SUCCESS  # no probes: unavailable

    def decide(self, r: dict, cached: int) -> dict[str, dict]:
        m, t = r["model"], r["ts"]
        b, prev = self.bucket(t), self.bucket(t) - BUCKET
        off = self.official[m]
        inp, out = r["input_tokens"], r["output_tokens"]
        cost, input_cost, blended, fits = {}, {}, {}, set()
        for p in self.lineup[m]:
            e, price = self.endpoint_at(p, m, t), self.price_at(p, m, t)
            if e is None or price is None:
                continue  # not a candidate
            _, pin, pout, pcached = price
            input_cost[p] = ((inp - cached) * pin + cached * (pin if pcached is None else pcached)) / 1e6
            cost[p] = input_cost[p] + out * pout / 1e6
            # README: price_weighted_balance weighs by the price per token at a fixed 3:1 input:output mix
            blended[p] = 0.75 * pin + 0.25 * pout
            if (
                e["context_length"] >= inp + out
                and (e["max_output_tokens"] is None or out <= e["max_output_tokens"])
                and (e["supports_tools"] or not r["tools"])
                and (e["supports_json_mode"] or not r["json_mode"])
                and (e["supports_streaming"] or not r["stream"])
            ):
                fits.add(p)
        if off not in fits or not self.available(off, m, b):
            return {pol: None for pol in POLICIES}  # excluded from every policy

        def at(p: str) -> dict:  # a request on provider p, scored with its own bucket
            st = self.stats[(p, m, b)]
            return {
                "provider": p,
                "cost_usd": cost[p],
                "decode_tps": st["tps"],
                "ttft_ms": st["ttft"],
                "success_prob": st["success"],
            }

        own = sorted(p for p in fits if self.available(p, m, b))
        before = sorted(p for p in fits if self.available(p, m, prev))

        def best(pool, key) -> str:  # ties go to the first by name
            ranked = sorted(pool, key=lambda p: (key(p), p))
            if len(ranked) > 1 and key(ranked[0]) == key(ranked[1]):
                self.seen["tie at zero cost" if cost[ranked[0]] == 0 else "tie"] += 1
            return ranked[0]

        def causal(key) -> dict:
            if not before:
                self.seen["causal: nothing available before"] += 1
                return at(off)
            pick = best(before, key)
            if (pick, m, b) not in self.stats:
                self.seen["causal pick without probes in its own bucket"] += 1
            if not self.available(pick, m, b):
                self.seen["causal fallback"] += 1
                return at(off)  # fallback to the official provider
            return at(pick)

        def frozen(order: list[str]) -> dict:
            pool = [p for p in order if p in fits and self.available(p, m, prev)]
            if not pool:
                return at(off)
            return at(pool[0]) if self.available(pool[0], m, b) else at(off)

        by_price, by_speed = self.frozen.get((m, f"{t.year}Q{(t.month - 1) // 3 + 1}"), ([], []))
        out_ = {
            "official": at(off),
            "cost_oracle": at(best(own, lambda p: cost[p])),
            "throughput_oracle": at(best(own, lambda p: -self.stats[(p, m, b)]["tps"])),
            "cheapest": causal(lambda p: cost[p]),
            "fastest": causal(lambda p: -self.stats[(p, m, prev)]["tps"]),
            "lowest_p90_ttft": causal(lambda p: self.stats[(p, m, prev)]["ttft_p90"]),
        }

        # at most three attempts, by price; attempt k succeeds with its success rate in the bucket
        tries = sorted(fits, key=lambda p: (cost[p], p))[:3]
        if (tries[0], m, b) not in self.stats:
            self.seen["first attempt without probes"] += 1
        if any(self.stats.get((p, m, b), {"success": 0})["success"] < 1 for p in tries):
            self.seen["an attempt may fail"] += 1
        reach, success, exp_cost, exp_tps, exp_ttft = 1.0, 0.0, 0.0, 0.0, 0.0
        for p in tries:
            st = self.stats.get((p, m, b))
            s = st["success"] if st else 0.0
            q = reach * s
            if q > 0:
                exp_cost += q * cost[p]
                exp_tps += q * st["tps"]
                exp_ttft += q * st["ttft"]
            success += q
            # a failed attempt pays its input where its provider's logs bill failures
            exp_cost += reach * (1 - s) * self.billed_share(t.date(), p) * input_cost[p]
            reach *= 1 - s
        out_["sort_price_with_retries"] = {
            "provider": tries[0],
            "cost_usd": exp_cost,
            "success_prob": 1 - reach,
            "decode_tps": exp_tps / success if success else None,
            "ttft_ms": exp_ttft / success if success else None,
        }

        # shares blended price^-2 (OpenRouter's inverse square of the price; the price at 3:1
        # input:output, the same for every request) over the fitting providers available in the
        # previous bucket, expectations, unavailable shares fall back to the official provider
        free = [p for p in before if blended[p] == 0]
        if free:  # price^-2 is infinite: the free providers share the request (the limit of the weights)
            shares = {p: 1 / len(free) for p in free}
        elif before:
            inv = {p: blended[p] ** -2 for p in before}
            total = sum(inv.values())
            shares = {p: v / total for p, v in inv.items()}
        else:
            shares = {off: 1.0}
        bal = {"cost_usd": 0.0, "decode_tps": 0.0, "ttft_ms": 0.0, "success_prob": 0.0}
        for p, s in shares.items():
            q = at(p if self.available(p, m, b) else off)
            for k in bal:
                bal[k] += s * q[k]
        bal["provider"] = max(sorted(shares), key=lambda p: shares[p])  # the largest share (first by name on ties)
        out_["price_weighted_balance"] = bal
        # the list-price order re-decided every bucket: frozen_cheapest's rule with today's prices
        out_["cheapest_list_price"] = frozen(sorted(before, key=lambda p: (blended[p], p)))
        out_["frozen_cheapest"] = frozen(by_price)
        out_["frozen_fastest"] = frozen(by_speed)
        if out_["frozen_cheapest"]["provider"] != out_["cheapest_list_price"]["provider"]:
            self.seen["frozen and live price choices differ"] += 1
        return out_

    def run(self, requests: list[dict]) -> tuple[dict, pl.DataFrame]:
        decisions = {}
        sums = defaultdict(lambda: {"routed": 0.0, "excluded": 0.0, "imputed": 0.0, "base": 0.0, "value": 0.0})
        contract = {
            ("cost", "oracle"): ("cost_oracle", "cost_usd"),
            ("cost", "causal"): ("cheapest", "cost_usd"),
            ("throughput", "oracle"): ("throughput_oracle", "decode_tps"),
            ("throughput", "causal"): ("fastest", "decode_tps"),
            ("cost", "frozen"): ("frozen_cheapest", "cost_usd"),
            ("throughput", "frozen"): ("frozen_fastest", "decode_tps"),
        }
        for r in requests:
            if r["model"] not in self.routable:
                continue
            y, mo = r["ts"].year, r["ts"].month
            for part, w, cached, estimated in self.parts(r):
                d = self.decide(r, cached)
                decisions[(r["request_id"], part)] = {**d, "weight": w}
                for period, ptype in ((f"{y}Q{(mo - 1) // 3 + 1}", "quarter"), (f"{y}-{mo:02d}", "month")):
                    for (objective, policy), (col, field_) in contract.items():
                        s = sums[(period, ptype, r["model"], objective, policy)]
                        if d["official"] is None:
                            s["excluded"] += w
                            continue
                        s["routed"] += w
                        s["imputed"] += w * estimated
                        s["base"] += w * d["official"][field_]
                        s["value"] += w * d[col][field_]
        rows = []
        for (period, ptype, m, objective, policy), s in sums.items():
            if objective == "cost":
                base, value = s["base"], s["value"]
            else:  # weighted means over the same requests
                base, value = s["base"] / s["routed"], s["value"] / s["routed"]
            rows.append(
                {
                    "period": period,
                    "period_type": ptype,
                    "model": m,
                    "objective": objective,
                    "policy": policy,
                    "baseline_provider": self.official[m],
                    "requests_routed": s["routed"],
                    "requests_excluded": s["excluded"],
                    "requests_imputed": s["imputed"],
                    "baseline_value": base,
                    "routed_value": value,
                    "change_pct": 100 * (value / base - 1),
                }
            )
        return decisions, pl.DataFrame(rows)


# ---------------------------------------------------------------------------------------------
# running both, once per seed


def read_decisions(root: Path) -> pl.DataFrame:
    """marts.routing_decisions as the warehouse file defines it: the view over the staged requests,
    marts/routing_segments.parquet and the grouped decisions marts/routing_groups/ (tables and
    views of the same names there; tests/sql/test_routing_sql.py reads it the same way)."""
    con = connect()
    con.execute("create schema staging")
    con.execute("create schema marts")
    requests = lit(str(root / "staging" / "requests" / "**" / "*.parquet"))  # CREATE VIEW takes no parameters
    segments = lit(str(root / "marts" / "routing_segments.parquet"))
    groups = lit(str(root / "marts" / "routing_groups" / "**" / "*.parquet"))
    con.execute(f"create view staging.requests as select * from read_parquet({requests}, hive_partitioning = true)")
    con.execute(f"create view marts.routing_segments as select * from read_parquet({segments})")
    con.execute(f"create view marts.routing_groups as select * from read_parquet({groups}, hive_partitioning = true)")
    rates = lit(str(root / "marts" / "routing_cache_rates" / "**" / "*.parquet"))
    con.execute(
        f"create view marts.routing_cache_rates as select * from read_parquet({rates}, hive_partitioning = true)"
    )
    return con.execute(load_sql("views/routing_decisions")).pl()


_CACHE: dict[int, dict] = {}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    def get(seed: int) -> dict:
        if seed not in _CACHE:
            world = random_world(seed)
            root = stage(world, tmp_path_factory.mktemp(f"routing-ref-{seed}"))
            cf, _ = build_routing(root, params=PARAMS)
            ref = Reference(world)
            ref_decisions, ref_cf = ref.run(world["requests"])
            _CACHE[seed] = {
                "world": world,
                "cf": cf,
                "decisions": read_decisions(root),
                "ref_decisions": ref_decisions,
                "ref_cf": ref_cf,
                "seen": ref.seen,
            }
        return _CACHE[seed]

    yield get
    _CACHE.clear()


def close(a, b) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return a == pytest.approx(b, rel=REL, abs=1e-12)


def zero_billed(world: dict) -> set[str]:
    """Requests billed no tokens: every provider costs 0 (checked on their own below)."""
    return {r["request_id"] for r in world["requests"] if r["input_tokens"] == 0 and r["output_tokens"] == 0}


def mismatches(got: pl.DataFrame, ref: dict) -> list[tuple]:
    bad = []
    for r in got.iter_rows(named=True):
        ref_part = ref[(r["request_id"], r["cache_part"])]
        if not close(r["w"], ref_part["weight"]):
            bad.append((r["request_id"], r["policy"], "w", ref_part["weight"], r["w"]))
        want = ref_part[r["policy"]]
        if want is None:
            if not r["excluded"] or r["provider"] is not None:
                bad.append((r["request_id"], r["policy"], "excluded", True, (r["excluded"], r["provider"])))
            continue
        if r["excluded"]:
            bad.append((r["request_id"], r["policy"], "excluded", False, True))
            continue
        if r["provider"] != want["provider"]:
            bad.append((r["request_id"], r["policy"], "provider", want["provider"], r["provider"]))
        for col in ("cost_usd", "decode_tps", "success_prob", "ttft_ms"):
            if not close(r[col], want[col]):
                bad.append((r["request_id"], r["policy"], col, want[col], r[col]))
    return bad


def test_the_worlds_exercise_what_they_should(runs):
    seen = Counter()
    for seed in SEEDS:
        run = runs(seed)
        world, ref = run["world"], run["ref_decisions"]
        seen += run["seen"]
        routed = [d for d in ref.values() if d["official"] is not None]
        assert len(ref) > 200 and len(routed) > 100, seed
        assert {
            r["model"]
            for r in world["requests"]
            if (r["request_id"], "logged") not in ref
            and (r["request_id"], "miss") not in ref
            and (r["request_id"], "hit") not in ref
        } == {"m-solo"}  # not replayed
        assert any(d["official"] is None for d in ref.values()), seed  # exclusions
        for pol in (
            "cost_oracle",
            "cheapest",
            "fastest",
            "throughput_oracle",
            "lowest_p90_ttft",
            "frozen_cheapest",
            "frozen_fastest",
        ):
            assert any(d[pol]["provider"] != d["official"]["provider"] for d in routed), (seed, pol)
        seen["CNY provider cheapest"] += sum(d["cost_oracle"]["provider"] == "hanzo" for d in routed)
        first = min(r["ts"] for r in world["requests"])
        mid_snaps = {s["snapshot_ts"] for s in world["prices"] if s["snapshot_ts"] > first}
        assert {r["ts"] for r in world["requests"]} & mid_snaps, seed  # a request exactly at a price change
        assert {r["sample_rate"] for r in world["requests"]} == {1.0, 0.5, 0.1}
    for what in (
        "CNY provider cheapest",
        "estimated cache hits",
        "up on the evidence, down on the point rule",
        "down on the evidence",
        "buckets without a success",
        "tie",
        "tie at zero cost",
        "causal fallback",
        "causal: nothing available before",
        "an attempt may fail",
        "causal pick without probes in its own bucket",
        "first attempt without probes",
        "frozen orders",
        "frozen and live price choices differ",
        "billed failed attempts",
        "unbilled failed attempts",
        "failure billing: the provider's own share",
        "failure billing: the day's share",
    ):
        assert seen[what] > 0, what


@pytest.mark.parametrize("seed", SEEDS)
def test_counterfactual_changes_equal_the_true_ones(runs, seed):
    run = runs(seed)
    got, want = run["cf"], run["ref_cf"]
    key = ["period", "period_type", "model", "objective", "policy"]
    assert sorted(got.select(key).rows()) == sorted(want.select(key).rows())
    bad = []
    for r in want.join(got, on=key, suffix="_got").iter_rows(named=True):
        assert r["baseline_provider_got"] == r["baseline_provider"]
        for col in (
            "requests_routed",
            "requests_excluded",
            "requests_imputed",
            "baseline_value",
            "routed_value",
            "change_pct",
        ):
            if not close(r[f"{col}_got"], r[col]):
                bad.append((r["period"], r["model"], r["objective"], r["policy"], col, r[col], r[f"{col}_got"]))
    assert not bad, (
        f"seed {seed}: {len(bad)} mismatches (period, model, objective, policy, column, want, got): {bad[:8]}"
    )


@pytest.mark.parametrize(("seed", "policy"), [(s, p) for s in SEEDS for p in POLICIES])
def test_per_request_decisions_equal_the_reference(runs, seed, policy):
    run = runs(seed)
    ref, zero = run["ref_decisions"], zero_billed(run["world"])
    got = run["decisions"].filter(pl.col("policy") == policy)
    assert sorted(got.select("request_id", "cache_part").rows()) == sorted(ref)
    assert got["cache_part"].is_in(["hit", "miss"]).any()  # estimated cache hits are in the worlds
    bad = mismatches(got.filter(~pl.col("request_id").is_in(sorted(zero))), ref)
    assert not bad, f"seed {seed}, {policy}: {len(bad)} mismatches (request, policy, column, want, got): {bad[:8]}"


def test_requests_billed_nothing_go_to_the_first_provider_by_name(runs):
    bad = []
    for seed in SEEDS:
        run = runs(seed)
        zero = zero_billed(run["world"])
        assert zero
        bad += mismatches(run["decisions"].filter(pl.col("request_id").is_in(sorted(zero))), run["ref_decisions"])
    assert not bad, f"{len(bad)} mismatches (request, policy, column, want, got): {bad[:8]}"


# ---------------------------------------------------------------------------------------------
# hand-sized reproductions of what the random worlds found

DAY = dt.datetime(2025, 10, 1)


def tiny_world(spec: dict[str, dict], requests: list[tuple[str, int, int]]) -> dict:
    """One model m1 (official `off`) on 2025-10-01. spec: provider -> {in, out (USD/Mtok), tps, gap (hours
    without probes)}; probes every 6 minutes 00:00-03:59 (10 a bucket, 100 output tokens, TTFT 300 ms, all
    successful); requests (id, input, output) at 02:30, so the previous bucket is 01:00."""
    world = {
        "models": [
            {
                "model": "m1",
                "family": "f",
                "developer": "d",
                "release_date": dt.date(2025, 1, 1),
                "successor_of": None,
                "official_provider": "off",
            }
        ],
        "endpoints": [],
        "prices": [],
        "fx_rates": [],
        "latency_probes": [],
        "compat_probes": [],
        "requests": [],
    }
    for p, s in spec.items():
        world["endpoints"].append(
            {
                "provider": p,
                "model": "m1",
                "valid_from": DAY,
                "valid_to": None,
                "context_length": 100_000,
                "max_output_tokens": None,
                "quantization": "bf16",
                "supports_tools": True,
                "supports_json_mode": True,
                "supports_streaming": True,
                "supports_reasoning": False,
            }
        )
        world["prices"].append(
            {
                "snapshot_ts": DAY,
                "provider": p,
                "model": "m1",
                "input_per_mtok": s["in"],
                "output_per_mtok": s["out"],
                "cached_input_per_mtok": None,
                "currency": "USD",
            }
        )
        for i in range(40):
            t = DAY + dt.timedelta(minutes=6 * i)
            if t.hour not in s.get("gap", ()):
                world["latency_probes"].append(
                    {
                        "ts": t,
                        "provider": p,
                        "model": "m1",
                        "input_tokens": 1000,
                        "output_tokens": 100,
                        "ttft_ms": 300.0,
                        "latency_ms": 300.0 + 100 / s["tps"] * 1000,
                        "status": "ok",
                        "error_type": None,
                    }
                )
    for rid, inp, out in requests:
        world["requests"].append(
            {
                "request_id": rid,
                "ts": DAY + dt.timedelta(hours=2, minutes=30),
                "application": None,
                "client_id": None,
                "model": "m1",
                "provider": "off",
                "input_tokens": inp,
                "output_tokens": out,
                "cached_input_tokens": None,
                "status": "ok",
                "error_type": None,
                "http_status": None,
                "ttft_ms": None,
                "latency_ms": None,
                "stream": False,
                "tools": False,
                "json_mode": False,
                "sample_rate": 1.0,
            }
        )
    return world


@pytest.fixture(scope="module")
def gap_world(tmp_path_factory):
    # `cheap` is the cheapest and was up at 01:00, but sends no probes at 02:00: unavailable there
    world = tiny_world(
        {
            "off": {"in": 1.0, "out": 2.0, "tps": 50.0},
            "alt": {"in": 0.5, "out": 1.0, "tps": 100.0},
            "cheap": {"in": 0.25, "out": 0.5, "tps": 40.0, "gap": (2,)},
        },
        [("r1", 1000, 1000)],
    )
    root = stage(world, tmp_path_factory.mktemp("gap-world"))
    build_routing(root, params=PARAMS)
    return world, read_decisions(root)


# r1 (1,000 in + 1,000 out) costs 0.003 on off, 0.0015 on alt, 0.00075 on cheap
HAND = {
    # chosen at 01:00 by price, found without probes at 02:00, served by the official provider
    "cheapest": {"provider": "off", "cost_usd": 0.003, "decode_tps": 50.0},
    # blended prices 0.75 x in + 0.25 x out are 1.25, 0.625, 0.3125: weights price^-2 are 1 : 4 : 16
    # (off, alt, cheap); cheap's share falls back to off
    "price_weighted_balance": {
        "provider": "cheap",
        "cost_usd": (0.003 + 4 * 0.0015 + 16 * 0.003) / 21,
        "decode_tps": (50 + 4 * 100 + 16 * 50) / 21,
    },
    # attempt 1 (cheap) cannot succeed, attempt 2 (alt) always does
    "sort_price_with_retries": {
        "provider": "cheap",
        "cost_usd": 0.0015,
        "decode_tps": 100.0,
        "ttft_ms": 300.0,
        "success_prob": 1.0,
    },
}


def test_the_reference_agrees_with_the_hand_computation(gap_world):
    world, _ = gap_world
    got = Reference(world).decide(world["requests"][0], 0)  # no request reports cache hits: no hits
    for policy, want in HAND.items():
        for col, value in want.items():
            assert got[policy][col] == (value if col == "provider" else pytest.approx(value, rel=REL)), (policy, col)


@pytest.mark.parametrize("policy", ["cheapest", "price_weighted_balance"])
def test_hand_causal_choice_does_not_know_the_own_bucket(gap_world, policy):
    _, d = gap_world
    got = d.filter((pl.col("request_id") == "r1") & (pl.col("policy") == policy)).to_dicts()[0]
    # the pipeline gives cheapest: alt at 0.0015 and 100 tok/s; balance: 0.0018 (shares 1/5 off, 4/5 alt)
    assert {k: got[k] for k in HAND[policy]} == {
        k: v if k == "provider" else pytest.approx(v, rel=REL) for k, v in HAND[policy].items()
    }


def test_hand_retries_past_a_first_attempt_without_probes(gap_world):
    _, d = gap_world
    got = d.filter((pl.col("request_id") == "r1") & (pl.col("policy") == "sort_price_with_retries")).to_dicts()[0]
    want = HAND["sort_price_with_retries"]
    # the pipeline gives the right cost and success_prob but decode_tps and ttft_ms null
    assert {k: got[k] for k in want} == {
        k: v if k == "provider" else pytest.approx(v, rel=REL) for k, v in want.items()
    }


def test_hand_a_request_billed_nothing_goes_to_the_first_provider_by_name(tmp_path):
    # every provider costs 0 for r0: cost_oracle, cheapest and the first attempt tie, and `alt` comes first
    world = tiny_world(
        {
            "off": {"in": 1.0, "out": 2.0, "tps": 50.0},
            "alt": {"in": 0.5, "out": 1.0, "tps": 100.0},
            "zed": {"in": 0.25, "out": 0.5, "tps": 40.0},
        },
        [("r0", 0, 0)],
    )
    root = stage(world, tmp_path)
    build_routing(root, params=PARAMS)
    d = read_decisions(root)
    got = {r["policy"]: r["provider"] for r in d.iter_rows(named=True)}
    # the pipeline gave off, off and zed
    assert [got[p] for p in ("cost_oracle", "cheapest", "sort_price_with_retries")] == ["alt"] * 3


def test_hand_balance_weighs_by_the_price_not_by_the_requests_cost(tmp_path):
    # off lists 1 / 2 USD per Mtok, alt 0.5 / 4: at 3:1 the prices are 1.25 and 1.375 = 5/4 and
    # 11/8, so the weights price^-2 are 16/25 : 64/121 = 121 : 100 whatever the request. r1 (1,000
    # in, 10 out) costs 0.00102 on off and 0.00054 on alt: its own costs^-2 would favour alt
    # instead (the definition before issue 13)
    world = tiny_world(
        {"off": {"in": 1.0, "out": 2.0, "tps": 50.0}, "alt": {"in": 0.5, "out": 4.0, "tps": 100.0}}, [("r1", 1000, 10)]
    )
    want = {
        "provider": "off",
        "cost_usd": (121 * 0.00102 + 100 * 0.00054) / 221,
        "decode_tps": (121 * 50 + 100 * 100) / 221,
        "ttft_ms": 300.0,
        "success_prob": 1.0,
    }
    ref = Reference(world).decide(world["requests"][0], 0)["price_weighted_balance"]
    assert {k: ref[k] for k in want} == {
        k: v if k == "provider" else pytest.approx(v, rel=REL) for k, v in want.items()
    }
    root = stage(world, tmp_path)
    build_routing(root, params=PARAMS)
    got = read_decisions(root).filter(pl.col("policy") == "price_weighted_balance").to_dicts()
    assert len(got) == 1
    assert {k: got[0][k] for k in want} == {
        k: v if k == "provider" else pytest.approx(v, rel=REL) for k, v in want.items()
    }


def test_coarser_buckets_rolled_up_equal_a_replay_at_that_size(tmp_path):
    # marts.routing_sensitivity's coarser buckets come from the pass's request groups rolled up;
    # on a random world (every model a headline case) they must equal a replay at that size
    from pipeline.lib.routing.sensitivity import build_sensitivity

    world = random_world(1)
    root = stage(world, tmp_path / "w")
    models = tuple(sorted({m["model"] for m in world["models"]}))
    params = RoutingParams(n_boot=20, sensitivity_models=models)
    build_routing(root, params=params)
    sens = build_sensitivity(root, params)
    for minutes in (120, 240):
        direct, _ = build_routing(
            root, params=RoutingParams(n_boot=20, bucket_minutes=minutes), out_root=tmp_path / f"b{minutes}"
        )
        key = ["period_type", "period", "model", "objective", "policy"]
        got = sens.filter(pl.col("bucket_minutes") == minutes).select(direct.columns).sort(key)
        want = direct.sort(key)
        assert got.height == want.height > 0
        for col in (
            "requests_routed",
            "requests_excluded",
            "requests_imputed",
            "baseline_value",
            "routed_value",
            "change_pct",
            "ci_low",
            "ci_high",
        ):
            bad = [(a, b) for a, b in zip(got[col].to_list(), want[col].to_list(), strict=True) if not close(a, b)]
            assert not bad, (minutes, col, bad[:3])
