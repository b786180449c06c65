"""marts.service_changes on hand-made staged prices, endpoints and models and a hand-made daily
series, each change worked out here: a price cut in the listed currency found on its day, an fx
move that is not a change, an endpoint's quantization switch, a delisting and relisting, and a
latency regression in the daily series found on its day, marked official or not."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from pipeline.lib.service import build_service_changes
from pipeline.paths import marts_file, staging_dir

D = dt.datetime


def _stage(root, dataset: str, frame: pl.DataFrame) -> None:
    folder = staging_dir(root, dataset)
    folder.mkdir(parents=True)
    frame.write_parquet(folder / "data.parquet")


@pytest.fixture
def changes(tmp_path) -> pl.DataFrame:
    # p lists m in CNY: 1.0 on Oct 1, the same 1.0 on Oct 2 at another exchange rate, 0.8 on Oct 3
    _stage(
        tmp_path,
        "prices",
        pl.DataFrame(
            {
                "provider": ["p"] * 3,
                "model": ["m"] * 3,
                "snapshot_ts": [D(2025, 10, 1), D(2025, 10, 2), D(2025, 10, 3)],
                "currency": ["CNY"] * 3,
                "input_per_mtok": [1.0, 1.0, 0.8],
                "output_per_mtok": [4.0, 4.0, 4.0],
                "cached_input_per_mtok": [None, None, None],
                "input_usd_per_mtok": [0.140, 0.141, 0.112],
                "output_usd_per_mtok": [0.560, 0.564, 0.560],
                "cached_input_usd_per_mtok": [None, None, None],
            },
            schema_overrides={"cached_input_per_mtok": pl.Float64, "cached_input_usd_per_mtok": pl.Float64},
        ),
    )
    # p serves m in fp8 until Oct 10, in fp4 from Oct 10 to Oct 20, then nothing until Nov 1
    state = {"context_length": 131072, "max_output_tokens": 8192, "supports_tools": True, "supports_json_mode": True,
             "supports_streaming": True, "supports_reasoning": False}  # fmt: skip
    _stage(
        tmp_path,
        "endpoints",
        pl.DataFrame(
            [
                {
                    "provider": "p",
                    "model": "m",
                    "valid_from": D(2025, 9, 1),
                    "valid_to": D(2025, 10, 10),
                    "quantization": "fp8",
                    **state,
                },
                {
                    "provider": "p",
                    "model": "m",
                    "valid_from": D(2025, 10, 10),
                    "valid_to": D(2025, 10, 20),
                    "quantization": "fp4",
                    **state,
                },
                {
                    "provider": "p",
                    "model": "m",
                    "valid_from": D(2025, 11, 1),
                    "valid_to": None,
                    "quantization": "fp4",
                    **state,
                },
            ]  # fmt: skip
        ),
    )
    _stage(tmp_path, "models", pl.DataFrame({"model": ["m"], "official_provider": ["o"]}))
    # the daily TTFT of p / m (and of the official o / m) from Oct 1: 400 ms, 720 ms from Nov 1 for
    # p; o stays at 300 ms; a +-1 % wobble on both
    days = [dt.date(2025, 10, 1) + dt.timedelta(days=i) for i in range(61)]
    wobble = [1 + 0.01 * ((i * 7) % 3 - 1) for i in range(61)]
    p_ttft = [(400.0 if d < dt.date(2025, 11, 1) else 720.0) * w for d, w in zip(days, wobble, strict=True)]
    daily = pl.DataFrame(
        {
            "date": days * 2,
            "provider": ["p"] * 61 + ["o"] * 61,
            "model": ["m"] * 122,
            "metric": ["ttft_p50_ms"] * 122,
            "value": p_ttft + [300.0 * w for w in wobble],
            "samples": [144] * 122,
        }
    )
    marts_file(tmp_path, "service_metric_daily").parent.mkdir(parents=True, exist_ok=True)
    daily.write_parquet(marts_file(tmp_path, "service_metric_daily"))
    return build_service_changes(tmp_path)


def test_a_price_cut_in_the_listed_currency_on_its_day_and_no_fx_noise(changes):
    prices = changes.filter(pl.col("detector") == "price_snapshot")
    assert prices.select("metric", "changed_at").rows() == [("input_usd_per_mtok", D(2025, 10, 3))]
    row = prices.row(0, named=True)
    assert row["change_pct"] == pytest.approx(-20.0)  # 1.0 -> 0.8 CNY, whatever the day's rate
    assert (row["before_value"], row["after_value"]) == (0.141, 0.112)  # USD, as staged


def test_endpoint_switch_delisting_and_relisting(changes):
    ep = changes.filter(pl.col("detector") == "endpoint_state")
    got = sorted((r["metric"], r["changed_at"], r["before_text"], r["after_text"]) for r in ep.iter_rows(named=True))
    assert got == [
        ("listing", D(2025, 9, 1), None, "listed"),
        ("listing", D(2025, 10, 20), None, "delisted"),
        ("listing", D(2025, 11, 1), None, "relisted"),
        ("quantization", D(2025, 10, 10), "fp8", "fp4"),
    ]
    # the relisting in fp4 after fp4 is no quantization change
    assert ep.filter(pl.col("metric") == "quantization").height == 1


def test_a_latency_regression_in_the_daily_series(changes):
    (row,) = changes.filter(pl.col("detector") == "pelt_l1").iter_rows(named=True)
    assert (row["provider"], row["model"], row["metric"], row["changed_at"]) == (
        "p",
        "m",
        "ttft_p50_ms",
        D(2025, 11, 1),
    )
    assert row["official"] is False
    assert row["before_value"] == pytest.approx(400.0, rel=0.011)  # the median of 400 ms +-1 %
    assert row["after_value"] == pytest.approx(720.0, rel=0.011)
    assert row["change_pct"] == pytest.approx(80.0, abs=2.5)
    assert (row["days_before"], row["days_after"]) == (14, 14)


def test_every_event_knows_whether_it_is_the_official_apis(changes):
    assert changes["official"].null_count() == 0
    assert not changes["official"].any()  # o, the official API, never changed
