"""Service-object marts on a tiny world staged from a raw drop, every figure worked out by hand.

World (model m1, official provider `off`, third party `alt`):
- prices: off USD 1.00/2.00 from 2025-10-01 00:00, 2.00/4.00 from 2025-11-01 00:00 (exactly at the
  month boundary); alt CNY 7.00/14.00 from 2025-10-01 with 0.14 USD per CNY -> 0.98/1.96 USD.
- probes of off on 2025-10-01: TTFT 100, 200, 300, 400 ms ok (output 100 tokens, decode time 1 s
  each, so decode 100 tok/s; latency 1100..1400 ms) and one timeout; one ok probe on 2025-11-01
  (TTFT 250 ms).
- requests 2025-10-02: off 10 at sample rate 1 (7 ok, auth, server_error, rate_limit), 300 in /
  100 out tokens each; alt 2 at sample rate 0.5 (weight 2 each), 100 in / 300 out.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from pipeline.lib import service
from pipeline.lib.contract import DATASETS
from pipeline.lib.ingest import stage_dataset
from pipeline.lib.marts.service_pareto import pareto
from pipeline.lib.stats import ratio_of_means_ci

FEATURES = {"supports_tools": True, "supports_json_mode": True, "supports_streaming": True, "supports_reasoning": False}


def _write(raw: Path, dataset: str, rows: list[dict]) -> None:
    (raw / dataset).mkdir(parents=True, exist_ok=True)
    pl.DataFrame(rows).write_csv(raw / dataset / f"{dataset}.csv")


def _world(tmp_path: Path) -> Path:
    raw, root = tmp_path / "raw", tmp_path / "wh"
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
    _write(
        raw,
        "endpoints",
        [
            {
                "provider": "off",
                "model": "m1",
                "valid_from": "2025-10-01T00:00:00Z",
                "valid_to": None,
                "context_length": 8192,
                "max_output_tokens": None,
                "quantization": "fp8",
                **FEATURES,
            },
            {
                "provider": "alt",
                "model": "m1",
                "valid_from": "2025-10-01T00:00:00Z",
                "valid_to": None,
                "context_length": 4096,
                "max_output_tokens": 1024,
                "quantization": "int4",
                "supports_tools": False,
                "supports_json_mode": False,
                "supports_streaming": True,
                "supports_reasoning": False,
            },
        ],
    )
    _write(raw, "fx_rates", [{"date": "2025-10-01", "currency": "CNY", "usd_per_unit": 0.14}])
    _write(
        raw,
        "prices",
        [
            {
                "snapshot_ts": "2025-10-01T00:00:00Z",
                "provider": "off",
                "model": "m1",
                "input_per_mtok": 1.0,
                "output_per_mtok": 2.0,
                "cached_input_per_mtok": None,
                "currency": "USD",
            },
            {
                "snapshot_ts": "2025-11-01T00:00:00Z",
                "provider": "off",
                "model": "m1",
                "input_per_mtok": 2.0,
                "output_per_mtok": 4.0,
                "cached_input_per_mtok": None,
                "currency": "USD",
            },
            {
                "snapshot_ts": "2025-10-01T00:00:00Z",
                "provider": "alt",
                "model": "m1",
                "input_per_mtok": 7.0,
                "output_per_mtok": 14.0,
                "cached_input_per_mtok": None,
                "currency": "CNY",
            },
        ],
    )
    probes = [
        {
            "ts": f"2025-10-01T00:{10 * i:02d}:00Z",
            "provider": "off",
            "model": "m1",
            "input_tokens": 1000,
            "output_tokens": 100,
            "ttft_ms": ttft,
            "latency_ms": ttft + 1000.0,
            "status": "ok",
            "error_type": None,
        }
        for i, ttft in enumerate([100.0, 200.0, 300.0, 400.0])
    ]
    probes.append(
        {
            "ts": "2025-10-01T00:40:00Z",
            "provider": "off",
            "model": "m1",
            "input_tokens": 1000,
            "output_tokens": 0,
            "ttft_ms": None,
            "latency_ms": None,
            "status": "error",
            "error_type": "timeout",
        }
    )
    probes.append(
        {
            "ts": "2025-11-01T00:00:00Z",
            "provider": "off",
            "model": "m1",
            "input_tokens": 1000,
            "output_tokens": 100,
            "ttft_ms": 250.0,
            "latency_ms": 1250.0,
            "status": "ok",
            "error_type": None,
        }
    )
    _write(raw, "latency_probes", probes)
    errors = [None] * 7 + ["auth", "server_error", "rate_limit"]
    reqs = [
        {
            "request_id": f"o{i}",
            "ts": "2025-10-02T12:00:00Z",
            "model": "m1",
            "provider": "off",
            "input_tokens": 300,
            "output_tokens": 100,
            "status": "ok" if e is None else "error",
            "error_type": e,
            "stream": True,
            "tools": False,
            "json_mode": False,
            "sample_rate": 1.0,
        }
        for i, e in enumerate(errors)
    ]
    reqs += [
        {
            "request_id": f"a{i}",
            "ts": "2025-10-02T12:30:00Z",
            "model": "m1",
            "provider": "alt",
            "input_tokens": 100,
            "output_tokens": 300,
            "status": "ok",
            "error_type": None,
            "stream": True,
            "tools": False,
            "json_mode": False,
            "sample_rate": 0.5,
        }
        for i in range(2)
    ]
    _write(raw, "requests", reqs)
    for spec in DATASETS.values():
        result = stage_dataset(spec, raw, root)
        assert result.rows_quarantined == 0, spec.name
    return root


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Path:
    root = _world(tmp_path_factory.mktemp("service"))
    service.build_requests_hourly(root)
    return root


def _row(df: pl.DataFrame, **keys) -> dict:
    rows = df.filter(*[pl.col(k) == v for k, v in keys.items()]).to_dicts()
    assert len(rows) == 1, (keys, rows)
    return rows[0]


def test_probe_percentiles_throughput_and_uptime(world):
    objects = service.build_service_objects(world)
    october = _row(objects, period="2025-10", provider="off")
    # linear interpolation over 100, 200, 300, 400: p50 at rank 1.5 -> 250; p90 at 2.7 -> 370; p99 at 2.97 -> 397
    assert october["ttft_p50_ms"] == pytest.approx(250.0)
    assert october["ttft_p90_ms"] == pytest.approx(370.0)
    assert october["ttft_p99_ms"] == pytest.approx(397.0)
    assert october["decode_tps_p50"] == pytest.approx(100.0) and october["decode_tps_p90"] == pytest.approx(100.0)
    # end-to-end: 100 tokens over 1.1, 1.2, 1.3, 1.4 s; the median is the mean of the middle two
    assert october["e2e_tps_p50"] == pytest.approx((100 / 1.2 + 100 / 1.3) / 2)
    assert october["probes"] == 5 and october["probe_success_rate"] == pytest.approx(0.8)
    quarter = _row(objects, period="2025Q4", provider="off")
    # daily uptime 0.8 (Oct 1) and 1.0 (Nov 1)
    assert quarter["uptime_mean"] == pytest.approx(0.9) and quarter["uptime_min_day"] == pytest.approx(0.8)
    assert quarter["ttft_p50_ms"] == pytest.approx(250.0)  # 100, 200, 250, 300, 400


def test_client_errors_are_not_held_against_the_provider(world):
    objects = service.build_service_objects(world)
    october = _row(objects, period="2025-10", provider="off")
    # 10 requests: the auth error is the caller's, so the provider answered for 9:
    # one server_error (a fault) and one rate limit, counted apart
    assert october["requests"] == pytest.approx(10.0)
    assert october["request_error_rate"] == pytest.approx(1 / 9)
    assert october["rate_limit_rate"] == pytest.approx(1 / 9)
    assert october["client_error_rate"] == pytest.approx(1 / 10)
    # sample weights: 2 requests at rate 0.5 are 4
    assert _row(objects, period="2025-10", provider="alt")["requests"] == pytest.approx(4.0)
    # intervals: Wilson on the effective sample, which is the logged count when the rows share a
    # sample rate: 9 for off (the auth error is out of the denominator), 2 for alt (two rows of
    # weight 2: (2 + 2)^2 / (4 + 4)); scipy's own Wilson interval is the reference
    from scipy.stats import binomtest

    alt = _row(objects, period="2025-10", provider="alt")
    assert (october["requests_effective"], alt["requests_effective"]) == (pytest.approx(9.0), pytest.approx(2.0))
    ref = binomtest(1, 9).proportion_ci(confidence_level=0.95, method="wilson")
    for rate in ("request_error_rate", "rate_limit_rate"):
        assert (october[f"{rate}_ci_low"], october[f"{rate}_ci_high"]) == (
            pytest.approx(ref.low),
            pytest.approx(ref.high),
        )
    ref0 = binomtest(0, 2).proportion_ci(confidence_level=0.95, method="wilson")
    assert (alt["request_error_rate_ci_low"], alt["request_error_rate_ci_high"]) == (0.0, pytest.approx(ref0.high))
    probe_ref = binomtest(4, 5).proportion_ci(confidence_level=0.95, method="wilson")  # 4 of 5 probes ok
    assert (october["probe_success_rate_ci_low"], october["probe_success_rate_ci_high"]) == (
        pytest.approx(probe_ref.low),
        pytest.approx(probe_ref.high),
    )
    assert october["thin"] and alt["thin"]  # under 1,000 effective requests
    matrix = service.build_error_matrix(world)
    auth = _row(matrix, period="2025-10", provider="off", source="requests", error_type="auth")
    assert (auth["held_against_provider"], auth["rate"]) == (False, pytest.approx(0.1))
    assert _row(matrix, period="2025-10", provider="off", source="probes", error_type="timeout")[
        "rate"
    ] == pytest.approx(1 / 5)
    assert (
        _row(matrix, period="2025-10", provider="off", source="requests", error_type="rate_limit")["error_class"]
        == "rate_limit"
    )


def test_prices_in_force_at_a_snapshot_boundary_and_currency(world):
    objects = service.build_service_objects(world)
    # the 2.00 snapshot starts exactly at 2025-11-01 00:00: none of it falls in October
    october = _row(objects, period="2025-10", provider="off")
    assert (october["input_usd_per_mtok"], october["input_usd_per_mtok_last"]) == (
        pytest.approx(1.0),
        pytest.approx(1.0),
    )
    assert _row(objects, period="2025-11", provider="off")["input_usd_per_mtok"] == pytest.approx(2.0)
    quarter = _row(objects, period="2025Q4", provider="off")
    # 31 days at 1.00 and 61 at 2.00 of the 92-day quarter; the last price is 2.00
    assert quarter["input_usd_per_mtok"] == pytest.approx((31 * 1.0 + 61 * 2.0) / 92)
    assert quarter["output_usd_per_mtok"] == pytest.approx((31 * 2.0 + 61 * 4.0) / 92)
    assert quarter["input_usd_per_mtok_last"] == pytest.approx(2.0)
    # CNY 7.00 and 14.00 at 0.14 USD per CNY
    alt = _row(objects, period="2025Q4", provider="alt")
    assert (alt["input_usd_per_mtok"], alt["output_usd_per_mtok"]) == (pytest.approx(0.98), pytest.approx(1.96))
    # blended at m1's weighted mix: input 10*300 + 4*100 = 3400, output 10*100 + 4*300 = 2200
    share = 3400 / 5600
    assert alt["blend_input_share"] == pytest.approx(share) and alt["blend_basis"] == "observed"
    assert alt["blended_usd_per_mtok"] == pytest.approx(0.98 * share + 1.96 * (1 - share))
    assert (alt["context_length"], alt["quantization"], alt["supports_tools"]) == (4096, "int4", False)
    # no traffic and no probes in December: no December rows
    assert set(objects["period"]) == {"2025Q4", "2025-10", "2025-11"}


def test_dispersion_against_the_official_provider(world):
    service.build_service_objects(world)
    dispersion, _ = service.build_provider_dispersion(world, n_boot=50)
    price = _row(dispersion, period="2025-10", model="m1", attribute="input_price")
    # off 1.00, alt 0.98: mean 0.99, population sd 0.01
    assert price["n_providers"] == 2 and price["mean"] == pytest.approx(0.99)
    assert price["cv"] == pytest.approx(0.01 / 0.99)
    assert (price["min"], price["max"], price["official_value"]) == (
        pytest.approx(0.98),
        pytest.approx(1.0),
        pytest.approx(1.0),
    )
    assert price["share_at_official"] == pytest.approx(0.5)  # 0.98 is 2 % away: only off itself
    features = _row(dispersion, period="2025-10", model="m1", attribute="feature_support")
    assert (features["min"], features["max"], features["share_at_official"]) == (0.25, 0.75, None)
    context = _row(dispersion, period="2025-10", model="m1", attribute="context_length")
    assert (context["min"], context["official_value"]) == (4096, 8192)
    # alt has no probes: one provider with a TTFT, so no cv
    ttft = _row(dispersion, period="2025-10", model="m1", attribute="ttft_p50_ms")
    assert (ttft["n_providers"], ttft["cv"]) == (1, None)


def test_hourly_series(world):
    series = service.build_service_timeseries(world)
    hour = _row(series, provider="off", hour=pl.datetime(2025, 10, 1, 0).cast(pl.Datetime("us")))
    assert (hour["probes"], hour["probe_success_rate"], hour["ttft_p50_ms"], hour["ttft_p90_ms"]) == (
        5,
        pytest.approx(0.8),
        pytest.approx(250.0),
        pytest.approx(370.0),
    )
    noon = _row(series, provider="off", hour=pl.datetime(2025, 10, 2, 12).cast(pl.Datetime("us")))
    assert (noon["probes"], noon["probe_success_rate"], noon["request_error_rate"]) == (0, None, pytest.approx(1 / 9))
    diurnal = service.build_service_diurnal(world)
    assert _row(diurnal, period="2025Q4", provider="off", hour_of_day=0)["probes"] == 6


def test_pareto_dominance():
    base = {"period": "2025Q4", "period_type": "quarter", "model": "m"}
    objects = pl.DataFrame(
        [
            {
                **base,
                "provider": "a",
                "blended_usd_per_mtok": 1.0,
                "decode_tps_p50": 100.0,
                "probe_success_rate": 0.99,
                "schema_accuracy": 0.9,
            },
            {
                **base,
                "provider": "b",
                "blended_usd_per_mtok": 2.0,
                "decode_tps_p50": 50.0,
                "probe_success_rate": 0.99,
                "schema_accuracy": 0.9,
            },
            {
                **base,
                "provider": "c",
                "blended_usd_per_mtok": 3.0,
                "decode_tps_p50": 200.0,
                "probe_success_rate": 0.99,
                "schema_accuracy": 0.9,
            },
            {
                **base,
                "provider": "e",
                "blended_usd_per_mtok": 1.0,
                "decode_tps_p50": 100.0,
                "probe_success_rate": 0.99,
                "schema_accuracy": 0.9,
            },
            {
                **base,
                "provider": "n",
                "blended_usd_per_mtok": None,
                "decode_tps_p50": 300.0,
                "probe_success_rate": 1.0,
                "schema_accuracy": 1.0,
            },
            # no tool answers: schema accuracy counts as 0, so a (equal elsewhere, cheaper) dominates it
            {
                **base,
                "provider": "t",
                "blended_usd_per_mtok": 1.0,
                "decode_tps_p50": 100.0,
                "probe_success_rate": 0.99,
                "schema_accuracy": None,
            },
        ]
    )
    got = {r["provider"]: r for r in pareto(objects).iter_rows(named=True)}
    assert (got["b"]["dominated"], got["b"]["dominated_by"]) == (True, "a, e")  # c is dearer than b
    assert got["a"]["dominated"] is False and got["e"]["dominated"] is False  # equals never dominate
    assert got["c"]["dominated"] is False
    assert got["n"]["dominated"] is None  # no price: not placed
    assert (got["t"]["dominated"], got["t"]["dominated_by"]) == (True, "a, e")


def test_ratio_of_means_interval():
    ratio, lo, hi = ratio_of_means_ci(np.array([1.0, 2.0, 3.0]), np.array([2.0, 2.0, 2.0]), n_boot=200)
    assert ratio == pytest.approx(1.0) and lo <= ratio <= hi
    # equal units: every resample gives the same ratio
    assert ratio_of_means_ci(np.array([3.0, 3.0]), np.array([1.5, 1.5]), n_boot=50) == pytest.approx((2.0, 2.0, 2.0))
    assert np.isnan(ratio_of_means_ci(np.array([1.0]), np.array([0.0]))[0])


def test_a_drop_without_requests_gives_empty_demand_and_service_tables(tmp_path):
    # probes-only drops are normal (the llmperf importer writes one): the marts are empty, not a crash
    from pipeline.lib import demand

    raw, root = tmp_path / "raw", tmp_path / "wh"
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
    for spec in DATASETS.values():
        stage_dataset(spec, raw, root)
    assert demand.build_demand_daily(root) == 0
    conc, curve = demand.build_concentration(root, n_boot=10)
    assert (conc.height, curve.height) == (0, 0) and "gini_ci_low" in conc.columns
    assert service.build_requests_hourly(root) == 0
    assert service.build_service_objects(root).height == 0
