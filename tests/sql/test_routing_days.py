"""Routing at scale (issue 13, item 3): grouped replay, per-day partials, the on-demand view.

Hand-sized worlds (one model m1, official provider `off`, probes every 6 minutes, all successful
unless said otherwise) check what the grouping must do: requests with the same slot, fit mask and
cost order share a group whose weighted sums are worked out by hand; a request whose token mix
reverses the cost order does not. A random three-day world checks the per-day
partials: replaying one day again, replaying it alone, or replaying the days one pass each gives
the marts of a full replay bit for bit, and a day's causal policies at midnight read the day
before's probes (not its requests). The per-request decisions are not written by default; the
warehouse file's view marts.routing_decisions computes them from the staged requests and the
grouped decisions, and `simulate` replays one model without writing anything.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from pipeline.lib.contract import DATASETS
from pipeline.lib.ingest import stage_dataset
from pipeline.lib.routing import (
    POLICIES,
    RoutingParams,
    build_counterfactual,
    build_policies,
    build_routing,
    partial_dir,
    read_partials,
    replace_dir,
    replay_days,
    simulate,
)
from pipeline.lib.warehouse import write_warehouse_file
from pipeline.paths import marts_file

PARAMS = RoutingParams(n_boot=50)
DAY = dt.datetime(2025, 10, 1)


def _iso(t: dt.datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def stage(
    tmp: Path,
    providers: dict[str, dict],
    requests: list[dict],
    days: int = 1,
    fails: dict | None = None,
    models: tuple[str, ...] = ("m1",),
) -> Path:
    """A drop staged under tmp/wh. providers: name -> {in, out (USD/Mtok), tps, ctx}; probes every 6
    minutes over `days` days from 2025-10-01 (TTFT 300 ms), failing when fails[(provider, day,
    hour)] says so; requests: {id, at, input, output, [cached, sample_rate, model, tools]}."""
    fails = fails or {}
    raw, root = tmp / "raw", tmp / "wh"
    tables = {
        "models": [
            {
                "model": m,
                "family": "f",
                "developer": "d",
                "release_date": "2025-01-01",
                "successor_of": None,
                "official_provider": "off",
            }
            for m in models
        ],
        "endpoints": [
            {
                "provider": p,
                "model": m,
                "valid_from": _iso(DAY - dt.timedelta(days=1)),
                "valid_to": None,
                "context_length": s.get("ctx", 100_000),
                "max_output_tokens": None,
                "quantization": "bf16",
                "supports_tools": s.get("tools", True),
                "supports_json_mode": True,
                "supports_streaming": True,
                "supports_reasoning": False,
            }
            for m in models
            for p, s in providers.items()
        ],
        "prices": [
            {
                "snapshot_ts": _iso(DAY - dt.timedelta(days=1)),
                "provider": p,
                "model": m,
                "input_per_mtok": s["in"],
                "output_per_mtok": s["out"],
                "cached_input_per_mtok": s.get("cached"),
                "currency": "USD",
            }
            for m in models
            for p, s in providers.items()
        ],
        "latency_probes": [
            {
                "ts": _iso(t),
                "provider": p,
                "model": m,
                "input_tokens": 1000,
                "output_tokens": 0 if failed else 100,
                "ttft_ms": None if failed else 300.0,
                "latency_ms": None if failed else 300.0 + 100 / s["tps"] * 1000,
                "status": "error" if failed else "ok",
                "error_type": "server_error" if failed else None,
            }
            for m in models
            for p, s in providers.items()
            for t in (DAY + dt.timedelta(minutes=6 * i) for i in range(240 * days))
            for failed in [fails.get((p, (t - DAY).days, t.hour), False)]
        ],
        "requests": [
            {
                "request_id": r["id"],
                "ts": _iso(r["at"]),
                "model": r.get("model", "m1"),
                "provider": "off",
                "input_tokens": r["input"],
                "output_tokens": r["output"],
                "cached_input_tokens": r.get("cached"),
                "status": "ok",
                "error_type": None,
                "stream": False,
                "tools": r.get("tools", False),
                "json_mode": False,
                "sample_rate": r.get("sample_rate", 1.0),
            }
            for r in requests
        ],
    }
    for name, rows in tables.items():
        (raw / name).mkdir(parents=True, exist_ok=True)
        pl.DataFrame(rows, infer_schema_length=None).write_csv(raw / name / f"{name}.csv")
    for spec in DATASETS.values():
        assert stage_dataset(spec, raw, root).rows_quarantined == 0, spec.name
    return root


def groups(root: Path) -> pl.DataFrame:
    return read_partials(root, "groups")


def view(root: Path, where: str = "") -> pl.DataFrame:
    """marts.routing_decisions from a real warehouse file, as pipeline/lib/warehouse.py writes it."""
    db = root.parent / f"wh-{root.name}.duckdb"
    db.unlink(missing_ok=True)
    write_warehouse_file(root, db, scratch=root.parent / "scratch")
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(f"select * from marts.routing_decisions {where} order by request_id, policy").pl()
    finally:
        con.close()


def one(df: pl.DataFrame, **keys) -> dict:
    rows = df.filter(*[pl.col(k) == v for k, v in keys.items()]).to_dicts()
    assert len(rows) == 1, (keys, rows)
    return rows[0]


# ---------------------------------------------------------------------------------- grouping

AT = DAY + dt.timedelta(hours=10, minutes=30)
# off lists 1 / 2 USD per Mtok, alt 0.5 / 4: alt is cheaper for prompt-heavy requests, off for
# generation-heavy ones (they cost the same at 1 output token per 4 input tokens)
CROSSING = {"off": {"in": 1.0, "out": 2.0, "tps": 50.0}, "alt": {"in": 0.5, "out": 4.0, "tps": 100.0}}


@pytest.fixture(scope="module")
def crossing(tmp_path_factory) -> Path:
    root = stage(
        tmp_path_factory.mktemp("crossing"),
        CROSSING,
        [
            {"id": "r1", "at": AT, "input": 1000, "output": 10},  # off 0.00102, alt 0.00054
            {"id": "r2", "at": AT + dt.timedelta(minutes=5), "input": 2000, "output": 20},  # off 0.00204, alt 0.00108
            {"id": "r3", "at": AT, "input": 10, "output": 1000},  # off 0.00201, alt 0.004005
            {"id": "r4", "at": AT, "input": 1000, "output": 10, "sample_rate": 0.5},
            {"id": "r5", "at": AT, "input": 400, "output": 100},  # a tie: 0.0006 on both, alt first by name
        ],
    )
    build_routing(root, params=PARAMS)
    return root


def test_requests_with_the_same_slot_mask_and_order_share_one_group(crossing):
    g = groups(crossing)
    # r1, r2, r4 and r5 (alt first: cheaper, or tied and first by name) are one group whatever their
    # sample rates; r3 (off cheaper) is its own; nothing else
    assert sorted(g["requests"].to_list()) == [1, 4]
    both = one(g, requests=4)
    # weighted: r4 counts twice (sample rate 0.5)
    assert (both["w_requests"], both["w_uncached_tokens"], both["w_output_tokens"]) == (5.0, 5400.0, 150.0)
    assert both["cost_oracle_provider"] == "alt" and both["cheapest_provider"] == "alt"
    # the group's cost is the sum of its requests' costs: 0.5 x 5,400 + 4 x 150 = 3,300 USD per 1e6
    # on alt, 5,400 + 2 x 150 = 5,700 on off
    assert both["cost_oracle_cost_usd"] == pytest.approx(0.0033) and both["official_cost_usd"] == pytest.approx(0.0057)
    reversed_ = one(g, requests=1)
    assert reversed_["cost_oracle_provider"] == "off" and reversed_["cost_oracle_cost_usd"] == pytest.approx(0.00201)
    # retries try alt first for the big group (it never fails here): alt's prices and throughput
    assert both["sort_price_with_retries_provider"] == "alt" and both[
        "sort_price_with_retries_decode_tps"
    ] == pytest.approx(100.0)


def test_the_tie_goes_to_the_provider_first_by_name(crossing):
    # r5 costs 400 x 1 + 100 x 2 = 600 on off and 400 x 0.5 + 100 x 4 = 600 on alt
    tie = one(view(crossing, "where request_id = 'r5'"), policy="cost_oracle")
    assert tie["provider"] == "alt" and tie["cost_usd"] == pytest.approx(0.0006)


def test_the_marts_sum_the_groups(crossing):
    cf = build_counterfactual(crossing, ("cost",), PARAMS)
    oracle = one(cf, period="2025Q4", policy="oracle")
    # baseline: r1 0.00102 + r2 0.00204 + r3 0.00201 + r4 2 x 0.00102 + r5 0.0006; routed: alt for
    # r1, r2, r4 (weight 2), r5, off for r3
    assert oracle["baseline_value"] == pytest.approx(0.00102 + 0.00204 + 0.00201 + 0.00204 + 0.0006)
    assert oracle["routed_value"] == pytest.approx(0.00054 + 0.00108 + 0.00201 + 0.00108 + 0.0006)
    assert oracle["requests_routed"] == pytest.approx(6.0)
    policies = pl.read_parquet(marts_file(crossing, "routing_policies"))
    assert one(policies, period="2025Q4", policy="official")["total_cost_usd"] == pytest.approx(
        oracle["baseline_value"]
    )


def test_the_view_places_each_request_in_its_group(crossing):
    d = view(crossing)
    assert d.height == 5 * len(POLICIES) and set(d["policy"]) == set(POLICIES)
    # each request's own cost, from the group's prices and its own tokens
    assert one(d, request_id="r2", policy="cost_oracle")["cost_usd"] == pytest.approx(0.00108)
    assert one(d, request_id="r1", policy="cost_oracle")["cost_usd"] == pytest.approx(0.00054)
    assert one(d, request_id="r3", policy="cheapest")["provider"] == "off"
    assert one(d, request_id="r4", policy="official")["w"] == 2.0
    # balance: prices at 3:1 are 1.25 (off) and 1.375 (alt): shares 121 : 100 for every request
    r3 = one(d, request_id="r3", policy="price_weighted_balance")
    assert r3["provider"] == "off" and r3["cost_usd"] == pytest.approx((121 * 0.00201 + 100 * 0.004005) / 221)
    # a filter on one request reads only that request
    assert view(crossing, "where request_id = 'r3'")["request_id"].to_list() == ["r3"] * len(POLICIES)


def test_decisions_are_written_only_when_asked(crossing, tmp_path):
    assert not partial_dir(crossing, "decisions").exists()
    out = tmp_path / "with-decisions"
    replay_days(crossing, None, params=PARAMS, out_root=out, write_decisions=True)
    written = pl.read_parquet(partial_dir(out, "decisions") / "**" / "*.parquet", hive_partitioning=True)
    assert written.height == 5 * len(POLICIES)
    want = view(crossing).drop("date").sort("request_id", "policy")
    assert_frame_equal(written.drop("date").sort("request_id", "policy").select(want.columns), want)
    # a replay without the flag removes them: the warehouse view is the one source again
    replay_days(crossing, None, params=PARAMS, out_root=out)
    assert not partial_dir(out, "decisions").exists()


def test_a_request_that_fits_only_some_providers_is_grouped_by_its_mask(tmp_path):
    # short lists a 1,500-token context and no tool calling: r_long (2,000 tokens) and r_tools fit
    # only off (bit 1: candidates are numbered by name, off before short), r_small fits both (mask
    # 3). All three cost less on short, so r_long and r_tools share a group whatever kept them off it
    root = stage(
        tmp_path,
        {
            "off": {"in": 1.0, "out": 2.0, "tps": 50.0},
            "short": {"in": 0.1, "out": 0.1, "tps": 300.0, "ctx": 1500, "tools": False},
        },
        [
            {"id": "r_long", "at": AT, "input": 1000, "output": 1000},
            {"id": "r_small", "at": AT, "input": 100, "output": 100},
            {"id": "r_tools", "at": AT, "input": 100, "output": 100, "tools": True},
        ],
    )
    build_routing(root, params=PARAMS)
    g = groups(root).sort("mask")
    assert (g["mask"].to_list(), g["requests"].to_list()) == ([1, 3], [2, 1])
    d = view(root)
    for rid in ("r_long", "r_tools"):
        assert set(d.filter(pl.col("request_id") == rid)["provider"]) == {"off"}
    assert one(d, request_id="r_small", policy="cost_oracle")["provider"] == "short"
    assert one(d, request_id="r_tools", policy="cost_oracle")["cost_usd"] == pytest.approx(0.0003)


# ---------------------------------------------------------------------------------- days


def random_world(tmp: Path, seed: int = 7, days: int = 3) -> Path:
    """Two models, four providers with crossing prices (one with a cached-input price), probes with
    random failures, a few hundred requests over `days` days with sample rates whose weights are
    not exact in binary (1 / 0.3), some right after midnight."""
    rng = np.random.default_rng(seed)
    providers = {
        "off": {"in": 1.0, "out": 2.0, "tps": 50.0},
        "alt": {"in": 0.5, "out": 4.0, "tps": 100.0},
        "bolt": {"in": 0.7, "out": 2.5, "tps": 80.0, "cached": 0.1},
        "cove": {"in": 1.5, "out": 1.0, "tps": 40.0, "ctx": 8000},
    }
    fails = {
        (p, d, h): True for p in providers for d in range(days) for h in range(24) if p != "off" and rng.random() < 0.15
    }
    requests = []
    for i in range(400):
        day = int(rng.integers(0, days))
        at = DAY + dt.timedelta(days=day, seconds=int(rng.integers(0, 3600 if i % 5 == 0 else 86400)))
        inp, out = int(np.exp(rng.normal(6.5, 1.5))) + 1, int(np.exp(rng.normal(5, 1.5)))
        requests.append(
            {
                "id": f"q{i:03d}",
                "at": at,
                "input": inp,
                "output": out,
                "model": str(rng.choice(["m1", "m2"])),
                "cached": int(rng.integers(0, inp)) if rng.random() < 0.3 else None,
                "sample_rate": float(rng.choice([1.0, 0.3, 0.1])),
                "tools": bool(rng.random() < 0.2),
            }
        )
    return stage(tmp, providers, requests, days=days, fails=fails, models=("m1", "m2"))


def marts(root: Path) -> tuple[pl.DataFrame, pl.DataFrame]:
    return pl.read_parquet(marts_file(root, "routing_counterfactual")), pl.read_parquet(
        marts_file(root, "routing_policies")
    )


@pytest.fixture(scope="module")
def three_days(tmp_path_factory) -> Path:
    root = random_world(tmp_path_factory.mktemp("three-days"))
    build_routing(root, params=PARAMS)
    return root


def test_each_day_has_its_folder_of_partials(three_days):
    for name in ("daily", "policy_daily", "groups"):
        assert sorted(p.name for p in partial_dir(three_days, name).iterdir()) == [
            "date=2025-10-01",
            "date=2025-10-02",
            "date=2025-10-03",
        ], name


def test_replaying_one_day_again_gives_the_same_marts_bit_for_bit(three_days):
    before = marts(three_days)
    untouched = {p: p.stat().st_ino for p in partial_dir(three_days, "groups").glob("date=2025-10-0[13]/*.parquet")}
    replaced = [p.stat().st_ino for p in partial_dir(three_days, "groups").glob("date=2025-10-02/*.parquet")]
    build_routing(three_days, params=PARAMS, days=[dt.date(2025, 10, 2)])
    for a, b in zip(before, marts(three_days), strict=False):
        assert_frame_equal(a, b, check_exact=True)
    # only the day replayed was rewritten
    assert {p: p.stat().st_ino for p in untouched} == untouched
    assert [p.stat().st_ino for p in partial_dir(three_days, "groups").glob("date=2025-10-02/*.parquet")] != replaced


def in_order(df: pl.DataFrame) -> pl.DataFrame:
    """Rows in a fixed order (a partial's row order carries no meaning)."""
    keys = [c for c in df.columns if df[c].dtype != pl.List(pl.Int64)]
    return df.with_columns(pl.col(pl.List(pl.Int64)).cast(pl.List(pl.String)).list.join(",")).sort(
        keys, nulls_last=True
    )


def test_a_day_replayed_alone_has_the_partials_of_the_full_replay(three_days, tmp_path):
    alone = tmp_path / "alone"
    replay_days(three_days, [dt.date(2025, 10, 3)], params=PARAMS, out_root=alone)
    for name in ("daily", "policy_daily", "groups"):
        want = read_partials(three_days, name).filter(pl.col("date") == dt.date(2025, 10, 3))
        assert_frame_equal(in_order(read_partials(alone, name)), in_order(want), check_exact=True)


def test_one_pass_per_day_gives_the_same_marts(three_days, tmp_path):
    build_routing(three_days, params=RoutingParams(n_boot=50, chunk_rows=1), out_root=tmp_path / "passes")
    for a, b in zip(marts(three_days), marts(tmp_path / "passes"), strict=False):
        assert_frame_equal(a, b, check_exact=True)


def test_a_day_no_longer_staged_loses_its_partials(three_days, tmp_path):
    out = tmp_path / "stale"
    replay_days(three_days, None, params=PARAMS, out_root=out)
    (partial_dir(out, "daily") / "date=2025-09-30").mkdir()  # a day of an older drop
    replay_days(three_days, None, params=PARAMS, out_root=out)
    assert not (partial_dir(out, "daily") / "date=2025-09-30").exists()


def test_the_view_over_many_days_matches_the_groups(three_days):
    d = view(three_days)
    g = groups(three_days)
    # every request of the two models, eight policies each; weights and costs add up to the groups'
    assert d.height == 400 * len(POLICIES)
    cost = d.filter(pl.col("policy") == "cheapest")["cost_usd"].drop_nulls()
    weights = d.filter(pl.col("policy") == "cheapest").filter(pl.col("cost_usd").is_not_null())["w"]
    assert float((cost * weights).sum()) == pytest.approx(float(g["cheapest_cost_usd"].sum()), rel=1e-12)


def test_midnight_reads_the_previous_days_probes_not_its_requests(tmp_path):
    # alt is cheaper and faster; the only request starts at 00:30 on 2025-10-02 and day 1 has no
    # request at all. Its previous bucket (23:00 on 2025-10-01) lies in day 1: replaying day 2 alone,
    # the causal policies still see alt available there and pick it (with no probes before, they
    # would fall back to off)
    root = stage(
        tmp_path,
        {"off": {"in": 1.0, "out": 2.0, "tps": 50.0}, "alt": {"in": 0.5, "out": 1.0, "tps": 100.0}},
        [{"id": "night", "at": DAY + dt.timedelta(days=1, minutes=30), "input": 1000, "output": 1000}],
        days=2,
    )
    out = tmp_path / "day2"
    replay_days(root, [dt.date(2025, 10, 2)], params=PARAMS, out_root=out)
    g = read_partials(out, "groups")
    assert (g["cheapest_provider"].to_list(), g["fastest_provider"].to_list()) == (["alt"], ["alt"])
    # and without a successful probe of alt at 23:00, cheapest falls back to what was up then: off
    down = stage(
        tmp_path / "down",
        {"off": {"in": 1.0, "out": 2.0, "tps": 50.0}, "alt": {"in": 0.5, "out": 1.0, "tps": 100.0}},
        [{"id": "night", "at": DAY + dt.timedelta(days=1, minutes=30), "input": 1000, "output": 1000}],
        days=2,
        fails={("alt", 0, 23): True},
    )
    replay_days(down, [dt.date(2025, 10, 2)], params=PARAMS, out_root=tmp_path / "down-out")
    assert read_partials(tmp_path / "down-out", "groups")["cheapest_provider"].to_list() == ["off"]


def assert_the_full_replays(root: Path, cf: pl.DataFrame, policies: pl.DataFrame) -> None:
    """simulate's m2 under cheapest (cf, policies) is the full replay's: its rows of
    marts.routing_policies and its causal cost counterfactual, exactly."""
    full = pl.read_parquet(marts_file(root, "routing_policies")).filter(pl.col("model") == "m2")
    assert_frame_equal(policies.sort("period", "policy"), full.sort("period", "policy"), check_exact=True)
    want = build_counterfactual(root, ("cost",), PARAMS, ("causal",)).filter(pl.col("model") == "m2")
    assert_frame_equal(cf.sort("period"), want.sort("period"), check_exact=True)


def test_simulate_replays_one_model_without_writing(three_days, tmp_path):
    assert_the_full_replays(three_days, *simulate(three_days, "m2", "cheapest", params=PARAMS))
    # --out: the decisions and the marts of the one model
    cf_out, _ = simulate(three_days, "m2", "fastest", params=PARAMS, out_dir=tmp_path / "out")
    decided = pl.read_parquet(partial_dir(tmp_path / "out", "decisions") / "**" / "*.parquet", hive_partitioning=True)
    assert set(decided["model"]) == {"m2"} and set(cf_out["objective"]) == {"throughput"}
    assert build_policies(tmp_path / "out")["model"].unique().to_list() == ["m2"]


def test_a_folder_is_replaced_whole(tmp_path):
    target, new = tmp_path / "date=2025-10-01", tmp_path / ".new"
    target.mkdir()
    (target / "old.parquet").write_text("old")
    new.mkdir()
    (new / "new.parquet").write_text("new")
    replace_dir(new, target)
    assert [p.name for p in target.iterdir()] == ["new.parquet"] and not new.exists()
    assert [p.name for p in tmp_path.iterdir()] == ["date=2025-10-01"]
    replace_dir(None, target)
    assert not any(tmp_path.iterdir())


def test_extreme_values_go_through_as_nulls_never_inf(tmp_path):
    # a price of 1e308 USD/Mtok and 2^62 tokens: costs past the float range are null in every
    # published figure (README, "Extreme values"), and nothing fails on the way
    root = stage(
        tmp_path,
        {"off": {"in": 1e308, "out": 1e308, "tps": 50.0}, "alt": {"in": 5e-324, "out": 1.0, "tps": 100.0}},
        [
            {"id": "huge", "at": AT, "input": 2**62, "output": 1, "sample_rate": 1.0},
            {"id": "tiny", "at": AT, "input": 1, "output": 1, "sample_rate": 1e-99},
        ],
    )
    cf, policies = build_routing(root, params=PARAMS)
    for df in (cf, policies):
        for c, dtype in df.schema.items():
            if dtype == pl.Float64:
                assert df[c].drop_nulls().is_finite().all(), c
    d = view(root)
    assert d["cost_usd"].drop_nulls().is_finite().all()
    assert one(d, request_id="huge", policy="official")["cost_usd"] is None


def test_buckets_that_straddle_midnight_read_both_days_probes(tmp_path):
    # 100-minute buckets (aligned as DuckDB's time_bucket aligns them): 23:00-00:40 spans two days.
    # alt fails every probe from 00:00 on day 2 (7 of the 17 probes of that bucket: success 0.59),
    # so only a replay that reads both days' probes sees alt unavailable there, for the request at
    # 23:40 on day 1 and the one at 00:20 on day 2 alike; replaying each day alone must give the
    # full replay's partials
    params = RoutingParams(n_boot=20, bucket_minutes=100)
    root = stage(
        tmp_path,
        CROSSING,
        [
            {"id": "late", "at": DAY + dt.timedelta(hours=23, minutes=40), "input": 1000, "output": 10},
            {"id": "early", "at": DAY + dt.timedelta(days=1, minutes=20), "input": 1000, "output": 10},
        ],
        days=2,
        fails={("alt", 1, 0): True},
    )
    replay_days(root, None, params=params)
    g = groups(root)
    assert g["cost_oracle_provider"].to_list() == ["off", "off"]  # alt unavailable in the shared bucket
    for day in (dt.date(2025, 10, 1), dt.date(2025, 10, 2)):
        alone = tmp_path / f"alone-{day}"
        replay_days(root, [day], params=params, out_root=alone)
        for name in ("daily", "policy_daily", "groups"):
            want = read_partials(root, name).filter(pl.col("date") == day)
            assert_frame_equal(in_order(read_partials(alone, name)), in_order(want), check_exact=True)


def test_simulate_reads_the_cache_rates_the_warehouse_publishes(three_days, tmp_path, monkeypatch):
    # a day's cache rates read every model's requests of that day (most of a one-model replay's
    # time at 10M): simulate reads the ones the run published, and only when they are the run's
    # for every day at the same cell threshold and estimator code; the figures are those of the
    # full replay
    import shutil

    from pipeline.lib.marts.run_parameters import build_run_parameters
    from pipeline.lib.parquet_io import frame_to_parquet
    from pipeline.lib.routing import cache_rates, replay

    root = tmp_path / "wh"
    shutil.copytree(three_days, root)
    days = [dt.date(2025, 10, d) for d in (1, 2, 3)]
    assert cache_rates.published_files(root, days, PARAMS) is None  # no run_parameters: not a run's record
    frame_to_parquet(build_run_parameters(root), marts_file(root, "run_parameters"))
    assert len(cache_rates.published_files(root, days, PARAMS)) == 3
    assert cache_rates.published_files(root, days, RoutingParams(n_boot=50, cache_min_reporting=5)) is None
    # rates estimated by other code (a warehouse built before an upgrade): estimated again
    recorded = pl.read_parquet(marts_file(root, "run_parameters"))
    frame_to_parquet(
        recorded.with_columns(
            value=pl.when(pl.col("name") == "routing_cache_rates_code").then(pl.lit("older")).otherwise("value")
        ),
        marts_file(root, "run_parameters"),
    )
    assert cache_rates.published_files(root, days, PARAMS) is None
    frame_to_parquet(recorded, marts_file(root, "run_parameters"))

    computed = replay.make_table

    def no_cache_rates(con, name, sql, values=None):
        assert name != "cache_rates", "the published cache rates were computed again"
        computed(con, name, sql, values)

    monkeypatch.setattr(replay, "make_table", no_cache_rates)
    assert_the_full_replays(root, *simulate(root, "m2", "cheapest", params=PARAMS))
    # with --out too (the replay that writes the decisions)
    assert_the_full_replays(root, *simulate(root, "m2", "cheapest", params=PARAMS, out_dir=tmp_path / "out"))

    # a day missing from the published rates: all are computed from the requests
    shutil.rmtree(partial_dir(root, "cache_rates") / "date=2025-10-02")
    assert cache_rates.published_files(root, days, PARAMS) is None
    monkeypatch.setattr(replay, "make_table", computed)
    assert_the_full_replays(root, *simulate(root, "m2", "cheapest", params=PARAMS))
