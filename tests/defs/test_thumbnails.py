"""Chart thumbnails for asset metadata: small PNGs as Markdown data URIs, never an error."""

from __future__ import annotations

import base64
import logging

import dagster as dg
import polars as pl
import pytest

from pipeline.defs import thumbnails
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


@pytest.fixture
def drawn(monkeypatch) -> list[tuple[list[dict], str]]:
    """(the rows a chart plots, its title) for every chart handed to the PNG renderer."""
    seen = []

    def record(chart, alt_text):
        seen.append(([row for rows in chart.to_dict()["datasets"].values() for row in rows], alt_text))
        return {KEY: alt_text}

    monkeypatch.setattr(thumbnails, "_markdown", record)
    return seen


def no_warning(caplog) -> bool:
    return not any("no chart thumbnail" in r.getMessage() for r in caplog.records)


class TestBars:
    def test_latest_period_as_a_markdown_png(self):
        meta = bars(SHARES, "family", "request_share", "request share by family", latest="period")
        _png(meta)
        assert "request share by family, 2025Q4" in meta[KEY].md_str

    def test_plots_only_the_latest_period_largest_first(self, drawn):
        # 2025Q3's "old" (0.9) would be the largest bar if the earlier period leaked in
        bars(SHARES, "family", "request_share", "request share by family", latest="period", top=2)
        assert drawn == [
            (
                [{"family": "deepseek", "request_share": 0.5}, {"family": "qwen", "request_share": 0.3}],
                "request share by family, 2025Q4",
            )
        ]

    def test_no_rows_no_chart(self, caplog):
        with caplog.at_level(logging.WARNING):
            assert bars(SHARES.clear(), "family", "request_share", "nothing", latest="period") == {}
        assert no_warning(caplog)  # nothing to draw, not a drawing that failed

    def test_a_chart_that_fails_is_a_warning_not_an_error(self, caplog):
        with caplog.at_level(logging.WARNING):
            assert bars(SHARES, "family", "no_such_column", "broken") == {}
        assert any("no chart thumbnail for broken" in r.getMessage() for r in caplog.records)


class TestHistogram:
    def test_distribution_as_a_markdown_png(self):
        df = pl.DataFrame({"period": ["2025Q4"] * 50, "decode_tps_p50": [float(i) for i in range(50)]})
        _png(histogram(df, "decode_tps_p50", "decode p50", unit="tok/s", latest="period"))

    def test_counts_the_latest_period_without_nulls(self, drawn):
        df = pl.DataFrame({"period": ["2025Q3", "2025Q4", "2025Q4", "2025Q4"], "x": [100.0, 1.0, None, 3.0]})
        histogram(df, "x", "x", latest="period")
        assert drawn == [([{"x": 1.0}, {"x": 3.0}], "x, 2025Q4")]

    @pytest.mark.parametrize("values", [[None, None], []])  # only nulls / no rows
    def test_nothing_to_draw(self, values, caplog):
        df = pl.DataFrame({"x": values}, schema={"x": pl.Float64})
        with caplog.at_level(logging.WARNING):
            assert histogram(df, "x", "empty") == {}
        assert no_warning(caplog)
