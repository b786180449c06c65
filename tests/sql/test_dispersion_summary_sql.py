"""marts.dispersion_summary on a hand-made marts.provider_dispersion: median and mean cv over the
models with one, the widest model (ties by name) and the mean share at the official price."""

from __future__ import annotations

import polars as pl
import pytest

from pipeline.lib.duck import connect
from pipeline.sql import load_sql


def test_cv_summarised_over_the_models_with_one(tmp_path):
    rows = [
        # (model, attribute, cv, share_at_official)
        ("a", "blended_price", 0.1, 0.5),
        ("b", "blended_price", 0.3, None),
        ("c", "blended_price", 0.3, 1.0),
        ("d", "blended_price", 0.2, 0.75),
        ("e", "blended_price", None, 1.0),  # one provider: no cv, left out
        ("a", "decode_tps_p50", 0.4, None),
        ("b", "decode_tps_p50", 0.6, None),
        ("c", "decode_tps_p50", 0.2, None),
    ]
    disp = pl.DataFrame(
        {
            "period": ["2025Q4"] * len(rows),
            "period_type": ["quarter"] * len(rows),
            "model": [r[0] for r in rows],
            "attribute": [r[1] for r in rows],
            "cv": [r[2] for r in rows],
            "share_at_official": [r[3] for r in rows],
        }
    )
    path = tmp_path / "provider_dispersion.parquet"
    disp.write_parquet(path)
    got = connect().execute(load_sql("marts/dispersion_summary"), {"provider_dispersion": str(path)}).pl()
    s = {r["attribute"]: r for r in got.to_dicts()}
    price = s["blended_price"]
    # cv 0.1, 0.2, 0.3, 0.3: median (0.2 + 0.3) / 2 = 0.25, mean 0.9 / 4 = 0.225
    assert (price["models"], price["cv_median"], price["cv_mean"]) == (4, pytest.approx(0.25), pytest.approx(0.225))
    # b and c tie at 0.3: b, the first by name
    assert (price["widest_model"], price["widest_cv"]) == ("b", 0.3)
    # shares of a, c, d (b has none; e has no cv): (0.5 + 1 + 0.75) / 3 = 0.75
    assert price["share_at_official_mean"] == pytest.approx(0.75)
    decode = s["decode_tps_p50"]
    # cv 0.2, 0.4, 0.6: median 0.4, mean 0.4; widest b; not a price: no share
    assert (decode["models"], decode["cv_median"], decode["cv_mean"]) == (3, pytest.approx(0.4), pytest.approx(0.4))
    assert (decode["widest_model"], decode["share_at_official_mean"]) == ("b", None)
