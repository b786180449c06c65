"""Chart thumbnails for asset metadata: small PNGs as Markdown data URIs, never an error."""

from __future__ import annotations

import base64
import logging
import time

import dagster as dg
import polars as pl
import pytest

from pipeline.defs.thumbnails import KEY, MAX_BYTES, bars, histogram

SHARES = pl.DataFrame(
    {
        "period": ["2025Q3", "2025Q3", "2025Q4", "2025Q4", "2025Q4"],
        "family": ["old", "older", "deepseek", "qwen", "glm"],
        "request_share": [0.9, 0.1, 0.5, 0.3, 0.2],
    }
)


def _png(meta) -> bytes:
    value = meta[KEY]
    assert isinstance(value, dg.MarkdownMetadataValue)
    alt_text, data = value.md_str.split("](data:image/png;base64,")
    assert alt_text.startswith("![") and data.endswith(")")
    assert len(data) < MAX_BYTES
    png = base64.b64decode(data[:-1])
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    return png


class TestBars:
    def test_latest_period_as_a_markdown_png(self):
        meta = bars(SHARES, "family", "request_share", "request share by family", latest="period")
        _png(meta)
        assert "request share by family, 2025Q4" in meta[KEY].md_str

    def test_is_cheap_once_the_engine_runs(self):
        bars(SHARES, "family", "request_share", "warm-up")
        started = time.perf_counter()
        bars(SHARES, "family", "request_share", "request share", latest="period")
        assert time.perf_counter() - started < 0.3

    def test_no_rows_no_chart(self):
        assert bars(SHARES.clear(), "family", "request_share", "nothing", latest="period") == {}

    def test_a_chart_that_fails_is_a_warning_not_an_error(self, caplog):
        with caplog.at_level(logging.WARNING):
            assert bars(SHARES, "family", "no_such_column", "broken") == {}
        assert any("no chart thumbnail for broken" in r.getMessage() for r in caplog.records)


class TestHistogram:
    def test_distribution_as_a_markdown_png(self):
        df = pl.DataFrame({"period": ["2025Q4"] * 50, "decode_tps_p50": [float(i) for i in range(50)]})
        _png(histogram(df, "decode_tps_p50", "decode p50", unit="tok/s", latest="period"))

    @pytest.mark.parametrize("values", [[None, None], []])  # only nulls / no rows
    def test_nothing_to_draw(self, values):
        df = pl.DataFrame({"x": values}, schema={"x": pl.Float64})
        assert histogram(df, "x", "empty") == {}
