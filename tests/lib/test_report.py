"""The quarterly report on tiny hand-made warehouses: escaping, offline self-containment, no long
floats, the change against the previous quarter worked out by hand, the routing section with
and without the routing marts, the changelog section (what changed this quarter), the PDF and a
PNG per chart; and (slow) the whole report on a generated warehouse through the CLI.

A hand-made warehouse holds only the marts a test needs: every other section must say what is
missing rather than fail."""

from __future__ import annotations

import datetime as dt
import re
from html import unescape
from html.parser import HTMLParser
from pathlib import Path

import dagster as dg
import duckdb
import polars as pl
import pytest
from click.testing import CliRunner

from pipeline.lib.report import build_report, default_out_dir, fmt
from pipeline.lib.report.source import Warehouse, previous_quarter, quarter_dates

EVIL = "<script>alert(1)</script>"
LONG_FLOAT = re.compile(r"\d\.\d{5,}")


# ------------------------------------------------------------------------------------------ helpers


def make_warehouse(path: Path, tables: dict[str, pl.DataFrame]) -> Path:
    """A DuckDB file with schemas staging and marts holding `tables` ({"marts.x": frame}), and the
    report-ready marts (marts.key_figures, ...) built from them by the pipeline's own SQL."""
    from pipeline.lib.sql_marts import build_sql_mart, sql_marts
    from pipeline.paths import marts_file

    marts = [n for n in tables if n.startswith("marts.")]
    if marts:
        root = path.parent / f"{path.stem}-record"
        for name in marts:
            out = marts_file(root, name.removeprefix("marts."))
            out.parent.mkdir(parents=True, exist_ok=True)
            tables[name].write_parquet(out)
        # the report-ready marts, built from the hand-made ones by the pipeline's own SQL
        tables = {
            **tables,
            **{f"marts.{m}": build_sql_mart(root, m) for m in sql_marts() if f"marts.{m}" not in tables},
        }
    con = duckdb.connect(str(path))
    try:
        con.execute("create schema marts")
        con.execute("create schema staging")
        for name, frame in tables.items():
            con.register("frame", frame)
            con.execute(f"create table {name} as select * from frame")
            con.unregister("frame")
    finally:
        con.close()
    return path


class TextNodes(HTMLParser):
    """The text a reader sees (HTML and SVG text nodes), without tags or attributes."""

    def __init__(self):
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag == "style":
            self._skip += 1

    def handle_endtag(self, tag):
        if tag == "style":
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


def visible_text(html: str) -> str:
    p = TextNodes()
    p.feed(html)
    return " ".join(p.parts)


def table_rows(html: str, caption: str) -> list[list[str]]:
    """The body cells of the table whose caption starts with `caption`, as the reader sees them."""
    table = html[html.index(f"</span> {caption}") :]
    body = table[table.index("<tbody>") : table.index("</tbody>")]
    return [
        [unescape(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", row)]
        for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)
    ]


def chapter(html: str, key: str) -> str:
    """The HTML of the section with id `key`, up to the next section (its number does not matter)."""
    start = re.search(f'<section class="chapter[^"]*" id="{re.escape(key)}"', html).start()
    end = html.find("<section", start + 1)
    return html[start : end if end >= 0 else len(html)]


def assert_self_contained(html: str) -> None:
    assert "<script" not in html.lower(), "the report must carry no script at all"
    assert "<link" not in html.lower()
    assert not re.search(r"""\b(src|href)\s*=\s*["']?\s*(https?:)?//""", html, re.I), "external reference in the HTML"
    assert not re.search(r"url\(\s*['\"]?(https?:)?//", html, re.I), "external reference in the CSS"
    assert "@import" not in html


def concentration_rows(period: str, top1: float, top5: float, gini: float, n: int = 20) -> list[dict]:
    return [
        {
            "period": period,
            "period_type": "quarter",
            "level": level,
            "measure": measure,
            "n_days": 92,
            "n": n,
            "top1_share": top1,
            "top5_share": top5,
            "gini": gini,
            "hhi": 0.19,
            "gini_ci_low": gini - 0.0012345,
            "gini_ci_high": gini + 0.0011111,
            "top5_ci_low": top5 - 0.0009,
            "top5_ci_high": top5 + 0.0011,
        }
        for level in ("family", "model", "provider")
        for measure in ("requests", "tokens")
    ]


def family_rows(period: str, requests: list[float]) -> list[dict]:
    total = sum(requests)
    return [
        {
            "period": period,
            "period_type": "quarter",
            "family": f"fam{i}",
            "requests": r,
            "tokens": r * 1234.5,
            "request_share": r / total,
            "token_share": r / total,
            "rank": i + 1,
        }
        for i, r in enumerate(requests)
    ]


def service_rows(period: str) -> list[dict]:
    """Model m1 served by the official API `ok-provider` and by a provider whose name is a script tag
    (with the columns marts.provider_leaderboard reads)."""
    base = {
        "period": period,
        "period_type": "quarter",
        "model": "m1",
        "listed_days": 92.0,
        "probes": 13_000,
        "uptime_min_day": 0.9012345678,
        "ttft_p90_ms": 900.123456,
        "context_length": 131072,
        "quantization": "fp8",
    }
    return [
        {
            **base,
            "provider": "ok-provider",
            "is_official": True,
            "input_usd_per_mtok": 0.2,
            "output_usd_per_mtok": 0.6,  # blended list price 0.75 x 0.2 + 0.25 x 0.6 = 0.30
            "blended_usd_per_mtok": 0.2834567891,
            "decode_tps_p50": 41.23456789,
            "requests": 1000.0,
            "probe_success_rate": 0.99123456,
            "probe_success_rate_ci_low": 0.9894,
            "probe_success_rate_ci_high": 0.9927,
            "ttft_p50_ms": 612.3456789,
            "request_error_rate": 0.0071234567,
            "requests_effective": 1000.0,
            "thin": False,
            "request_error_rate_ci_low": 0.0034,
            "request_error_rate_ci_high": 0.0145,
            "rate_limit_rate": 0.003,
            "rate_limit_rate_ci_low": 0.001,
            "rate_limit_rate_ci_high": 0.0088,
        },
        {
            **base,
            "provider": EVIL,
            "is_official": False,
            "input_usd_per_mtok": 0.05,
            "output_usd_per_mtok": 0.15,  # blended list price 0.075
            "blended_usd_per_mtok": 0.0751234567,
            "decode_tps_p50": 88.7654321,
            "requests": 500.0,
            "probe_success_rate": 0.98765432,
            "probe_success_rate_ci_low": 0.9856,
            "probe_success_rate_ci_high": 0.9894,
            "ttft_p50_ms": 402.9876543,
            "request_error_rate": 0.0123456789,
            "requests_effective": 250.0,
            "thin": True,
            "request_error_rate_ci_low": 0.0043,
            "request_error_rate_ci_high": 0.0347,
            "rate_limit_rate": 0.006,
            "rate_limit_rate_ci_low": 0.0011,
            "rate_limit_rate_ci_high": 0.0222,
        },
    ]


def error_rows(period: str) -> list[dict]:
    rows = []
    for provider, attempts in (("ok-provider", 1000.0), (EVIL, 500.0)):
        for error_type, cls, errors in (
            ("timeout", "provider_fault", 7.0),
            ("rate_limit", "rate_limit", 3.0),
            ("auth", "client", 2.0),
        ):
            rows.append(
                {
                    "period": period,
                    "period_type": "quarter",
                    "provider": provider,
                    "source": "requests",
                    "error_type": error_type,
                    "error_class": cls,
                    "held_against_provider": cls != "client",
                    "errors": errors,
                    "attempts": attempts,
                    "rate": errors / attempts,
                }
            )
    return rows


def routing_frames(period: str) -> dict[str, pl.DataFrame]:
    rc = []
    for model, routed in (("m1", 1200), ("m2", 300)):
        for objective, base_v, routed_v in (("cost", 123.456789, 98.7654321), ("throughput", 45.678912, 61.2345678)):
            for policy, shift in (("oracle", 0.0), ("causal", 2.5)):
                change = 100 * (routed_v / base_v - 1) + shift
                rc.append(
                    {
                        "period": period,
                        "model": model,
                        "objective": objective,
                        "policy": policy,
                        "baseline_provider": "ok-provider",
                        "requests_routed": routed,
                        "requests_excluded": 17,
                        "requests_imputed": routed / 4,
                        "baseline_value": base_v,
                        "routed_value": routed_v,
                        "change_pct": change,
                        "ci_low": change - 1.23456,
                        "ci_high": change + 1.3456789,
                    }
                )
    rp = [
        {
            "period": period,
            "model": m,
            "policy": p,
            "scenario": "default",
            "requests_routed": 1200,
            "requests_excluded": 17,
            "total_cost_usd": 98.7654321,
            "mean_decode_tps": 61.2345678,
            "p90_ttft_ms": 812.345678,
            "expected_success_rate": 0.991234567,
            "cost_change_pct": c,
            "tps_change_pct": t,
        }
        for m, p, c, t in (
            ("m1", "oracle", -20.0123456, 34.0567891),
            ("m1", "causal", -18.5432109, 30.1234567),
            ("m2", "oracle", -5.4321098, 12.3456789),
            ("m2", "causal", -4.0987654, 10.9876543),
        )
    ]
    # all models together, worked out by hand from the rows above: cost, a total, sums routed / sums
    # baseline - 1 = 2 x 98.7654321 / (2 x 123.456789) - 1; throughput, a requests-weighted mean,
    # (61.2345678 x 1500) / (45.678912 x 1500) - 1; the causal rows' shift is per model only
    totals = [
        {
            "period": period,
            "period_type": "quarter",
            "objective": objective,
            "policy": policy,
            "requests_routed": 1500.0,
            "requests_excluded": 34.0,
            "requests_imputed": 375.0,
            "requests_imputed_share": 375.0 / 1500.0,  # (1,200 + 300) / 4 of the 1,500 routed
            "baseline_value": base_v,
            "routed_value": routed_v,
            "change_pct": 100 * (routed_v / base_v - 1),
            "ci_low": None,
            "ci_high": None,
            "n_days": 92,
            "models": 2,
        }
        for objective, base_v, routed_v in (
            ("cost", 2 * 123.456789, 2 * 98.7654321),
            ("throughput", 45.678912, 61.2345678),
        )
        for policy in ("oracle", "causal")
    ]
    return {
        "marts.routing_counterfactual": pl.DataFrame(rc),
        "marts.routing_policies": pl.DataFrame(rp),
        "marts.routing_totals": pl.DataFrame(totals),
    }


def change(provider, model, metric, day, detector, before, after, **extra) -> dict:
    """One row of marts.service_changes; change_pct worked out here from before and after."""
    import datetime as dt

    exact = detector != "pelt_l1"
    row = {
        "provider": provider,
        "model": model,
        "metric": metric,
        "changed_at": dt.datetime.fromisoformat(day),
        "official": False,
        "before_value": before,
        "after_value": after,
        "before_text": None,
        "after_text": None,
        "change_pct": None if before in (None, 0) or after is None else 100 * (after / before - 1),
        "change_ci_low": None,
        "change_ci_high": None,
        "p_value": None,
        "detector": detector,
        "samples_before": 1 if exact else 2016,
        "samples_after": 1 if exact else 2016,
        "days_before": None if exact else 14,
        "days_after": None if exact else 14,
    }
    return {**row, **extra}


def change_tables() -> dict[str, pl.DataFrame]:
    """marts.service_changes and marts.service_metric_daily for 2025Q4: p1 (m1's official API) gets
    slower, the script-named provider cuts its price, p2 slows down a week after switching m2 from
    fp8 to fp4 and is later delisted; one change falls before the quarter and one after it."""
    import datetime as dt

    from pipeline.lib.marts.service_changes import SCHEMA

    rows = [
        # 400 -> 600 ms: +50 %, the largest change of the quarter
        change("p1", "m1", "ttft_p50_ms", "2025-11-10", "pelt_l1", 400.0, 600.0, official=True,
               change_ci_low=42.1, change_ci_high=58.3, p_value=0.00001),
        # 80 -> 52 tok/s: -35 %
        change("p2", "m2", "decode_tps_p50", "2025-10-21", "pelt_l1", 80.0, 52.0, change_ci_low=-39.0,
               change_ci_high=-30.5, p_value=0.0042, days_before=7, samples_before=1008),
        # $1.00 -> $0.80 per Mtok: -20 %
        change(EVIL, "m2", "input_usd_per_mtok", "2025-10-20 09:30:00", "price_snapshot", 1.0, 0.8),
        change("p2", "m2", "quantization", "2025-10-14", "endpoint_state", None, None, before_text="fp8",
               after_text="fp4"),
        change("p2", "m2", "listing", "2025-12-20", "endpoint_state", 1.0, 0.0, after_text="delisted"),
        # outside 2025Q4: larger than any change inside it, and never shown
        change("p1", "m1", "ttft_p50_ms", "2025-09-20", "pelt_l1", 500.0, 100.0, official=True, p_value=0.0001),
        change("p3", "m1", "output_usd_per_mtok", "2026-01-05", "price_snapshot", 1.0, 1.9),
    ]  # fmt: skip
    day = dt.date(2025, 10, 1)
    daily = [
        {"date": day + dt.timedelta(days=i), "provider": p, "model": m, "metric": metric, "value": v, "samples": 144}
        for i in range(92)
        for p, m, metric, v in (
            ("p1", "m1", "ttft_p50_ms", 400.0 if i < 40 else 600.0),  # Nov 10 is day 40
            ("p2", "m2", "decode_tps_p50", 80.0 if i < 20 else 52.0),  # Oct 21 is day 20
        )
    ]
    return {
        "marts.service_changes": pl.DataFrame(rows, schema=SCHEMA),
        "marts.service_metric_daily": pl.DataFrame(daily),
    }


def base_tables(period: str = "2025Q4") -> dict[str, pl.DataFrame]:
    return {
        "marts.ingest_audit": pl.DataFrame(
            [
                {
                    "dataset": "requests",
                    "source_file": "requests/a.csv",
                    "file_format": "csv",
                    "rows_read": 105,
                    "rows_loaded": 100,
                    "rows_quarantined": 3,
                    "rows_duplicate": 2,
                    "file_error": None,
                },
                {
                    "dataset": "prices",
                    "source_file": "prices/p.csv",
                    "file_format": "csv",
                    "rows_read": 10,
                    "rows_loaded": 10,
                    "rows_quarantined": 0,
                    "rows_duplicate": 0,
                    "file_error": None,
                },
            ]
        ),
        "marts.quarantine": pl.DataFrame(
            [
                {
                    "dataset": "requests",
                    "source_file": "requests/a.csv",
                    "row_number": 3,
                    "reason": f"unknown_provider: {EVIL}",
                    "raw": EVIL,
                },
                {
                    "dataset": "requests",
                    "source_file": "requests/a.csv",
                    "row_number": 4,
                    "reason": "bad_type: ts is not a valid timestamp",
                    "raw": "x",
                },
                {
                    "dataset": "requests",
                    "source_file": "requests/a.csv",
                    "row_number": 5,
                    "reason": "bad_type: ts is not a valid timestamp",
                    "raw": "y",
                },
            ]
        ),
        "marts.concentration": pl.DataFrame(concentration_rows(period, 0.3212345678, 0.8737654321, 0.6926705794951802)),
        "marts.family_demand": pl.DataFrame(family_rows(period, [330.0, 150.0, 120.0])),
        "marts.service_objects": pl.DataFrame(service_rows(period)),
        "marts.error_matrix": pl.DataFrame(error_rows(period)),
    }


@pytest.fixture(scope="module")
def one_quarter(tmp_path_factory):
    """A report with PDF on a one-quarter warehouse without the routing marts."""
    tmp = tmp_path_factory.mktemp("report1")
    wh = make_warehouse(tmp / "wh.duckdb", base_tables())
    result = build_report(wh, out_dir=tmp / "out")
    return result, result.html.read_text(encoding="utf-8")


# ------------------------------------------------------------------------------------------ formatting


class TestFormat:
    @pytest.mark.parametrize(
        ("value", "expected"),
        [
            (0.3212345, "32.1 %"),
            (0.0, "0.0 %"),
            (None, fmt.DASH),
            (float("nan"), fmt.DASH),
        ],
    )
    def test_pct(self, value, expected):
        assert fmt.pct(value) == expected

    def test_interval(self):
        assert fmt.pct_ci(0.321, 0.319, 0.323) == "32.1 % [31.9, 32.3]"
        assert fmt.num_ci(0.69267, 0.69147, 0.69391, 3) == "0.693 [0.691, 0.694]"

    @pytest.mark.parametrize(
        ("value", "expected"), [(2.19, "$2.19"), (0.2834, "$0.28"), (0.0751, "$0.075"), (1234.5, "$1,234.50")]
    )
    def test_usd(self, value, expected):
        assert fmt.usd(value) == expected

    def test_no_negative_zero(self):
        # the routing marts hold changes like -4.4e-14 % (a float sum that should be 0)
        assert fmt.pct_value(-4.440892098500626e-14) == "0.0 %"
        assert fmt.num(-0.0001, 2) == "0.00"

    def test_ms_and_counts(self):
        assert fmt.ms(1234.567) == "1,235 ms"
        assert fmt.count(3511866.6) == "3,511,867"
        assert fmt.tokens(20_100_000_000) == "20.1 B"

    @pytest.mark.parametrize(
        ("cur", "prev", "kind", "expected"),
        [
            (0.3212, 0.3049, "pp", "+1.6 pp"),  # (0.3212 - 0.3049) * 100 = 1.63
            (0.30, 0.3004, "pp", "0.0 pp"),  # -0.04 pp rounds to zero: no "-0.0"
            (0.693, 0.701, "abs3", "-0.008"),
            (14.0, 10.5, "days", "+3.5 days"),
            (600.0, 500.0, "rel", "+20.0 %"),
            (55, 60, "count", "-5"),
            (None, 0.3, "pp", None),
        ],
    )
    def test_change(self, cur, prev, kind, expected):
        assert fmt.change(cur, prev, kind) == expected


class TestQuarters:
    def test_previous_quarter(self):
        assert previous_quarter("2025Q4") == "2025Q3"
        assert previous_quarter("2025Q1") == "2024Q4"

    def test_quarter_dates(self):
        assert [d.isoformat() for d in quarter_dates("2025Q4")] == ["2025-10-01", "2026-01-01"]

    def test_rejects_a_month(self):
        with pytest.raises(ValueError, match="not a quarter"):
            previous_quarter("2025-11")


# ------------------------------------------------------------------------------------------ the report


class TestEscaping:
    def test_provider_named_like_a_script_renders_as_text(self, one_quarter):
        _result, html = one_quarter
        assert EVIL not in html
        assert (
            "&lt;script&gt;alert(1)&lt;/script&gt;" in html
        )  # in the tables (Jinja) and in the chart SVG (vl-convert)
        assert "<script" not in html.lower()
        # the chart that names providers carries the escaped name too
        svgs = re.findall(r"<svg.*?</svg>", html, re.S)
        assert any("&lt;script&gt;" in svg for svg in svgs)


class TestSelfContained:
    def test_no_external_reference(self, one_quarter):
        assert_self_contained(one_quarter[1])

    def test_charts_are_inline_svg_and_pngs(self, one_quarter):
        result, html = one_quarter
        n_svg = len(re.findall(r"<svg\b", html))
        assert n_svg == len(result.pngs) > 0
        assert len(list((result.out_dir / "charts").glob("*.png"))) == n_svg
        for png in result.pngs:
            assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    def test_pdf(self, one_quarter):
        result, _html = one_quarter
        assert result.pdf is not None and result.pdf_error is None
        assert result.pdf.read_bytes()[:5] == b"%PDF-"

    def test_pdf_draws_each_chart_as_its_png(self, one_quarter):
        # the PDF is laid out from the PNGs (one image each, plus its alpha mask), not from SVG
        result, _html = one_quarter
        images = len(re.findall(rb"/Subtype\s*/Image", result.pdf.read_bytes()))
        assert images >= len(result.pngs) > 0

    def test_png_size_reads_the_header(self, tmp_path):
        import struct
        import zlib

        from pipeline.lib.report.render import png_size

        def chunk(kind, data):
            return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

        png = tmp_path / "3x2.png"
        png.write_bytes(
            b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", struct.pack(">IIBBBBB", 3, 2, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00" + b"\x00" * 9 + b"\x00" + b"\x00" * 9))
            + chunk(b"IEND", b"")
        )
        assert png_size(png) == (3, 2)


class TestNumbers:
    def test_no_long_floats(self, one_quarter):
        # every mart value above carries 7-10 decimals; none may reach the reader unformatted
        text = visible_text(one_quarter[1])
        assert not LONG_FLOAT.findall(text)

    def test_headlines_read_from_the_marts(self, one_quarter):
        result, html = one_quarter
        heads = {h.label: h for h in result.headlines}
        assert heads["Largest family's share of requests"].text == "32.1 %"
        assert heads["Top-5 families' share of requests"].interval == "[87.3, 87.5]"  # 0.87377 - 0.0009, + 0.0011
        assert heads["Requests in the quarter (weighted)"].text == "600"  # 330 + 150 + 120
        # provider faults: (7 + 7) / (1000 + 500)
        assert heads["Provider-fault share of requests"].text == fmt.pct(14 / 1500, 2) == "0.93 %"
        assert "32.1 %" in html and "0.93 %" in html

    def test_coverage_and_demand_read_from_the_marts(self, one_quarter):
        html = one_quarter[1]
        text = visible_text(html)
        # ingest audit: read 105 + 10 = 115, loaded 100 + 10 = 110, quarantined 3 (3 / 115 = 2.609 %), duplicates 2
        assert (
            "The drop held 2 files with 115 rows. 110 rows were loaded, 3 quarantined with their reason (2.609 % of the rows "
            "read) and 2 recognised as duplicates; 0 files could not be read."
        ) in text
        assert table_rows(html, "What the warehouse holds for 2025Q4.") == [
            ["Days with requests", "92 of 92"],  # n_days of marts.concentration; Oct-Dec has 92 days
            ["Families with requests", "20"],
            ["Models with requests", "20"],
            ["Providers with requests", "20"],
            ["Requests (weighted by 1 / sample rate)", "600"],  # 330 + 150 + 120
            ["Tokens, input + output (weighted)", "740,700"],  # 600 x 1234.5
            ["Service objects listed (provider x model)", "2"],
            ["Service objects with latency probes", "2"],
            ["Latency probes", "26,000"],  # 2 x 13,000
        ]
        # family concentration: top-5 0.87377 (-0.0009, +0.0011), Gini 0.69267 (-0.0012345, +0.0011111), HHI 0.19
        assert (
            "Across 20 model families, the largest took 32.1 % of requests and the five largest 87.4 % [87.3, 87.5]; "
            "the Gini coefficient is 0.693 [0.691, 0.694] and the HHI 0.190."
        ) in text

    def test_request_rates_with_intervals_and_thin_cells(self, one_quarter):
        html = one_quarter[1]
        assert "1 of 2 service objects with requests rest on fewer than 1,000 effective requests" in visible_text(html)
        # sorted by error rate: the script-named provider (1.23 %) first, marked thin (250 effective requests)
        assert table_rows(html, "The ten highest provider-fault rates")[0][1:] == [
            "m1",
            "250 (thin)",
            "1.23 % [0.43, 3.47]",
            "0.60 % [0.11, 2.22]",
        ]

    def test_sections_in_the_order_of_the_study(self, one_quarter):
        html = one_quarter[1]
        titles = [
            "Data and coverage",
            "Demand concentration",
            "Version inertia",
            "Supply vs use",
            "Provider heterogeneity",
            "Reliability and error semantics",
            "Vendor verification",
            "What changed this quarter",
            "Task regimes",
            "Routing counterfactuals",
            "Provider leaderboard: m1",  # the most requested model with two providers (no run parameters)
            "Methods and definitions",
            "Threats to validity",
        ]
        positions = [html.index(f"{i}. {t}</h2>") for i, t in enumerate(titles, start=1)]
        assert positions == sorted(positions)

    def test_missing_marts_are_named_not_invented(self, one_quarter):
        result, html = one_quarter
        assert "Not available in this warehouse: marts.version_inertia." in html
        assert "Not available in this warehouse: marts.vendor_verification." in html
        assert "Not available in this warehouse: marts.service_changes." in html
        assert "marts.version_inertia" in result.missing_tables


class TestSparseWarehouse:
    def test_a_warehouse_with_one_mart_names_every_other(self, tmp_path):
        wh = make_warehouse(
            tmp_path / "wh.duckdb", {"marts.concentration": pl.DataFrame(concentration_rows("2025Q4", 0.5, 0.9, 0.4))}
        )
        result = build_report(wh, out_dir=tmp_path / "out", pdf=False)
        html = result.html.read_text(encoding="utf-8")
        for table in (
            "marts.ingest_audit",
            "marts.family_demand",
            "marts.service_objects",
            "marts.error_matrix",
            "marts.task_regimes",
            "marts.vendor_verification",
            "marts.routing_counterfactual",
        ):
            assert table in result.missing_tables and table in html
        assert {h.label: h.text for h in result.headlines}["Largest family's share of requests"] == "50.0 %"
        assert not LONG_FLOAT.findall(visible_text(html))


class TestVersionInertia:
    @staticmethod
    def pair(old, new, release, days, shares, pre):
        import datetime as dt

        return [
            {
                "family": "fam",
                "old_model": old,
                "new_model": new,
                "release_date": release,
                "days_since_release": d,
                "date": release + dt.timedelta(days=d),
                "old_requests": 100 * x,
                "new_requests": 100 * (1 - x),
                "old_share": x,
                "pre_release_old_share": pre,
                "half_life_days": 2 if pre else None,
            }
            for d, x in zip(days, shares, strict=True)
        ]

    def test_a_successor_released_before_the_quarter_is_named_with_its_last_share(self, tmp_path):
        import datetime as dt

        # in-quarter pair: released Nov 1, share 1.0 -> 0.4 at day 2; earlier pair: released
        # Sep 20, days 11..13 fall in Q4 (Oct 1..3) with shares 0.30, 0.25, 0.20; day 10 is Sep 30
        rows = self.pair("a1", "a2", dt.date(2025, 11, 1), [-1, 0, 1, 2], [1.0, 0.9, 0.6, 0.4], 1.0)
        rows += self.pair("<b1>", "b2", dt.date(2025, 9, 20), [10, 11, 12, 13], [0.35, 0.30, 0.25, 0.20], None)
        wh = make_warehouse(tmp_path / "wh.duckdb", {**base_tables(), "marts.version_inertia": pl.DataFrame(rows)})
        html = build_report(wh, out_dir=tmp_path / "out", pdf=False).html.read_text(encoding="utf-8")
        section = visible_text(html[html.index("3. Version inertia") : html.index("4. Supply vs use")])
        assert (
            "1 successor variant was released in 2025Q4. Demand moved to the successor with a half-life of 2 days."
            in section
        )
        assert "<b1> \u2192 b2 (released 2025-09-20): 20.0 % on day 13" in section
        assert "&lt;b1&gt;" in html and "<b1>" not in html  # a model name is data: escaped


class TestRouting:
    def test_without_the_routing_marts_the_section_says_so(self, one_quarter):
        result, html = one_quarter
        section = chapter(html, "routing")
        assert "Not available in this warehouse: marts.routing_counterfactual, marts.routing_policies." in section
        assert "routing marts are not in this warehouse" in section
        assert "<svg" not in section and "<table" not in section
        assert {"marts.routing_counterfactual", "marts.routing_policies"} <= set(result.missing_tables)

    def test_with_the_routing_marts_the_section_presents_them(self, tmp_path):
        wh = make_warehouse(tmp_path / "wh.duckdb", {**base_tables(), **routing_frames("2025Q4")})
        result = build_report(wh, out_dir=tmp_path / "out", pdf=False)
        html = result.html.read_text(encoding="utf-8")
        section = chapter(html, "routing")
        assert "Not available" not in section
        assert not any(t.startswith("marts.routing") for t in result.missing_tables)
        # m1, cost, causal: change = 100 * (98.7654321 / 123.456789 - 1) + 2.5 = -17.5 %, interval -1.23456 / +1.3456789
        change = 100 * (98.7654321 / 123.456789 - 1) + 2.5
        assert f"{change:.1f} % [{change - 1.23456:.1f}, {change + 1.3456789:.1f}]" == "-17.5 % [-18.7, -16.2]"
        assert "-17.5 % [-18.7, -16.2]" in section
        assert "$123" in section  # the baseline cost, a total: whole dollars from $100 up
        assert "46 tok/s" in section  # the baseline throughput, 45.68 tok/s
        # marts.routing_policies: total cost per policy over m1 and m2 = 2 x 98.7654321 = $198
        assert "$198" in section
        # the most routed model (m1, 1,200 requests) comes first
        assert section.index(">m1<") < section.index(">m2<")
        assert section.count("<svg") == 2  # per-model changes and the policy trade-off
        # headline and summary: all models together. cost: sum routed / sum baseline - 1 = 2 x 98.7654321 / (2 x 123.456789) - 1 = -20.0 %;
        # throughput, re-weighted by requests routed: 61.2345678 x 1500 / (45.678912 x 1500) - 1 = +34.1 %
        heads = {h.label: h for h in result.headlines}
        assert 100 * (98.7654321 / 123.456789 - 1) == pytest.approx(-20.0, abs=0.01)
        assert heads["Cost change from routing"].text == "-20.0 %"
        assert heads["Cost change from routing"].detail == "causal policy, all 2 models together"
        assert heads["Throughput change from routing"].text == f"{100 * (61.2345678 / 45.678912 - 1):.1f} %" == "34.1 %"
        totals = re.search(r"all models together.*?</table>", section, re.S).group(0)
        row = re.search(r"<tr>\s*<td[^>]*>cost</td><td[^>]*>causal</td>(.*?)</tr>", totals, re.S).group(1)
        assert re.findall(r">([^<]+)</td>", row) == [
            "2",
            "1,500",
            "34",
            "-20.0 %",
        ]  # 1,200 + 300 routed, 17 + 17 excluded
        assert not LONG_FLOAT.findall(visible_text(html))
        # a quarter of each model's routed requests had their cache hits estimated: 375 of 1,500
        assert "Cache hits: 25.0 % of the routed requests (375 of 1,500, weighted)" in visible_text(section)

    def test_the_staleness_sentence_reads_marts_routing_staleness(self, tmp_path):
        # all models: the frozen order paid 34 / 30 - 1 = +13.3 % [+9.0, +17.5] and decoded
        # 45 / 55 - 1 = -18.2 % [-20.0, -16.1]; a per-model row is not quoted
        def row(model, objective, causal, frozen, lo, hi):
            return {
                "period": "2025Q4",
                "period_type": "quarter",
                "model": model,
                "objective": objective,
                "requests_routed": 1500.0,
                "n_days": 92,
                "redeciding_policy": "cheapest_list_price" if objective == "cost" else "fastest",
                "frozen_policy": "frozen_cheapest" if objective == "cost" else "frozen_fastest",
                "redeciding_value": causal,
                "frozen_value": frozen,
                "redeciding_change_pct": -50.0,
                "frozen_change_pct": -43.3,
                "staleness_pct": 100 * (frozen / causal - 1),
                "staleness_ci_low": lo,
                "staleness_ci_high": hi,
            }

        stale = pl.DataFrame(
            [
                row("(all models)", "cost", 30.0, 34.0, 9.0, 17.5),
                row("(all models)", "throughput", 55.0, 45.0, -20.0, -16.1),
                row("m1", "cost", 10.0, 20.0, 90.0, 110.0),
            ]
        )
        tables = {**base_tables(), **routing_frames("2025Q4"), "marts.routing_staleness": stale}
        result = build_report(make_warehouse(tmp_path / "wh.duckdb", tables), out_dir=tmp_path / "out", pdf=False)
        text = visible_text(result.html.read_text(encoding="utf-8"))
        assert "How much staleness cost, all models together" in text
        assert f"{100 * (34 / 30 - 1):.1f} % [9.0, 17.5]" == "13.3 % [9.0, 17.5]"
        assert (
            "list price at the start of the quarter differed by 13.3 % [9.0, 17.5] from the same order re-decided"
            in text
        )
        assert "first day differed by -18.2 % [-20.0, -16.1] from the fastest" in text
        assert "100.0 % [90.0, 110.0]" not in text  # m1's own row is in the mart, not in the sentence

    def test_the_capacity_sentence_reads_the_capacity_marts(self, tmp_path):
        # 2 of 3 service objects are capacity-limited; m1's cheapest policy saved 60.0 % as replayed
        # and 50.0 % [-51.0, -49.0] once 22 % of its requests were refused and sent to the official
        # API; m2's routing met no limited provider (fallback 0): not quoted
        fits = pl.DataFrame(
            [
                {"model": "m1", "provider": p, "capacity_limited": limited}
                for p, limited in (("a", True), ("b", True), ("off", False))
            ]
        )

        def row(model, fallback, change, capacity):
            return {
                "period": "2025Q4",
                "period_type": "quarter",
                "model": model,
                "objective": "cost",
                "policy": "cheapest",
                "requests_routed": 1000.0,
                "n_days": 92,
                "fallback_share": fallback,
                "change_pct": change,
                "capacity_change_pct": capacity,
                "capacity_change_pct_ci_low": capacity - 1,
                "capacity_change_pct_ci_high": capacity + 1,
            }

        routed = pl.DataFrame([row("m1", 0.22, -60.0, -50.0), row("m2", 0.0, -30.0, -30.0)])
        tables = {
            **base_tables(),
            **routing_frames("2025Q4"),
            "marts.provider_capacity": fits,
            "marts.routing_capacity": routed,
        }
        result = build_report(make_warehouse(tmp_path / "wh.duckdb", tables), out_dir=tmp_path / "out", pdf=False)
        text = visible_text(result.html.read_text(encoding="utf-8"))
        assert "Capacity: 2 of 3 service objects refuse more" in text
        assert "m1, cheapest: -60.0 % without, -50.0 % [-51.0, -49.0] with 22.0 % of its requests refused" in text
        assert "m2, cheapest" not in text


@pytest.fixture(scope="module")
def with_changes(tmp_path_factory):
    """A report (no PDF) on the one-quarter warehouse with the changelog of change_tables: the
    result, the HTML and the section's HTML."""
    tmp = tmp_path_factory.mktemp("changes")
    wh = make_warehouse(tmp / "wh.duckdb", {**base_tables(), **change_tables()})
    result = build_report(wh, out_dir=tmp / "out", pdf=False)
    html = result.html.read_text(encoding="utf-8")
    return result, html, html[html.index("8. What changed this quarter") : html.index("9. Task regimes")]


class TestChanges:
    def test_the_largest_change_comes_first_with_its_provider(self, with_changes):
        _result, html, _section = with_changes
        rows = table_rows(html, "The largest changes of 2025Q4")
        # +50 % (p1, 400 -> 600 ms), -35 % (p2, 80 -> 52 tok/s), -20 % (the price cut), then the endpoint change
        assert [r[1] for r in rows] == ["p1", "p2", EVIL, "p2"]
        assert rows[0] == [
            "2025-11-10",
            "p1",
            "m1",
            "TTFT p50",
            "400 ms \u2192 600 ms",
            "+50.0 % [42.1, 58.3]",
            "< 0.001",
            "14 / 14 days, 2,016 / 2,016 samples",
            "yes",
        ]
        assert rows[1][4:8] == [
            "80 tok/s \u2192 52 tok/s",
            "-35.0 % [-39.0, -30.5]",
            "0.004",
            "7 / 14 days, 1,008 / 2,016 samples",
        ]
        assert rows[2][4:8] == ["$1.00/Mtok \u2192 $0.80/Mtok", "-20.0 %", fmt.DASH, "exact: price snapshots"]
        assert rows[3][3:6] == ["quantization", "fp8 \u2192 fp4", fmt.DASH]

    def test_the_paragraph_counts_the_changes_and_names_the_official_api(self, with_changes):
        text = visible_text(with_changes[2])
        # in 2025Q4: 2 change points, 1 price, 1 quantization; the delisting apart; only p1 is official
        assert (
            "2025Q4 saw 4 dated changes of service objects: 2 found as change points in the noisy daily series, "
            "1 exact change of a listed price and 1 of an endpoint"
        ) in text
        assert "1 of them is at a model's official API: p1 for m1." in text
        assert (
            "Listings, delistings and relistings (1) are counted apart: the timeline and the table leave them out."
            in text
        )
        assert "p < 0.01" in text and "docs/change-detection.md" in text

    def test_a_change_outside_the_period_is_not_shown(self, with_changes):
        _result, html, section = with_changes
        days = [r[0] for r in table_rows(html, "The largest changes of 2025Q4")]
        assert "2025-09-20" not in days and "2026-01-05" not in days
        assert "-80.0 %" not in section and "+90.0 %" not in section  # 500 -> 100 ms, $1.00 -> $1.90
        assert "p3" not in section  # p3's only change is in 2026Q1
        assert "2025-09-20" not in section and "2026-01-05" not in section

    def test_provider_names_are_escaped(self, with_changes):
        _result, html, section = with_changes
        assert EVIL not in html
        escaped = "&lt;script&gt;alert(1)&lt;/script&gt;"
        assert escaped in re.sub(r"<svg.*?</svg>", "", section, flags=re.S)  # the table (Jinja)
        assert any(escaped in svg for svg in re.findall(r"<svg.*?</svg>", section, re.S))  # the timeline (vl-convert)

    def test_charts_a_timeline_and_the_changed_series(self, with_changes):
        result, _html, section = with_changes
        assert section.count("<svg") == 2
        assert [p.name.split("_", 1)[1] for p in result.pngs if "changes" in p.name] == [
            "changes_timeline.png",
            "changes_series.png",
        ]
        svgs = re.findall(r"<svg.*?</svg>", section, re.S)
        # the series panels are titled by service object: p1's TTFT first (+50 %), then p2's throughput (-35 %)
        assert svgs[1].index("p1 \u00b7 m1") < svgs[1].index("p2 \u00b7 m2")
        assert not LONG_FLOAT.findall(visible_text(section))

    def test_endpoint_changes_keep_their_rows_among_many_price_changes(self, tmp_path):
        from pipeline.lib.marts.service_changes import SCHEMA

        # provider q<i> raises its input price from $1.00 to $1.00 + i cents: +i %, i = 1..20
        rows = [
            change(f"q{i:02d}", "m9", "input_usd_per_mtok", "2025-11-01", "price_snapshot", 1.0, 1.0 + i / 100)
            for i in range(1, 21)
        ]
        rows += [
            change("q01", "m9", "context_length", "2025-10-05", "endpoint_state", 131072.0, 65536.0),
            change("q02", "m9", "quantization", "2025-12-05", "endpoint_state", None, None, before_text="bf16",
                   after_text="fp8"),
        ]  # fmt: skip
        tables = {**base_tables(), "marts.service_changes": pl.DataFrame(rows, schema=SCHEMA)}
        wh = make_warehouse(tmp_path / "wh.duckdb", tables)
        html = build_report(wh, out_dir=tmp_path / "out", pdf=False).html.read_text(encoding="utf-8")
        got = table_rows(html, "The largest changes of 2025Q4")
        # 15 rows: the 13 largest price changes (+20 % down to +8 %), then both endpoint changes, the
        # quantization switch first
        assert [r[5] for r in got[:13]] == [f"+{i}.0 %" for i in range(20, 7, -1)]
        assert [(r[1], r[3], r[4]) for r in got[13:]] == [
            ("q02", "quantization", "bf16 \u2192 fp8"),
            ("q01", "context length", "131,072 tokens \u2192 65,536 tokens"),
        ]
        assert (
            "15 of 22 changes shown: the 13 largest of 20 detected and price changes, 2 of 2 endpoint changes" in html
        )
        # no detected change: no series figure
        section = html[html.index("8. What changed this quarter") : html.index("9. Task regimes")]
        assert section.count("<svg") == 1

    def test_without_the_daily_series_their_figure_is_named_missing(self, tmp_path):
        tables = {**base_tables(), **change_tables()}
        del tables["marts.service_metric_daily"]
        wh = make_warehouse(tmp_path / "wh.duckdb", tables)
        html = build_report(wh, out_dir=tmp_path / "out", pdf=False).html.read_text(encoding="utf-8")
        section = html[html.index("8. What changed this quarter") : html.index("9. Task regimes")]
        assert "Not available in this warehouse: marts.service_metric_daily." in section
        assert section.count("<svg") == 1 and section.count("<table") == 1  # the timeline and the table stay

    def test_a_period_without_changes_says_so_in_one_line(self, tmp_path):
        tables = change_tables()
        # only the changes outside 2025Q4 and the delisting
        tables["marts.service_changes"] = tables["marts.service_changes"].filter(
            (pl.col("changed_at").dt.quarter() != 4) | (pl.col("metric") == "listing")
        )
        wh = make_warehouse(tmp_path / "wh.duckdb", {**base_tables(), **tables})
        html = build_report(wh, out_dir=tmp_path / "out", pdf=False).html.read_text(encoding="utf-8")
        section = html[html.index("8. What changed this quarter") : html.index("9. Task regimes")]
        assert re.findall(r"<p>(.*?)</p>", section, re.S) == [
            "No price, endpoint or level of a service object changed in 2025Q4 (1 listing event aside)."
        ]
        assert "<svg" not in section and "<table" not in section


class TestAPeriodWithoutData:
    def test_every_section_without_data_says_so_in_one_line(self, tmp_path):
        """Every mart the report reads is in the warehouse with its declared columns, and none holds
        a row of 2025Q3 but marts.supply_use_summary (which makes the quarter one the warehouse
        holds): each study section is one line, never a bare heading or an empty table."""
        from pipeline.lib import registry

        def empty(o):
            cols = ", ".join(f'cast(null as {c.type}) as "{c.name}"' for c in o.columns)
            return duckdb.sql(f"select {cols} where false").pl()

        tables = {
            o.table: empty(o)
            for o in registry.outputs().values()
            if o.schema == "marts" and o.factory != "sql" and not o.built_by[0].startswith("sql/views/")
        }
        summary = tables["marts.supply_use_summary"]
        tables["marts.supply_use_summary"] = pl.concat(
            [summary, pl.DataFrame([{"period": "2025Q3", "period_type": "quarter", "n_models": 0}])],
            how="diagonal_relaxed",
        ).select(summary.columns)
        wh = make_warehouse(tmp_path / "wh.duckdb", tables)
        result = build_report(wh, period="2025Q3", out_dir=tmp_path / "out", pdf=False)
        html = result.html.read_text(encoding="utf-8")
        assert result.missing_tables == []
        keys = [s.key for s in result.sections if s.key not in ("coverage", "methods", "threats")]
        assert keys == [
            "demand",
            "inertia",
            "supply_use",
            "heterogeneity",
            "reliability",
            "verification",
            "changes",
            "regimes",
            "routing",
            "leaderboard",
        ]
        for key in keys:
            section = chapter(html, key)
            lines = re.findall(r"<p[^>]*>(.*?)</p>", section, re.S)
            assert len(lines) == 1 and "2025Q3" in lines[0], (key, lines)
            assert "<table" not in section and "<svg" not in section, key


def leaderboard_rows(period: str = "2025Q4") -> list[dict]:
    """Model m2 at five providers, worked out by hand. Blended list prices 0.75 x input + 0.25 x output:
    alpha (official) 0.3, beta 0.15, gamma 0.75 x 1e4 + 0.25 x 3e4 = 15,000 (a unit slip), delta 0.6
    (never probed), the script-named provider 0.45. The model's median price is 0.45; gamma is
    33,333 times it: implausible. Ranks (price / TTFT / decode / reliability), worked out from the
    figures below: beta 1/1/1/3, alpha 2/3/3/2, the script 3/2/2/1, delta 4/-/-/-, gamma -/4/4/4."""
    like = service_rows(period)[0]
    out = []
    for provider, official, inp, outp, ttft, decode, success in (
        ("alpha", True, 0.2, 0.6, 400.0, 60.0, 0.99),
        ("beta", False, 0.1, 0.3, 300.0, 90.0, 0.98),
        ("gamma", False, 1e4, 3e4, 500.0, 40.0, 0.97),
        ("delta", False, 0.4, 1.2, None, None, None),
        (EVIL, False, 0.3, 0.9, 350.0, 70.0, 0.995),
    ):
        out.append(
            {
                **like,
                "model": "m2",
                "provider": provider,
                "is_official": official,
                "input_usd_per_mtok": inp,
                "output_usd_per_mtok": outp,
                "blended_usd_per_mtok": 0.75 * inp + 0.25 * outp,
                "ttft_p50_ms": ttft,
                "ttft_p90_ms": None if ttft is None else 2 * ttft,
                "decode_tps_p50": decode,
                "probes": 0 if success is None else 13_000,
                "probe_success_rate": success,
                "probe_success_rate_ci_low": None if success is None else success - 0.002,
                "probe_success_rate_ci_high": None if success is None else min(1.0, success + 0.002),
                "requests": 10.0,  # m1 (1,500 requests) stays the most requested model
            }
        )
    return out


def run_parameters(sensitivity_models: str) -> pl.DataFrame:
    return pl.DataFrame(
        [
            {
                "name": "sensitivity_models",
                "value": sensitivity_models,
                "value_num": None,
                "unit": None,
                "description": "",
            }
        ],
        schema={
            "name": pl.String,
            "value": pl.String,
            "value_num": pl.Float64,
            "unit": pl.String,
            "description": pl.String,
        },
    )


@pytest.fixture(scope="module")
def with_leaderboard(tmp_path_factory):
    """m1 (two providers, the most requested) and m2 (five); the run names m2 and m9 (not in the drop)
    as its headline models, so m2 alone gets a page."""
    tmp = tmp_path_factory.mktemp("leaderboard")
    tables = base_tables()
    tables["marts.service_objects"] = pl.DataFrame(service_rows("2025Q4") + leaderboard_rows())
    tables["marts.run_parameters"] = run_parameters("m9, m2")
    result = build_report(make_warehouse(tmp / "wh.duckdb", tables), out_dir=tmp / "out", pdf=False)
    html = result.html.read_text(encoding="utf-8")
    return result, html, chapter(html, "leaderboard-1")


class TestLeaderboard:
    def test_one_page_per_headline_model_the_runs_own(self, with_leaderboard):
        result, html, page = with_leaderboard
        pages = [s for s in result.sections if s.key.startswith("leaderboard")]
        assert [(s.key, s.title, s.page_break) for s in pages] == [("leaderboard-1", "Provider leaderboard: m2", True)]
        assert '<section class="chapter page" id="leaderboard-1">' in html  # a page of its own in print
        assert page.count("<svg") == 1  # one chart per headline model: each costs a quarter of a second

    def test_the_table_names_every_provider_cheapest_first_with_ranks(self, with_leaderboard):
        _, html, _ = with_leaderboard
        rows = table_rows(html, "Providers of m2, 2025Q4")
        assert [r[0] for r in rows] == ["beta", "alpha (official)", EVIL, "delta", "gamma"]
        assert [r[-1] for r in rows] == [
            "1 / 1 / 1 / 3",
            "2 / 3 / 3 / 2",
            "3 / 2 / 2 / 1",
            "4 / \u2013 / \u2013 / \u2013",
            "\u2013 / 4 / 4 / 4",
        ]
        assert [r[1] for r in rows] == ["$0.15", "$0.30", "$0.45", "$0.60", "$15,000.00 (implausible)"]
        beta = rows[0]
        # TTFT p50 / p90, decode, probe success with its interval, the official API's verdict cell
        assert beta[2:5] == ["300 / 600", "90", "98.0 % [97.8, 98.2]"]
        assert rows[1][6] == "reference" and beta[8] == "fp8" and beta[7] == "131,072"

    def test_the_chart_labels_every_drawn_provider_and_lists_the_others(self, with_leaderboard):
        _, html, page = with_leaderboard
        svg = page[page.index("<svg") : page.index("</svg>")]
        for label in ("beta", "alpha (official)", "gamma ($15,000.00, off scale)"):
            assert f">{label}</text>" in svg, label
        assert "&lt;script&gt;alert(1)&lt;/script&gt;</text>" in svg  # a name from the data, escaped
        assert "<script>" not in html
        caption = visible_text(page[page.index("<figcaption") :])
        assert "Not drawn (no price or no successful probe): delta." in caption
        # the implausible price is named in the text with the median it is judged against
        assert "gamma at $15,000.00 against $0.45" in visible_text(page)

    def test_the_heterogeneity_dots_leave_the_implausible_price_off_their_axis(self, with_leaderboard):
        _, html, _ = with_leaderboard
        section = visible_text(chapter(html, "heterogeneity"))
        assert (
            "Not drawn, their price implausible (over 100 times or under 1/100 of the model's median price" in section
        )
        assert "gamma for m2." in section

    def test_without_run_parameters_the_most_requested_multi_provider_models(self, one_quarter):
        result, _ = one_quarter
        assert [s.title for s in result.sections if s.key.startswith("leaderboard")] == ["Provider leaderboard: m1"]


class TestPriceSpeedChart:
    def test_an_implausible_price_sits_at_the_edge_and_sets_no_scale(self):
        from pipeline.lib.report import charts

        df = pl.DataFrame(
            {
                "provider": ["alpha", "beta", "gamma"],
                "price": [0.3, 0.15, 15_000.0],
                "decode_tps_p50": [60.0, 90.0, 40.0],
                "role": ["official API", "other provider", "other provider"],
                "implausible": [False, False, True],
                "price_text": ["$0.30", "$0.15", "$15,000.00"],
            }
        )
        spec = charts.price_speed(df, "m2").to_dict()
        # the axis runs from 0 to 1.15 x the highest plausible price, 0.3: 0.345, not to 15,000
        x = spec["layer"][0]["encoding"]["x"]
        assert x["scale"]["domain"] == [0, pytest.approx(0.345)]
        values = {r["provider"]: r for r in next(iter(spec["datasets"].values()))}
        assert values["gamma"]["x"] == pytest.approx(0.345)  # at the right edge
        assert values["gamma"]["text"] == "gamma ($15,000.00, off scale)"
        assert values["alpha"]["text"] == "alpha (official)" and values["beta"]["x"] == 0.15


class TestPreviousQuarter:
    def test_changes_against_the_previous_quarter(self, tmp_path):
        tables = base_tables()
        tables["marts.concentration"] = pl.DataFrame(
            concentration_rows("2025Q3", 0.3049, 0.8601, 0.6811) + concentration_rows("2025Q4", 0.3212, 0.8737, 0.6927)
        )
        tables["marts.family_demand"] = pl.DataFrame(
            family_rows("2025Q3", [300.0, 200.0]) + family_rows("2025Q4", [330.0, 150.0, 120.0])
        )
        wh = make_warehouse(tmp_path / "wh.duckdb", tables)
        result = build_report(wh, out_dir=tmp_path / "out", pdf=False)
        assert (result.period, result.previous) == ("2025Q4", "2025Q3")
        heads = {h.label: h for h in result.headlines}
        # by hand: top-1 32.12 % - 30.49 % = +1.63 pp; Gini 0.6927 - 0.6811 = +0.0116; requests 600 / 500 - 1 = +20 %
        assert heads["Largest family's share of requests"].change == "+1.6 pp"
        assert heads["Top-5 families' share of requests"].change == "+1.4 pp"  # 87.37 - 86.01 = 1.36
        assert heads["Gini coefficient across families"].change == "+0.012"
        assert heads["Requests in the quarter (weighted)"].change == "+20.0 %"
        assert heads["Largest family's share of requests"].previous == "30.5 %"
        # the service marts hold only 2025Q4: no change is claimed for them
        assert heads["Provider-fault share of requests"].change is None
        html = result.html.read_text(encoding="utf-8")
        assert "Change vs 2025Q3" in html and "+1.6 pp" in html and "+20.0 %" in html

    def test_a_single_quarter_says_there_is_nothing_to_compare(self, one_quarter):
        result, html = one_quarter
        assert result.previous is None
        assert "The warehouse holds no 2025Q3" in html
        assert all(h.change is None for h in result.headlines)

    def test_an_older_quarter_can_be_reported(self, tmp_path):
        tables = base_tables()
        tables["marts.concentration"] = pl.DataFrame(
            concentration_rows("2025Q3", 0.3049, 0.8601, 0.6811) + concentration_rows("2025Q4", 0.3212, 0.8737, 0.6927)
        )
        wh = make_warehouse(tmp_path / "wh.duckdb", tables)
        result = build_report(wh, period="2025Q3", out_dir=tmp_path / "out", pdf=False)
        assert result.period == "2025Q3" and result.previous is None
        assert {h.label: h.text for h in result.headlines}["Largest family's share of requests"] == "30.5 %"

    def test_a_quarter_not_held_is_an_error(self, tmp_path):
        wh = make_warehouse(tmp_path / "wh.duckdb", base_tables())
        with pytest.raises(ValueError, match="holds no data for 2024Q1"):
            build_report(wh, period="2024Q1", out_dir=tmp_path / "out", pdf=False)


class TestWarehouseAccess:
    def test_read_only(self, tmp_path):
        wh = make_warehouse(tmp_path / "wh.duckdb", base_tables())
        with Warehouse(wh) as w, pytest.raises(duckdb.Error):
            w.con.execute("create table marts.x as select 1")

    def test_latest_quarter(self, tmp_path):
        tables = base_tables()
        tables["marts.concentration"] = pl.DataFrame(
            concentration_rows("2025Q3", 0.3, 0.8, 0.6) + concentration_rows("2025Q4", 0.3, 0.8, 0.6)
        )
        with Warehouse(make_warehouse(tmp_path / "wh.duckdb", tables)) as w:
            assert w.quarters() == ["2025Q3", "2025Q4"] and w.latest_quarter() == "2025Q4"

    @staticmethod
    def objects(period: str, n: int, with_data: int) -> list[dict]:
        """n service objects of `period`, the first `with_data` of them probed (the rest only listed)."""
        return [
            {
                **service_rows(period)[0],
                "period_type": "quarter" if "Q" in period else "month",
                "provider": f"p{i}",
                "probes": 100 if i < with_data else 0,
                "requests": 0.0,
            }
            for i in range(n)
        ]

    @pytest.mark.parametrize(
        ("q4_with_data", "expected"),
        [
            (1, "2025Q3"),  # a stray day of one provider: 1 of the 4 objects Q3 had, under half
            (2, "2025Q4"),  # half of the best quarter's: Q4 counts
            (5, "2025Q4"),
        ],
    )
    def test_the_default_quarter_has_data_for_most_service_objects(self, tmp_path, q4_with_data, expected):
        # Q3: 4 service objects with probes (and one listed only, not counted); Q4: 5 listed, q4_with_data
        # probed; a month of Q4 with all 5 probed must not count for the quarter
        rows = self.objects("2025Q3", 5, 4) + self.objects("2025Q4", 5, q4_with_data) + self.objects("2025-12", 5, 5)
        tables = {
            "marts.service_objects": pl.DataFrame(rows),
            "marts.concentration": pl.DataFrame(
                concentration_rows("2025Q3", 0.3, 0.8, 0.6) + concentration_rows("2025Q4", 0.3, 0.8, 0.6)
            ),
        }
        wh = make_warehouse(tmp_path / "wh.duckdb", tables)
        with Warehouse(wh) as w:
            assert w.quarters() == ["2025Q3", "2025Q4"]  # both are held; only the default moves
            assert w.objects_with_data() == {"2025Q3": 4, "2025Q4": q4_with_data}
            assert w.latest_quarter() == expected
        assert build_report(wh, out_dir=tmp_path / "out", pdf=False).period == expected

    def test_without_service_objects_the_default_is_the_latest_quarter_held(self, tmp_path):
        tables = {
            "marts.concentration": pl.DataFrame(
                concentration_rows("2025Q3", 0.3, 0.8, 0.6) + concentration_rows("2025Q4", 0.3, 0.8, 0.6)
            )
        }
        with Warehouse(make_warehouse(tmp_path / "wh.duckdb", tables)) as w:
            assert w.objects_with_data() == {} and w.latest_quarter() == "2025Q4"

    def test_default_out_dir_stays_beside_a_scratch_warehouse(self, tmp_path):
        assert default_out_dir(tmp_path / "wh.duckdb", "2025Q4") == tmp_path.resolve() / "reports" / "2025Q4"


class TestCliAndAsset:
    def test_cli_prints_the_paths(self, tmp_path):
        from pipeline.cli import main

        wh = make_warehouse(tmp_path / "wh.duckdb", base_tables())
        out = tmp_path / "out"
        res = CliRunner().invoke(
            main, ["report", "--period", "2025Q4", "--warehouse", str(wh), "--out", str(out), "--no-pdf"]
        )
        assert res.exit_code == 0, res.output
        assert str(out / "report.html") in res.output and "charts" in res.output
        assert "marts.routing_counterfactual" in res.output  # named as missing
        assert (out / "report.html").is_file() and not (out / "report.pdf").exists()

    def test_cli_rejects_a_bad_period(self, tmp_path):
        from pipeline.cli import main

        wh = make_warehouse(tmp_path / "wh.duckdb", base_tables())
        res = CliRunner().invoke(
            main, ["report", "--period", "2025-11", "--warehouse", str(wh), "--out", str(tmp_path / "o")]
        )
        assert res.exit_code != 0 and "not a quarter" in res.output

    def test_asset_materializes_with_metadata(self, tmp_path):
        from pipeline.defs.report.assets import QuarterlyReportConfig, quarterly_report
        from pipeline.defs.resources import ServicelensPaths

        wh = make_warehouse(tmp_path / "wh.duckdb", base_tables())
        result = dg.materialize(
            [quarterly_report],
            resources={"paths": ServicelensPaths(warehouse=str(wh), raw_dir=str(tmp_path / "no-drop"))},
            run_config=dg.RunConfig(
                {"quarterly_report": QuarterlyReportConfig(out_dir=str(tmp_path / "out"), pdf=False)}
            ),
        )
        assert result.success
        meta = result.asset_materializations_for_node("quarterly_report")[0].metadata
        assert meta["period"].value == "2025Q4"
        assert Path(meta["html"].value) == tmp_path / "out" / "report.html"
        assert meta["charts"].value == len(list((tmp_path / "out" / "charts").glob("*.png")))
        assert meta["Largest family's share of requests"].value == "32.1 %"
        assert "marts.routing_counterfactual" in meta["missing marts"].value


@pytest.mark.slow
def test_report_on_a_generated_warehouse(tmp_path, generated_quarter):
    """The whole pipeline on a small generated drop, then `servicelens report`: every section
    present, no long float, self-contained, one PNG per chart, a PDF."""
    from pipeline.cli import main

    (raw, warehouse), out = generated_quarter, tmp_path / "report"
    runner = CliRunner()
    res = runner.invoke(main, ["report", "--warehouse", str(warehouse), "--raw", str(raw), "--out", str(out)])
    assert res.exit_code == 0, res.output
    html = (out / "report.html").read_text(encoding="utf-8")
    assert_self_contained(html)
    assert not LONG_FLOAT.findall(visible_text(html))
    n_svg = len(re.findall(r"<svg\b", html))
    assert n_svg >= 10 and len(list((out / "charts").glob("*.png"))) == n_svg
    assert (out / "report.pdf").read_bytes()[:5] == b"%PDF-"
    # every analysis mart is present, so only routing may be missing
    missing = set(re.findall(r"Not available in this warehouse: ([^<]+)\.", html))
    assert missing <= {"marts.routing_counterfactual, marts.routing_policies"}
    assert "Synthetic data" in html  # the generator's manifest matches the audit
    # a figure from the marts, formatted: the top family's share as in marts.concentration
    con = duckdb.connect(str(warehouse), read_only=True)
    top1 = con.execute(
        "select top1_share from marts.concentration where period = '2025Q4' and level = 'family' and measure = 'requests'"
    ).fetchone()[0]
    con.close()
    key_figure = re.search(r"Largest family's share of requests</a></td><td[^>]*>([^<]+)</td>", unescape(html)).group(1)
    assert key_figure == f"{100 * top1:.1f} %"


def test_the_replay_validation_table_puts_logs_beside_the_replay():
    from pipeline.lib.report.sections.routing_trust import VALIDATION_MIN_REQUESTS, replay_validation_table

    def row(provider, metric, n, pred, obs, gap, lo, hi):
        return {
            "model": "m1",
            "provider": provider,
            "metric": metric,
            "requests_logged": n,
            "predicted_value": pred,
            "observed_value": obs,
            "gap_pct": gap,
            "gap_pct_ci_low": lo,
            "gap_pct_ci_high": hi,
        }

    df = pl.DataFrame(
        [
            row("a", "ttft_ms", 100, 200.0, 250.0, 25.0, 20.0, 30.0),
            row("a", "decode_tps", 100, 50.0, 45.0, -10.0, -12.0, -8.0),
            row("a", "failure_rate", 120, 0.01, 0.02, 100.0, 50.0, 150.0),
            # too few logged requests to be worth a row
            row("b", "ttft_ms", VALIDATION_MIN_REQUESTS - 1, 100.0, 500.0, 400.0, 300.0, 500.0),
        ]
    )
    table = replay_validation_table(df)
    assert [r[:3] for r in table.rows] == [["m1", "a", "120"]]
    assert table.rows[0][3] == "25.0 % [20.0, 30.0]"
    assert table.rows[0][4] == "-10.0 % [-12.0, -8.0]"
    # failures read as rates, observed vs assumed, not as a percent of a small rate
    assert table.rows[0][5] == "2.0 % vs 1.0 %"
    assert replay_validation_table(df.filter(pl.col("provider") == "b")) is None


def test_the_learned_policy_sentence_reads_marts_routing_recommendations(tmp_path):
    # qwen3-32b's learned cost order realised -40.0 % [-42.5, -37.1]; deepseek-v3.2 has no row
    # (released in the test month: nothing to learn from); an application row is not quoted
    def row(segment, kind, realised):
        return {
            "model": "qwen3-32b",
            "segment": segment,
            "segment_kind": kind,
            "objective": "cost",
            "providers": ["deepinfra", "alibaba"],
            "baseline_provider": "alibaba",
            "train_start": dt.date(2025, 10, 1),
            "train_end": dt.date(2025, 11, 30),
            "test_start": dt.date(2025, 12, 1),
            "test_end": dt.date(2025, 12, 31),
            "predicted_change_pct": -41.0,
            "predicted_change_pct_ci_low": -45.0,
            "predicted_change_pct_ci_high": -36.0,
            "realised_change_pct": realised,
            "realised_change_pct_ci_low": realised - 2.5,
            "realised_change_pct_ci_high": realised + 2.9,
            "oracle_change_pct": -61.0,
            "max_ttft_p90_ms": 2000.0,
            "min_probe_success": 0.95,
            "capacity_floor": True,
        }

    rec = pl.DataFrame([row("(all)", "model", -40.0), row("chat", "application", -77.0)])
    tables = {**base_tables(), **routing_frames("2025Q4"), "marts.routing_recommendations": rec}
    result = build_report(make_warehouse(tmp_path / "wh.duckdb", tables), out_dir=tmp_path / "out", pdf=False)
    text = visible_text(result.html.read_text(encoding="utf-8"))
    assert (
        "qwen3-32b (cost, study -37.8 %): deepinfra > alibaba realised -40.0 % [-42.5, -37.1] in 2025-12-01..2025-12-31"
        in text
    )
    assert "(predicted -41.0 % [-45.0, -36.0]; oracle -61.0 %)" in text
    assert "deepseek-v3.2 (throughput, study about +90 %): no training traffic in the window, nothing learned" in text
    assert "-77.0 %" not in text
    assert "quantization at least the official's, no capacity-limited provider" in text
