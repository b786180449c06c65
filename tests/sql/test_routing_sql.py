"""Counterfactual routing on hand-computable worlds (issue 5). Each world is staged from a raw
drop: one model m1 whose official provider is `off`, providers with known prices, throughput and
probe failures, probes every 6 minutes (10 per hour bucket) on 2025-10-01 00:00-03:59, and a few
requests in the 02:00 bucket (so the previous bucket, 01:00, is what causal policies see)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from pipeline.lib.contract import DATASETS
from pipeline.lib.duck import connect, lit
from pipeline.lib.ingest import stage_dataset
from pipeline.lib.routing import (
    POLICIES,
    RoutingParams,
    Scenario,
    build_counterfactual,
    build_routing,
    parse_scenario,
    read_partials,
)
from pipeline.sql import load_sql

DAY = dt.datetime(2025, 10, 1)
BASE = {
    "ctx": 100_000,
    "max_out": None,
    "tools": True,
    "json": True,
    "stream": True,
    "ttft": 300.0,
    "price_cached": None,
}


def _write(raw: Path, dataset: str, rows: list[dict]) -> None:
    (raw / dataset).mkdir(parents=True, exist_ok=True)
    pl.DataFrame(rows).write_csv(raw / dataset / f"{dataset}.csv")


def _iso(t: dt.datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def world(
    tmp: Path,
    providers: dict[str, dict],
    requests: list[dict],
    fails: dict | None = None,
    tps_at: dict | None = None,
    extra_prices: list[dict] | None = None,
) -> Path:
    """providers: name -> {price_in, price_out, tps, and BASE overrides}; fails: (provider, hour) ->
    (failed probes of 10, error_type); tps_at: (provider, hour) -> decode tok/s in that hour."""
    fails, tps_at = fails or {}, tps_at or {}
    raw, root = tmp / "raw", tmp / "wh"
    _write(
        raw,
        "models",
        [
            {
                "model": "m1",
                "family": "f",
                "developer": "d",
                "release_date": "2025-01-01",
                "successor_of": None,
                "official_provider": "off",
            }
        ],
    )
    spec = {p: {**BASE, **v} for p, v in providers.items()}
    _write(
        raw,
        "endpoints",
        [
            {
                "provider": p,
                "model": "m1",
                "valid_from": _iso(DAY),
                "valid_to": None,
                "context_length": s["ctx"],
                "max_output_tokens": s["max_out"],
                "quantization": "bf16",
                "supports_tools": s["tools"],
                "supports_json_mode": s["json"],
                "supports_streaming": s["stream"],
                "supports_reasoning": False,
            }
            for p, s in spec.items()
        ],
    )
    _write(
        raw,
        "prices",
        [
            {
                "snapshot_ts": _iso(DAY),
                "provider": p,
                "model": "m1",
                "input_per_mtok": s["price_in"],
                "output_per_mtok": s["price_out"],
                "cached_input_per_mtok": s["price_cached"],
                "currency": "USD",
            }
            for p, s in spec.items()
        ]
        + (extra_prices or []),
    )
    probes = []
    for p, s in spec.items():
        for hour in range(4):
            n_fail, etype = fails.get((p, hour), (0, None))
            tps = tps_at.get((p, hour), s["tps"])
            for i in range(10):
                ts = DAY + dt.timedelta(hours=hour, minutes=6 * i)
                ok = i >= n_fail
                probes.append(
                    {
                        "ts": _iso(ts),
                        "provider": p,
                        "model": "m1",
                        "input_tokens": 1000,
                        "output_tokens": 100 if ok else 0,
                        "ttft_ms": s["ttft"] if ok else None,
                        "latency_ms": s["ttft"] + 100 / tps * 1000 if ok else None,
                        "status": "ok" if ok else "error",
                        "error_type": None if ok else etype,
                    }
                )
    _write(raw, "latency_probes", probes)
    _write(
        raw,
        "requests",
        [
            {
                "request_id": r["id"],
                "ts": _iso(r.get("at", DAY + dt.timedelta(hours=2, minutes=30))),
                "model": "m1",
                "provider": r.get("provider", "off"),
                "input_tokens": r["input"],
                "output_tokens": r["output"],
                "status": "error" if r.get("error_type") else "ok",
                "error_type": r.get("error_type"),
                "stream": r.get("stream", False),
                "tools": r.get("tools", False),
                "json_mode": False,
                "sample_rate": r.get("sample_rate", 1.0),
                "cached_input_tokens": r.get("cached"),
                "application": r.get("app"),
            }
            for r in requests
        ],
    )
    for spec_ in DATASETS.values():
        assert stage_dataset(spec_, raw, root).rows_quarantined == 0, spec_.name
    return root


def decisions(root: Path) -> pl.DataFrame:
    """marts.routing_decisions as the warehouse file defines it: the view over the staged
    requests, marts/routing_segments.parquet and the grouped decisions marts/routing_groups/
    (tables and views of those names in the file, pipeline/lib/warehouse.py)."""
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


def pick(df: pl.DataFrame, request_id: str, policy: str) -> dict:
    rows = df.filter((pl.col("request_id") == request_id) & (pl.col("policy") == policy)).to_dicts()
    assert len(rows) == 1
    return rows[0]


def row(df: pl.DataFrame, **keys) -> dict:
    rows = df.filter(*[pl.col(k) == v for k, v in keys.items()]).to_dicts()
    assert len(rows) == 1, (keys, rows)
    return rows[0]


PARAMS = RoutingParams(n_boot=200)


def test_two_providers_give_the_exact_saving_with_sample_weights(tmp_path):
    # alt costs exactly half of off on both token kinds and decodes twice as fast
    root = world(
        tmp_path,
        {
            "off": {"price_in": 1.0, "price_out": 2.0, "tps": 50.0},
            "alt": {"price_in": 0.5, "price_out": 1.0, "tps": 100.0},
        },
        [{"id": "r1", "input": 1000, "output": 1000}, {"id": "r2", "input": 500, "output": 100, "sample_rate": 0.25}],
    )
    cf, policies = build_routing(root, params=PARAMS)
    q = cf.filter(pl.col("period") == "2025Q4")
    # baseline: r1 (1000 x 1 + 1000 x 2) / 1e6 = 0.003, r2 weighs 4 x (500 + 200) / 1e6 = 0.0028
    for policy in ("oracle", "causal"):
        cost = row(q, objective="cost", policy=policy)
        assert cost["baseline_value"] == pytest.approx(0.0058) and cost["routed_value"] == pytest.approx(0.0029)
        assert cost["change_pct"] == pytest.approx(-50.0) and cost["requests_routed"] == pytest.approx(5.0)
        assert cost["ci_low"] <= cost["change_pct"] <= cost["ci_high"]
        assert cost["baseline_provider"] == "off" and cost["requests_excluded"] == 0
        tps = row(q, objective="throughput", policy=policy)
        assert (tps["baseline_value"], tps["routed_value"], tps["change_pct"]) == (
            pytest.approx(50.0),
            pytest.approx(100.0),
            pytest.approx(100.0),
        )
        # one decode speed per side: the traffic's tokens per second equal the per-request means
        assert (tps["tokens_per_s_baseline"], tps["tokens_per_s_routed"], tps["tokens_per_s_change_pct"]) == (
            pytest.approx(50.0),
            pytest.approx(100.0),
            pytest.approx(100.0),
        )
        assert cost["tokens_per_s_change_pct"] is None
    # price-weighted balance: prices at 3:1 are 1.25 (off) and 0.625 (alt), weights price^-2 1 and
    # 4: shares 0.2 and 0.8, so the expected cost is 0.2 c + 0.8 c / 2 = 0.6 c and the throughput
    # 0.2 x 50 + 0.8 x 100 = 90
    balance = row(policies, period="2025Q4", policy="price_weighted_balance")
    assert balance["total_cost_usd"] == pytest.approx(0.6 * 0.0058) and balance["cost_change_pct"] == pytest.approx(
        -40.0
    )
    assert balance["mean_decode_tps"] == pytest.approx(90.0)
    assert row(policies, period="2025Q4", policy="official")["total_cost_usd"] == pytest.approx(0.0058)
    d = decisions(root)
    assert set(d["policy"]) == set(POLICIES) and d.height == 2 * len(POLICIES)
    assert pick(d, "r2", "cheapest")["provider"] == "alt" and pick(d, "r2", "cheapest")["cost_usd"] == pytest.approx(
        0.00035
    )


def test_a_provider_with_a_short_context_is_never_chosen_for_long_requests(tmp_path):
    root = world(
        tmp_path,
        {
            "off": {"price_in": 1.0, "price_out": 2.0, "tps": 50.0},
            "short": {"price_in": 0.1, "price_out": 0.1, "tps": 300.0, "ctx": 1000},
        },
        [{"id": "long", "input": 1000, "output": 1000}, {"id": "small", "input": 100, "output": 100}],
    )
    build_routing(root, params=PARAMS)
    d = decisions(root)
    # 2,000 tokens do not fit a 1,000-token context: every policy keeps `long` on off
    assert set(d.filter(pl.col("request_id") == "long")["provider"]) == {"off"}
    assert pick(d, "small", "cost_oracle")["provider"] == "short" and pick(d, "small", "fastest")["provider"] == "short"


def test_throughput_as_a_per_request_mean_and_as_the_traffic_total(tmp_path):
    # `long` fits only off (50 tok/s); `small` moves to short (300 tok/s). Per-request mean, the
    # contract's objective: (50 + 300) / 2 = 175 vs 50, +250 %. The traffic's total: 1,100 output
    # tokens over 1000/50 + 100/300 = 20.333 s = 54.098 tok/s vs 1100 / 22 = 50, +8.197 %
    root = world(
        tmp_path,
        {
            "off": {"price_in": 1.0, "price_out": 2.0, "tps": 50.0},
            "short": {"price_in": 0.1, "price_out": 0.1, "tps": 300.0, "ctx": 1000},
        },
        [{"id": "long", "input": 1000, "output": 1000}, {"id": "small", "input": 100, "output": 100}],
    )
    cf, _ = build_routing(root, params=PARAMS)
    tps = row(cf, period="2025Q4", objective="throughput", policy="oracle")
    assert (tps["baseline_value"], tps["routed_value"], tps["change_pct"]) == (
        pytest.approx(50.0),
        pytest.approx(175.0),
        pytest.approx(250.0),
    )
    total = 1100 / (1000 / 50 + 100 / 300)
    assert (tps["tokens_per_s_baseline"], tps["tokens_per_s_routed"]) == (pytest.approx(50.0), pytest.approx(total))
    assert tps["tokens_per_s_change_pct"] == pytest.approx(100 * (total / 50 - 1))


def test_a_request_the_official_provider_cannot_serve_is_excluded_from_both_sides(tmp_path):
    root = world(
        tmp_path,
        {
            "off": {"price_in": 1.0, "price_out": 2.0, "tps": 50.0, "max_out": 1500},
            "alt": {"price_in": 0.5, "price_out": 1.0, "tps": 100.0},
        },
        [{"id": "r1", "input": 1000, "output": 1000}, {"id": "big", "input": 100, "output": 2000, "sample_rate": 0.5}],
    )
    cf, policies = build_routing(root, params=PARAMS)
    cost = row(cf, period="2025Q4", objective="cost", policy="oracle")
    # `big` needs 2,000 output tokens, above off's 1,500 cap: out of both sides, counted with weight 2
    assert (cost["requests_routed"], cost["requests_excluded"]) == (pytest.approx(1.0), pytest.approx(2.0))
    assert (cost["baseline_value"], cost["routed_value"]) == (pytest.approx(0.003), pytest.approx(0.0015))
    assert row(policies, period="2025Q4", policy="fastest")["requests_excluded"] == pytest.approx(2.0)
    d = decisions(root).filter(pl.col("request_id") == "big")
    assert d.height == len(POLICIES) and d["excluded"].all() and d["provider"].is_null().all()


def test_causal_policies_never_read_their_own_bucket(tmp_path):
    providers = {
        "off": {"price_in": 1.0, "price_out": 2.0, "tps": 50.0},
        "alt": {"price_in": 1.0, "price_out": 2.0, "tps": 100.0},
    }
    requests = [{"id": "r1", "input": 1000, "output": 1000}]
    calm = world(tmp_path / "calm", providers, requests)
    # the same world with a slump of alt in the requests' own bucket only (02:00)
    slump = world(tmp_path / "slump", providers, requests, tps_at={("alt", 2): 10.0})
    build_routing(calm, params=PARAMS)
    build_routing(slump, params=PARAMS)
    a, b = decisions(calm), decisions(slump)
    # causal chose from 01:00, where alt was faster, in both worlds; scored with 02:00 as it happened
    assert pick(a, "r1", "fastest")["provider"] == pick(b, "r1", "fastest")["provider"] == "alt"
    assert pick(b, "r1", "fastest")["decode_tps"] == pytest.approx(10.0)
    # the oracle saw the slump and stayed with off
    assert (
        pick(a, "r1", "throughput_oracle")["provider"] == "alt"
        and pick(b, "r1", "throughput_oracle")["provider"] == "off"
    )
    # a failure spike in the own bucket: causal still picks alt, finds it down and falls back to off
    spike = world(tmp_path / "spike", providers, requests, fails={("alt", 2): (6, "server_error")})
    build_routing(spike, params=PARAMS)
    assert pick(decisions(spike), "r1", "fastest")["provider"] == "off"


def test_retries_raise_the_expected_success_by_the_amount_worked_out_by_hand(tmp_path):
    # in the 02:00 bucket: cheap succeeds 5/10, off 9/10, fast 8/10; by price: cheap, off, fast
    root = world(
        tmp_path,
        {
            "off": {"price_in": 1.0, "price_out": 2.0, "tps": 50.0},
            "cheap": {"price_in": 0.5, "price_out": 1.0, "tps": 40.0},
            "fast": {"price_in": 2.0, "price_out": 4.0, "tps": 200.0},
        },
        [{"id": "r1", "input": 1000, "output": 1000}],
        fails={("cheap", 2): (5, "server_error"), ("off", 2): (1, "timeout"), ("fast", 2): (2, "rate_limit")},
    )
    build_routing(root, params=PARAMS)
    got = pick(decisions(root), "r1", "sort_price_with_retries")
    # P(served by attempt k): 0.5; 0.5 x 0.9 = 0.45; 0.5 x 0.1 x 0.8 = 0.04 -> success 0.99, up 0.49
    # from the first attempt's 0.5; failed attempts are not billed
    assert got["provider"] == "cheap"
    assert got["success_prob"] == pytest.approx(0.99) and got["success_prob"] - 0.5 == pytest.approx(0.49)
    assert got["cost_usd"] == pytest.approx(0.5 * 0.0015 + 0.45 * 0.003 + 0.04 * 0.006)
    assert got["decode_tps"] == pytest.approx((0.5 * 40 + 0.45 * 50 + 0.04 * 200) / 0.99)


def test_retries_pay_for_the_failed_attempts_the_providers_logs_bill(tmp_path):
    # the world above, plus failures logged at 01:00: cheap's carry billed input tokens, off's
    # none, fast has none logged (so the day's share, 2 billed of 4, stands for it)
    failed = [
        {
            "id": f"f{p}{i}",
            "input": 500 if p == "cheap" else 0,
            "output": 0,
            "provider": p,
            "error_type": "server_error",
            "at": DAY + dt.timedelta(hours=1, minutes=10 * i),
        }
        for p in ("cheap", "off")
        for i in range(2)
    ]
    root = world(
        tmp_path,
        {
            "off": {"price_in": 1.0, "price_out": 2.0, "tps": 50.0},
            "cheap": {"price_in": 0.5, "price_out": 1.0, "tps": 40.0},
            "fast": {"price_in": 2.0, "price_out": 4.0, "tps": 200.0},
        },
        [{"id": "r1", "input": 1000, "output": 1000}, *failed],
        fails={("cheap", 2): (5, "server_error"), ("off", 2): (1, "timeout"), ("fast", 2): (2, "rate_limit")},
    )
    build_routing(root, params=RoutingParams(n_boot=200, failure_min_reporting=2))
    got = pick(decisions(root), "r1", "sort_price_with_retries")
    served = 0.5 * 0.0015 + 0.45 * 0.003 + 0.04 * 0.006
    # attempt k is made and fails with 0.5 (cheap); 0.5 x 0.1 (off); 0.5 x 0.1 x 0.2 (fast), and is
    # billed 1,000 input tokens at its input price with its provider's billed share: 1, 0, 0.5
    failed_billed = 0.5 * 1.0 * 1000 * 0.5e-6 + 0.05 * 0.0 * 1000 * 1e-6 + 0.01 * 0.5 * 1000 * 2e-6
    assert got["cost_usd"] == pytest.approx(served + failed_billed)
    assert got["success_prob"] == pytest.approx(0.99)
    # the same world with too few logged failures to read a share from bills no failed attempt
    build_routing(root, params=RoutingParams(n_boot=200, failure_min_reporting=5))
    assert pick(decisions(root), "r1", "sort_price_with_retries")["cost_usd"] == pytest.approx(served)


def test_what_if_scenarios(tmp_path):
    providers = {
        "off": {"price_in": 1.0, "price_out": 2.0, "tps": 50.0},
        "alt": {"price_in": 0.5, "price_out": 1.0, "tps": 100.0},
    }
    later = [
        {
            "snapshot_ts": "2025-10-01T03:00:00Z",
            "provider": "alt",
            "model": "m1",
            "input_per_mtok": 0.25,
            "output_per_mtok": 0.5,
            "cached_input_per_mtok": None,
            "currency": "USD",
        }
    ]
    # one rate-limited probe of 10 in 02:00: under the point rule alt stays available (0.9) unless
    # rate limits double (0.8)
    root = world(
        tmp_path,
        providers,
        [{"id": "r1", "input": 1000, "output": 1000}],
        fails={("alt", 2): (1, "rate_limit")},
        extra_prices=later,
    )
    point_rule = RoutingParams(n_boot=200, availability_confidence=0)

    def change(scenario: Scenario) -> float:
        cf, _ = build_routing(root, scenario, point_rule, out_root=tmp_path / scenario.name.replace(":", "_"))
        return row(cf, period="2025Q4", objective="cost", policy="oracle")["change_pct"]

    assert change(Scenario()) == pytest.approx(-50.0)
    assert change(parse_scenario("provider_down:alt:2025-10-01:2025-10-02")) == pytest.approx(0.0)
    assert change(parse_scenario("rate_limits_x2")) == pytest.approx(0.0)
    # re-costed at the prices in force at 03:00: alt 0.25 / 0.5, off unchanged
    assert change(parse_scenario("prices_asof:2025-10-01T03:00:00")) == pytest.approx(-75.0)


def test_availability_needs_evidence_of_an_outage(tmp_path):
    # alt is half off's price; in the requests' bucket (02:00) alt fails k of its 10 probes. The
    # point rule calls it down at 8 of 10 and at 6 of 10 (both under 0.9); the evidence rule only
    # when Wilson's one-sided 95 % upper bound (the upper end of scipy's 90 % two-sided interval)
    # is below 0.9: up at 8 of 10, down at 6 of 10
    from scipy.stats import binomtest

    providers = {
        "off": {"price_in": 1.0, "price_out": 2.0, "tps": 50.0},
        "alt": {"price_in": 0.5, "price_out": 1.0, "tps": 100.0},
    }
    for k, up in ((2, True), (4, False)):
        assert (binomtest(10 - k, 10).proportion_ci(confidence_level=0.9, method="wilson").high >= 0.9) == up
        root = world(
            tmp_path / f"k{k}",
            providers,
            [{"id": "r1", "input": 1000, "output": 1000}],
            fails={("alt", 2): (k, "server_error")},
        )
        cf, _ = build_routing(root, params=PARAMS)
        assert row(cf, period="2025Q4", objective="cost", policy="oracle")["change_pct"] == pytest.approx(
            -50.0 if up else 0.0
        ), k
        cf, _ = build_routing(
            root, params=RoutingParams(n_boot=200, availability_confidence=0), out_root=tmp_path / f"k{k}-point"
        )
        assert row(cf, period="2025Q4", objective="cost", policy="oracle")["change_pct"] == pytest.approx(0.0), (
            k
        )  # 0.8, 0.6 < 0.9


def test_sensitivity_to_the_rule_the_threshold_and_the_bucket(tmp_path):
    # alt (half price) fails 2 of its 10 probes at 02:00 and 02:06; the request is at 02:30.
    # 60-min bucket: success 0.8, Wilson one-sided 95 % upper bound 0.931: the evidence rule keeps
    # alt up at thresholds 0.8 and 0.9, not 0.95; the point rule keeps it up at 0.8 only. 120-min bucket
    # (02:00-04:00): 18 of 20, upper bound 0.966, up; 240-min bucket (00:00-04:00): 38 of 40, up.
    from pipeline.lib.routing.sensitivity import build_sensitivity

    providers = {
        "off": {"price_in": 1.0, "price_out": 2.0, "tps": 50.0},
        "alt": {"price_in": 0.5, "price_out": 1.0, "tps": 100.0},
    }
    root = world(
        tmp_path, providers, [{"id": "r1", "input": 1000, "output": 1000}], fails={("alt", 2): (2, "server_error")}
    )
    params = RoutingParams(n_boot=50, sensitivity_models=("m1",))
    build_routing(root, params=params)
    got = build_sensitivity(root, params).filter(
        (pl.col("period") == "2025Q4") & (pl.col("objective") == "cost") & (pl.col("policy") == "oracle")
    )
    table = {
        (r["bucket_minutes"], r["availability_confidence"], r["min_success"]): (r["change_pct"], r["is_run_setting"])
        for r in got.iter_rows(named=True)
    }
    up, down = pytest.approx(-50.0), pytest.approx(0.0)
    assert table == {
        (60, 0.95, 0.8): (up, False),
        (60, 0.95, 0.9): (up, True),
        (60, 0.95, 0.95): (down, False),
        (60, 0.0, 0.8): (up, False),
        (60, 0.0, 0.9): (down, False),
        (60, 0.0, 0.95): (down, False),
        (120, 0.95, 0.9): (up, False),
        (240, 0.95, 0.9): (up, False),
    }
    # the run's own setting repeats marts.routing_counterfactual
    assert row(build_counterfactual(root, ("cost",), params), period="2025Q4", policy="oracle")["change_pct"] == up
    # a rolled-up bucket equals a replay at that bucket size, every figure of the row
    for minutes in (120, 240):
        direct, _ = build_routing(
            root, params=RoutingParams(n_boot=50, bucket_minutes=minutes), out_root=tmp_path / f"b{minutes}"
        )
        want = direct.filter(pl.col("period") == "2025Q4").sort("objective", "policy")
        got = (
            build_sensitivity(root, params)
            .filter((pl.col("period") == "2025Q4") & (pl.col("bucket_minutes") == minutes))
            .sort("objective", "policy")
        )
        assert got.select(want.columns).equals(want), minutes


def test_cache_hits_a_log_does_not_show_are_estimated(tmp_path):
    # off bills cached input at 0.1 (input 1.0); alt does not bill cache hits (input 0.5 for every
    # input token). r1 reports 600 of 1,000 input tokens cached; r2 (chat) and r3 (rag) report
    # nothing. Estimated: r2 from chat's share that day (600 / 1000), r3 from the model's (no rag
    # request reports): 600 cached each. On off a request then costs (400 x 1.0 + 600 x 0.1) / 1e6
    # = 460e-6, on alt 1000 x 0.5 / 1e6 = 500e-6: off stays cheapest for all three, no saving.
    # Costed as 0 hits (the method before; below, with too little evidence to estimate), r2 and
    # r3 cost 1000e-6 on off and move to alt: a saving of 1 - (460 + 500 + 500) / (460 + 1000 + 1000)
    # = 40.7 %.
    providers = {
        "off": {"price_in": 1.0, "price_out": 2.0, "tps": 50.0, "price_cached": 0.1},
        "alt": {"price_in": 0.5, "price_out": 1.0, "tps": 100.0},
    }
    requests = [
        {"id": "r1", "input": 1000, "output": 0, "cached": 600, "app": "chat"},
        {"id": "r2", "input": 1000, "output": 0, "app": "chat"},
        {"id": "r3", "input": 1000, "output": 0, "app": "rag"},
    ]
    root = world(tmp_path, providers, requests)
    params = RoutingParams(n_boot=50, cache_min_reporting=1)
    cf, _ = build_routing(root, params=params)
    cost = row(cf, period="2025Q4", objective="cost", policy="oracle")
    assert (cost["baseline_value"], cost["routed_value"], cost["change_pct"]) == (
        pytest.approx(3 * 460e-6),
        pytest.approx(3 * 460e-6),
        pytest.approx(0.0),
    )
    assert (cost["requests_routed"], cost["requests_imputed"]) == (pytest.approx(3.0), pytest.approx(2.0))
    rates = pl.read_parquet(root / "marts" / "routing_cache_rates" / "**" / "*.parquet").sort("application")
    assert rates.select("application", "cached_share", "basis").rows() == [
        ("chat", 0.6, "model_application"),
        ("rag", 0.6, "model"),
    ]
    # the per-request view imputes the same way: r2 on off at 460e-6
    assert pick(decisions(root), "r2", "official")["cost_usd"] == pytest.approx(460e-6)
    # with too few reporting requests for any cell (10 by default), no hits are assumed
    cf, _ = build_routing(root, params=RoutingParams(n_boot=50), out_root=tmp_path / "strict")
    strict = row(cf, period="2025Q4", objective="cost", policy="oracle")
    assert strict["change_pct"] == pytest.approx(100 * ((460 + 500 + 500) / (460 + 1000 + 1000) - 1))


def test_a_request_without_a_cached_count_is_a_hit_or_a_miss(tmp_path):
    # off bills cached input at 0.1 (input 1.0); alt does not bill cache hits (input 0.5). Of the
    # chat requests that report, r1 hit 600 of 1,000 tokens and r1b missed: hit_share 0.5,
    # hit_cached_share 0.6. r2 (chat, 1,000 in, nothing reported) is half a hit, 600 cached: 460e-6
    # on off, 500e-6 on alt, so off; half a miss: 1000e-6 on off, 500e-6 on alt, so alt.
    # Oracle cost: r1 460 (off), r1b 500 (alt), r2 0.5 x 460 + 0.5 x 500 = 480; baseline (off):
    # 460 + 1000 + 0.5 x 460 + 0.5 x 1000 = 2190 (1e-6 USD). Costed at the mean share (300 cached:
    # 730 on off, so alt for all of r2), the change would be (460 + 500 + 500) / 2190 - 1.
    providers = {
        "off": {"price_in": 1.0, "price_out": 2.0, "tps": 50.0, "price_cached": 0.1},
        "alt": {"price_in": 0.5, "price_out": 1.0, "tps": 100.0},
    }
    requests = [
        {"id": "r1", "input": 1000, "output": 0, "cached": 600, "app": "chat"},
        {"id": "r1b", "input": 1000, "output": 0, "cached": 0, "app": "chat"},
        {"id": "r2", "input": 1000, "output": 0, "app": "chat"},
    ]
    root = world(tmp_path, providers, requests)
    params = RoutingParams(n_boot=50, cache_min_reporting=1)
    cf, _ = build_routing(root, params=params)
    cost = row(cf, period="2025Q4", objective="cost", policy="oracle")
    assert (cost["baseline_value"], cost["routed_value"]) == (pytest.approx(2190e-6), pytest.approx(1440e-6))
    assert cost["change_pct"] == pytest.approx(100 * (1440 / 2190 - 1))
    assert (cost["requests_routed"], cost["requests_imputed"]) == (pytest.approx(3.0), pytest.approx(1.0))
    rates = pl.read_parquet(root / "marts" / "routing_cache_rates" / "**" / "*.parquet")
    assert rates.select("application", "hit_share", "hit_cached_share", "cached_share").rows() == [
        ("chat", 0.5, 0.6, 0.3)
    ]
    # the view: r2 is two rows per policy, weights 0.5 and 0.5
    d = decisions(root).filter((pl.col("request_id") == "r2") & (pl.col("policy") == "cost_oracle")).sort("cache_part")
    assert d.select("cache_part", "w", "provider").rows() == [("hit", 0.5, "off"), ("miss", 0.5, "alt")]
    assert d["cost_usd"].to_list() == [pytest.approx(460e-6), pytest.approx(500e-6)]
    # what the unknown hit adds: w^2 pi (1 - pi) = 0.25 times the products of the differences
    # hit - miss, routed d_r = 460e-6 - 500e-6 and baseline d_b = 460e-6 - 1000e-6
    day = (
        read_partials(root, "daily")
        .filter((pl.col("objective") == "cost") & (pl.col("policy") == "oracle"))
        .to_dicts()[0]
    )
    d_r, d_b = -40e-6, -540e-6
    assert day["imputed_var_routed"] == pytest.approx(0.25 * d_r * d_r)
    assert day["imputed_cov"] == pytest.approx(0.25 * d_r * d_b)
    assert day["imputed_var_base"] == pytest.approx(0.25 * d_b * d_b)
    # throughput: both parts of r2 have the same candidates, the same choice: nothing added
    tput = (
        read_partials(root, "daily")
        .filter((pl.col("objective") == "throughput") & (pl.col("policy") == "oracle"))
        .to_dicts()[0]
    )
    assert (tput["imputed_var_routed"], tput["imputed_var_base"], tput["imputed_var_routed_s"]) == (0.0, 0.0, 0.0)


def test_the_variance_of_estimated_hits_widens_the_interval():
    # delta method for num / den: (var_num - 2 rho cov + rho^2 var_den) / den^2, rho = num / den
    from pipeline.lib.routing import imputation_var
    from pipeline.lib.stats import ratio_of_means_ci

    g = pl.DataFrame({"a": [1.0, 3.0], "b": [0.5, 0.5], "c": [2.0, None]})
    assert imputation_var(g, ("a", "b", "c"), 2.0, 4.0) == pytest.approx((4.0 - 2 * 0.5 * 1.0 + 0.25 * 2.0) / 16.0)
    # all days alike: the bootstrap alone gives no width; the added variance gives the normal one
    num, den = [0.8] * 30, [1.0] * 30
    assert ratio_of_means_ci(num, den, n_boot=200)[1:] == (pytest.approx(0.8), pytest.approx(0.8))
    _, lo, hi = ratio_of_means_ci(num, den, n_boot=20_000, extra_var=0.01)
    assert (lo, hi) == (pytest.approx(0.8 - 1.96 * 0.1, abs=0.005), pytest.approx(0.8 + 1.96 * 0.1, abs=0.005))


def test_the_price_in_force_at_a_snapshot_boundary(tmp_path):
    # alt's price halves at exactly 02:30:00, the moment r_at starts: the new price applies to it
    cut = [
        {
            "snapshot_ts": "2025-10-01T02:30:00Z",
            "provider": "alt",
            "model": "m1",
            "input_per_mtok": 0.25,
            "output_per_mtok": 0.5,
            "cached_input_per_mtok": None,
            "currency": "USD",
        }
    ]
    root = world(
        tmp_path,
        {
            "off": {"price_in": 1.0, "price_out": 2.0, "tps": 50.0},
            "alt": {"price_in": 0.5, "price_out": 1.0, "tps": 100.0},
        },
        [
            {"id": "r_at", "input": 1000, "output": 1000, "at": DAY + dt.timedelta(hours=2, minutes=30)},
            {
                "id": "r_before",
                "input": 1000,
                "output": 1000,
                "at": DAY + dt.timedelta(hours=2, minutes=29, seconds=59),
            },
        ],
        extra_prices=cut,
    )
    build_routing(root, params=PARAMS)
    d = decisions(root)
    assert pick(d, "r_at", "cost_oracle")["cost_usd"] == pytest.approx(0.00075)
    assert pick(d, "r_before", "cost_oracle")["cost_usd"] == pytest.approx(0.0015)


def test_scenario_parsing():
    assert parse_scenario(None) == Scenario()
    down = parse_scenario("provider_down:together:2025-11-01:2025-11-08")
    assert (down.down_provider, down.down_start, down.down_end) == (
        "together",
        dt.datetime(2025, 11, 1),
        dt.datetime(2025, 11, 8),
    )
    assert parse_scenario("rate_limits_x3").rate_limit_factor == 3.0
    with pytest.raises(ValueError, match="unknown scenario"):
        parse_scenario("provider_down:x")


def test_every_policy_has_its_columns_in_the_groups_and_its_rows_in_the_view():
    groups = load_sql("core/core_routing__groups")
    assert [p for p in POLICIES if f" as {p}_provider" in groups and f" as {p}_cost_usd" in groups] == list(POLICIES)
    for unpivot in ("views/routing_decisions", "core/core_routing__policy_daily"):
        assert [p for p in POLICIES if f"'policy': '{p}'" in load_sql(unpivot)] == list(POLICIES), unpivot


def test_the_interval_does_not_depend_on_the_order_the_day_sums_arrive_in():
    """Batches hand their day sums over in no fixed order; with the same seed the bootstrap
    must resample the same days, so a shuffled frame gives the identical interval."""
    import numpy as np

    from pipeline.lib.routing import DAILY_SCHEMA, RoutingParams, counterfactual

    rng = np.random.default_rng(3)
    days = [dt.date(2025, 10, 1) + dt.timedelta(days=i) for i in range(30)]
    daily = pl.DataFrame(
        {
            "date": days,
            "month": [d.strftime("%Y-%m") for d in days],
            "quarter": ["2025Q4"] * 30,
            "model": ["m"] * 30,
            "objective": ["cost"] * 30,
            "policy": ["cost_oracle"] * 30,
            "baseline_provider": ["off"] * 30,
            "routed": [1.0] * 30,
            "excluded": [0.0] * 30,
            "imputed": [0.0] * 30,
            "routed_sum": rng.uniform(1, 2, 30),
            "base_sum": rng.uniform(2, 3, 30),
            "output_tokens": [None] * 30,
            "routed_decode_s": [None] * 30,
            "base_decode_s": [None] * 30,
            "imputed_var_routed": [0.0] * 30,
            "imputed_cov": [0.0] * 30,
            "imputed_var_base": [0.0] * 30,
            "imputed_var_routed_s": [None] * 30,
            "imputed_cov_s": [None] * 30,
            "imputed_var_base_s": [None] * 30,
        },
        schema=DAILY_SCHEMA,
    )
    params = RoutingParams(n_boot=200)
    a = counterfactual(daily, params)
    b = counterfactual(daily.sample(fraction=1.0, shuffle=True, seed=1), params)
    assert a.select("ci_low", "ci_high").rows() == b.select("ci_low", "ci_high").rows()
