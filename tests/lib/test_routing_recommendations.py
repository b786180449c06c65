"""marts.routing_recommendations (pipeline/lib/marts/routing_recommendations.py): the greedy order
and its replay on rows worked out by hand, the intervals against the repo's bootstrap, and on a
generated world with planted task-dependent best providers (pipeline/lib/generate/best.py)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest

from pipeline.lib.marts.provider_capacity import provider_capacity
from pipeline.lib.marts.routing_recommendations import (
    RecommendParams,
    application_regimes,
    capacity_reasons,
    default_windows,
    ratio_cis,
    routing_recommendations,
)
from pipeline.lib.stats import ratio_of_means_ci

D1, D2 = dt.date(2025, 10, 1), dt.date(2025, 10, 2)  # training days
D3 = dt.date(2025, 10, 3)  # test day
WINDOWS = (D1, D2, D3, D3)
PROVIDERS = ["a", "b", "off"]  # bits 1, 2, 4


def _row(day, app, *, mask=7, prev=7, own=7, tokens=(1_000_000.0, 0.0, 0.0), w=1.0, tools=0.0, tps=(10.0, 20.0, 5.0)):
    """One application_daily row of a segment whose candidates a, b, off cost (USD per Mtok of
    uncached input) 1, 2 and 4; tokens (uncached, cached, output) at those prices."""
    prices = [1.0, 2.0, 4.0]
    unc, cached, out = tokens
    cost = [p * unc / 1e6 for p in prices]
    return {
        "date": day,
        "model": "m",
        "application": app,
        "seg_start": dt.datetime(2025, 9, 1),
        "providers": PROVIDERS,
        "official_idx": 3,
        "mask": mask,
        "own_ok_bits": own & mask,
        "prev_ok_bits": prev & mask,
        "tps_bits": mask,
        "excluded": not (own & mask & 4),
        "w_requests": w,
        "w_tool_requests": tools,
        "w_uncached_tokens": unc,
        "w_cached_tokens": cached,
        "w_output_tokens": out,
        "input_price": prices,
        "cached_price": prices,
        "output_price": prices,
        "w_tps": [w * t for t in tps],
        "official_cost_usd": cost[2],
        "official_w_tps": w * tps[2],
        # the cheapest fitting one available in the own bucket
        "cost_oracle_cost_usd": min(c for i, c in enumerate(cost) if (mask & own) >> i & 1),
        "throughput_oracle_w_tps": w * max(t for i, t in enumerate(tps) if (mask & own) >> i & 1),
    }


def _checks(**bad) -> pl.DataFrame:
    rows = []
    for p, q in (("a", "fp8"), ("b", "fp8"), ("off", "fp8")):
        rows.append(
            {
                "model": "m",
                "provider": p,
                "official_provider": "off",
                "quantization": bad.get(f"{p}_quant", q),
                "official_quantization": "fp8",
                "probes": 100,
                "probe_success_rate": bad.get(f"{p}_success", 0.99),
                "ttft_p90_ms": bad.get(f"{p}_ttft", 500.0),
                "input_usd_per_mtok": {"a": 1.0, "b": 2.0, "off": 4.0}[p],
                "output_usd_per_mtok": {"a": 3.0, "b": 1.0, "off": 4.0}[p],
            }
        )
    return pl.DataFrame(rows)


def _run(rows, checks=None, failing=frozenset(), regimes=None, capacity=None, **params):
    return routing_recommendations(
        pl.DataFrame(rows),
        _checks() if checks is None else checks,
        set(failing),
        regimes or {},
        WINDOWS,
        RecommendParams(n_boot=200, **params),
        capacity,
    )


def _one(df, segment="chat", objective="cost"):
    return df.filter((pl.col("segment") == segment) & (pl.col("objective") == objective)).row(0, named=True)


class TestGreedyOrder:
    def test_the_cheapest_first_then_what_it_cannot_take(self):
        # chat: 1 Mtok a day; a fits only the first request of each day (mask a|b|off = 7), the
        # second fits b and off (6). Cost: a 1 < b 2 < off 4 USD per Mtok.
        rows = []
        for d in (D1, D2, D3):
            rows += [_row(d, "chat"), _row(d, "chat", mask=6)]
        r = _one(_run(rows))
        assert r["providers"] == ["a", "b", "off"]
        # each day: a takes the first (1 USD), b the second (2 USD), official 4 + 4 USD
        assert r["predicted_change_pct"] == pytest.approx(100 * (3 / 8 - 1))
        assert r["realised_change_pct"] == pytest.approx(100 * (3 / 8 - 1))
        assert r["oracle_change_pct"] == pytest.approx(100 * (3 / 8 - 1))
        assert r["requests_train"] == 4.0 and r["requests_test"] == 2.0
        assert r["requests_covered_share"] == 1.0
        # the highest prices among the listed providers (checks: a 1/3, b 2/1, off 4/4)
        assert (r["max_input_price_usd_per_mtok"], r["max_output_price_usd_per_mtok"]) == (4.0, 4.0)

    def test_a_provider_down_in_the_previous_bucket_passes_to_the_next(self):
        # a was down in the previous bucket on the test day: b serves, at 2 instead of 1
        rows = [_row(D1, "chat"), _row(D2, "chat"), _row(D3, "chat", prev=6)]
        r = _one(_run(rows))
        assert r["providers"] == ["a", "b", "off"]
        assert r["predicted_change_pct"] == pytest.approx(-75.0)
        assert r["realised_change_pct"] == pytest.approx(-50.0)
        assert r["oracle_change_pct"] == pytest.approx(-75.0)  # the oracle reads the own bucket

    def test_a_pick_down_in_its_own_bucket_falls_back_to_the_official(self):
        rows = [_row(D1, "chat"), _row(D2, "chat"), _row(D3, "chat", own=6)]
        r = _one(_run(rows))
        assert r["realised_change_pct"] == pytest.approx(0.0)  # a chosen, down: the official serves

    def test_throughput_orders_by_speed(self):
        rows = [_row(d, "chat") for d in (D1, D2, D3)]
        r = _one(_run(rows), objective="throughput")
        assert r["providers"] == ["b", "a", "off"]  # 20 and 10 tok/s against the official's 5
        assert r["realised_change_pct"] == pytest.approx(300.0)

    def test_segments_learn_their_own_orders(self):
        # long: its requests fit only b and off (a's context is too short)
        rows = []
        for d in (D1, D2, D3):
            rows += [_row(d, "chat"), _row(d, "long", mask=6, tokens=(4_000_000.0, 0.0, 0.0))]
        df = _run(rows, regimes={"chat": "balanced", "long": "long-context"})
        # b adds nothing in training (a takes every chat request) but beats the official: a fallback
        assert _one(df, "chat")["providers"] == ["a", "b", "off"]
        assert _one(df, "long")["providers"] == ["b", "off"]
        assert _one(df, "long-context")["segment_kind"] == "token_regime"
        assert _one(df, "long-context")["providers"] == ["b", "off"]
        whole = _one(df, "(all)")
        assert whole["segment_kind"] == "model" and whole["providers"] == ["a", "b", "off"]
        # all traffic, a day: chat 1 USD at a, long 8 USD at b, against 4 + 16 at the official
        assert whole["realised_change_pct"] == pytest.approx(100 * (9 / 20 - 1))


class TestConstraints:
    def test_each_constraint_excludes_with_its_reason(self):
        rows = [_row(d, "chat", tools=1.0) for d in (D1, D2, D3)]
        df = _run(rows, checks=_checks(a_ttft=2500.0, b_success=0.9))
        r = _one(df)
        assert r["providers"] == ["off"]
        assert r["predicted_change_pct"] == 0.0
        assert r["providers_excluded"] == ["a: TTFT p90 2500 ms > 2000 ms", "b: probe success 0.900 < 0.95"]
        assert r["max_ttft_p90_ms"] == 2000.0 and r["min_probe_success"] == 0.95

    def test_the_tool_call_floor_binds_only_segments_with_tool_traffic(self):
        rows = []
        for d in (D1, D2, D3):
            rows += [_row(d, "chat", tools=1.0), _row(d, "code")]
        df = _run(rows, failing={("m", "a")})
        assert _one(df, "chat")["providers"] == ["b", "off"]
        assert _one(df, "chat")["tool_call_floor"] is True
        assert _one(df, "chat")["providers_excluded"] == ["a: tool-call verdict fail"]
        assert _one(df, "code")["providers"] == ["a", "b", "off"]
        assert _one(df, "code")["tool_call_floor"] is False

    def test_quantization_below_the_officials_class(self):
        rows = [_row(d, "chat") for d in (D1, D2, D3)]
        df = _run(rows, checks=_checks(a_quant="fp4", b_quant="int8"))  # int8 is fp8's class
        r = _one(df)
        assert r["providers"] == ["b", "off"]
        assert r["quantization_floor"] == "8-bit (fp8)"
        assert r["providers_excluded"] == ["a: quantization fp4 below the official's fp8"]
        assert _one(_run(rows, checks=_checks(a_quant="fp4"), quantization_floor=False))["providers"][0] == "a"

    def test_a_provider_refusing_more_when_busier_is_not_listed(self):
        # training hours of a and off: 100..2,400 requests; a refuses 1 in 2,000 per request it
        # serves in the hour (share = v / 2,000: slope 0.5 per 1,000), off the same, b a flat 1 %
        hourly = pl.DataFrame(
            [
                {
                    "hour": dt.datetime.combine(d, dt.time(h)),
                    "date": d,
                    "provider": p,
                    "model": "m",
                    "requests": float(v),
                    "client_errors": 0.0,
                    "rate_limits": v * v / 2000 if p != "b" else v * 0.01,
                    "rate_limits_billed": 0.0,
                }
                for d in (D1, D2)
                for h in range(24)
                for p in ("a", "b", "off")
                for v in [100 * (h + 1)]
            ]
        )
        reasons = capacity_reasons(provider_capacity(hourly, n_boot=200))
        assert set(reasons) == {("m", "a"), ("m", "off")}
        assert reasons[("m", "a")].startswith("capacity-limited: rate limits +0.5 per 1,000 requests an hour")
        rows = [_row(d, "chat") for d in (D1, D2, D3)]
        r = _one(_run(rows, capacity=reasons))
        # a is out; the official API stays (its refusals are retried there)
        assert r["providers"] == ["b", "off"] and r["capacity_floor"] is True
        assert r["providers_excluded"] == [f"a: {reasons[('m', 'a')]}"]
        assert r["predicted_change_pct"] == pytest.approx(-50.0)  # b at 2 against off at 4
        assert _one(_run(rows, capacity=reasons, capacity_floor=False))["providers"] == ["a", "b", "off"]

    def test_no_cap(self):
        rows = [_row(d, "chat") for d in (D1, D2, D3)]
        assert _one(_run(rows, checks=_checks(a_ttft=9e9), max_ttft_p90_ms=None))["providers"][0] == "a"


class TestIntervals:
    def test_the_bootstrap_is_the_repos_paired_day_bootstrap(self):
        rng = np.random.default_rng(5)
        num, den = rng.uniform(1, 2, 30), rng.uniform(2, 3, 30)
        ((point, lo, hi),) = ratio_cis([(num, den)], n_boot=500, seed=0)
        want = ratio_of_means_ci(num, den, n_boot=500, seed=0)
        assert (point, lo, hi) == pytest.approx(want, rel=1e-12)

    def test_a_constant_ratio_has_a_point_prediction_interval(self):
        num = np.arange(1.0, 11.0) * 0.8
        ((point, lo, hi),) = ratio_cis([(num, np.arange(1.0, 11.0))], n_boot=300, seed=0, horizon=31)
        assert (point, lo, hi) == pytest.approx((0.8, 0.8, 0.8))

    def test_a_test_length_window_varies_more_than_the_training_mean(self):
        # iid day ratios: the prediction interval for a 5-day window is wider than the interval
        # of the 60-day mean
        rng = np.random.default_rng(1)
        den = np.full(60, 100.0)
        num = den * rng.normal(0.5, 0.1, 60)
        ((_, lo, hi),) = ratio_cis([(num, den)], n_boot=4000, seed=0)
        ((_, plo, phi),) = ratio_cis([(num, den)], n_boot=4000, seed=0, horizon=5)
        assert phi - plo > 2 * (hi - lo)
        # the days' sd s: a 5-day window's mean varies by s^2 / 5, the training mean by s^2 / 60
        s = float(np.std(num / den))
        assert hi - lo == pytest.approx(2 * 1.96 * s / np.sqrt(60), rel=0.1)
        assert phi - plo == pytest.approx(2 * 1.96 * s * np.sqrt(1 / 5 + 1 / 60), rel=0.1)


def test_regimes_by_the_task_regimes_rule():
    tokens = pl.DataFrame(
        {
            "application": ["chat", "chat", "chat", "long", "long", "gen", "gen"],
            "side": ["input", "input", "output", "input", "output", "input", "output"],
            "tokens": [100, 300, 50, 20_000, 100, 100, 500],
            "weight": [2.0, 1.0, 3.0, 1.0, 1.0, 1.0, 1.0],
        }
    )
    # chat: median input 100, output share 150 / (500 + 150) = 0.23 -> balanced
    assert application_regimes(tokens) == {"chat": "balanced", "long": "long-context", "gen": "generation-heavy"}


def test_default_windows():
    days = [dt.date(2025, 10, 1), dt.date(2025, 12, 31)]
    assert default_windows(days) == (
        dt.date(2025, 10, 1),
        dt.date(2025, 11, 30),
        dt.date(2025, 12, 1),
        dt.date(2025, 12, 31),
    )


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    """A 40,000-request quarter with the planted best providers and nothing else moving, staged,
    replayed (qwen3-32b only) and summarised as the run would (about 15 s)."""
    from pipeline.lib.contract import DATASETS
    from pipeline.lib.demand import build_tokens_daily
    from pipeline.lib.generate import generate_drop
    from pipeline.lib.ingest import stage_dataset
    from pipeline.lib.routing import RoutingParams, replay_days
    from pipeline.lib.routing.marts import build_recommendations
    from pipeline.lib.service import build_requests_hourly, build_service_objects

    base = tmp_path_factory.mktemp("planted")
    raw, root = base / "raw", base / "wh"
    manifest = generate_drop(
        raw, n_requests=40_000, seed=3, bad_row_fraction=0, shifts="none", best_providers="planted"
    )
    for name in ("models", "endpoints", "fx_rates", "prices", "requests", "latency_probes"):
        stage_dataset(DATASETS[name], raw, root)
    replay_days(root, params=RoutingParams(models=("qwen3-32b",)))
    build_requests_hourly(root)
    build_service_objects(root)
    build_tokens_daily(root)
    return manifest, build_recommendations(root)


def test_the_planted_best_provider_is_recommended_first(planted):
    manifest, rec = planted
    assert len(manifest["planted_best_providers"]) == 4
    for p in manifest["planted_best_providers"]:
        r = rec.filter(
            (pl.col("model") == p["model"])
            & (pl.col("segment_kind") == p["segment_kind"])
            & (pl.col("segment") == p["segment"])
            & (pl.col("objective") == p["objective"])
        ).row(0, named=True)
        assert r["providers"][0] == p["provider"], (p, r["providers"])
        # and what it saved in the test month lies in the interval the training months predicted
        assert r["predicted_change_pct_ci_low"] <= r["realised_change_pct"] <= r["predicted_change_pct_ci_high"], r
        assert r["realised_change_pct"] < -50  # the planted providers undercut the official API by far


def test_a_world_without_the_plant_says_so():
    from pipeline.lib.generate.best import planted_best_providers

    assert {p["provider"] for p in planted_best_providers()} == {"novita", "deepinfra"}
