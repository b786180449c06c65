"""Hostile values: numbers at the edges of float range and strings of any content or length
never fail or hang a step.

`write_hostile_files(drop)` adds one file per case to a generated drop (also runnable:
`.venv/bin/python -m tests.lib.test_hostile_values DROP`); the end-to-end test runs the whole
pipeline and the report on it.
"""

from __future__ import annotations

import csv
import json
import math
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from pipeline.lib.labels import ELLIPSIS, LIMIT, label, label_columns, label_map

# --------------------------------------------------------------------------- the hostile drop

NUL_APP = "a\u0000b"
HUGE_APP = "H" * 3_000_000  # 3 MB of one label
RTL_APP = "\u202egnp.exe\u202c rtl \u200fmark\u2066iso\u2069"
# Two labels that agree on their first 100 characters: truncated for a chart they must stay two.
TWIN_A = "twin_" + "x" * 95 + "A"
TWIN_B = "twin_" + "x" * 95 + "B"
CONTROL_APP = "tab\there\nnew\rline\x1bescape\x7fdel\u0085nel"
BIG_TOKENS = 2**62
INT_COLUMNS = {
    "input_tokens": pl.Int64,
    "output_tokens": pl.Int64,
    "cached_input_tokens": pl.Int64,
    "http_status": pl.Int64,
}

HOSTILE_REQUESTS = [
    # request_id, application, extra fields
    ("zz_hostile_nul", NUL_APP, {}),
    ("zz_hostile_huge", HUGE_APP, {}),
    ("zz_hostile_rtl", RTL_APP, {}),
    ("zz_hostile_twin_a", TWIN_A, {}),
    ("zz_hostile_twin_b", TWIN_B, {}),
    ("zz_hostile_control", CONTROL_APP, {}),
    ("zz_hostile_ttft", "extreme_ms", {"ttft_ms": 1e308, "latency_ms": 1e308}),
    ("zz_hostile_tiny_ms", "extreme_ms", {"ttft_ms": 5e-324, "latency_ms": 5e-324}),
]
# Token counts near 2^62 go into a Parquet file with int64 columns: the JSONL and CSV readers
# take integers through a double and keep only those below 9e15 (pipeline/lib/ingest/validation.py). Input + output is
# 2^63 - 1, the largest BIGINT: one more and sql/core's BIGINT sums overflow (not this file's scope).
HOSTILE_TOKEN_REQUESTS = [
    (
        "zz_hostile_tokens",
        "huge_tokens",
        {"input_tokens": BIG_TOKENS, "output_tokens": BIG_TOKENS - 1, "cached_input_tokens": BIG_TOKENS},
    ),
    (
        "zz_hostile_tokens2",
        "huge_tokens",
        {"input_tokens": BIG_TOKENS - 1, "output_tokens": BIG_TOKENS, "cached_input_tokens": 0},
    ),
]

# (provider, model, input, output, cached): snapshot at noon, beside the generator's midnight ones
HOSTILE_PRICES = [
    ("deepinfra", "qwen3-32b", 1e308, 1e308, 1e308),
    ("novita", "qwen3-32b", 5e-324, 5e-324, ""),
    ("groq", "qwen3-32b", 1.7976931348623157e308, 0.0, ""),
]

# latency probes of qwen3-32b on groq, off the generator's 10-minute grid
HOSTILE_PROBES = [
    {"ts": "2025-11-15T12:05:07Z", "ttft_ms": 1e308, "latency_ms": 1e308, "output_tokens": 100},
    {"ts": "2025-11-15T12:15:07Z", "ttft_ms": 1e308, "latency_ms": 1.7976931348623157e308, "output_tokens": BIG_TOKENS},
    {"ts": "2025-11-15T12:25:07Z", "ttft_ms": 5e-324, "latency_ms": 1e-323, "output_tokens": BIG_TOKENS},
    {"ts": "2025-11-15T12:35:07Z", "ttft_ms": 0.0, "latency_ms": 5e-324, "output_tokens": 1},
    {"ts": "2025-11-15T12:45:07Z", "ttft_ms": 1e308, "latency_ms": 1e308, "output_tokens": 0},
]


def _request(request_id: str, application: str, extra: dict) -> dict:
    row = {
        "request_id": request_id,
        "ts": "2025-11-15T12:00:00Z",
        "application": application,
        "client_id": "c_hostile",
        "model": "qwen3-32b",
        "provider": "groq",
        "input_tokens": 1000,
        "output_tokens": 100,
        "cached_input_tokens": None,
        "status": "ok",
        "error_type": None,
        "http_status": 200,
        "ttft_ms": 300.0,
        "latency_ms": 2000.0,
        "stream": True,
        "tools": False,
        "json_mode": False,
        "sample_rate": 1.0,
    }
    row.update(extra)
    return row


def hostile_request_rows() -> list[dict]:
    return [_request(rid, app, extra) for rid, app, extra in HOSTILE_REQUESTS]


def hostile_token_rows() -> list[dict]:
    return [_request(rid, app, extra) for rid, app, extra in HOSTILE_TOKEN_REQUESTS]


def hostile_probe_rows() -> list[dict]:
    return [
        {"provider": "groq", "model": "qwen3-32b", "input_tokens": 1000, "status": "ok", "error_type": None, **p}
        for p in HOSTILE_PROBES
    ]


def write_hostile_files(drop: Path) -> list[Path]:
    """Add the hostile files to a generated drop (models qwen3-32b, providers groq/deepinfra/novita
    must exist in it, as in `servicelens generate`). Returns the files written."""
    drop = Path(drop)
    out = []
    req = drop / "requests" / "zz_hostile.jsonl"
    req.parent.mkdir(parents=True, exist_ok=True)
    # json.dumps writes NUL as \u0000 and keeps the bidi characters as escapes: valid JSONL
    req.write_text("".join(json.dumps(r) + "\n" for r in hostile_request_rows()), encoding="utf-8")
    out.append(req)

    prices = drop / "prices" / "zz_extreme.csv"
    with prices.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(
            [
                "snapshot_ts",
                "provider",
                "model",
                "input_per_mtok",
                "output_per_mtok",
                "cached_input_per_mtok",
                "currency",
            ]
        )
        for provider, model, inp, outp, cached in HOSTILE_PRICES:
            w.writerow(
                [
                    "2025-11-15T12:00:00Z",
                    provider,
                    model,
                    repr(inp),
                    repr(outp),
                    repr(cached) if cached != "" else "",
                    "USD",
                ]
            )
    out.append(prices)

    tokens = drop / "requests" / "zz_hostile_tokens.parquet"
    pl.DataFrame(hostile_token_rows(), schema_overrides=INT_COLUMNS).write_parquet(tokens)
    out.append(tokens)

    probes = drop / "latency_probes" / "zz_extreme.parquet"
    pl.DataFrame(hostile_probe_rows(), schema_overrides=INT_COLUMNS).write_parquet(probes)
    out.append(probes)
    return out


BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"
DBL_MAX = 1.7976931348623157e308
REPO = Path(__file__).resolve().parents[2]


def _drawable(text: str) -> bool:
    """No control character (C0, DEL, C1), no bidi control, no lone surrogate."""
    return not any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F or c in BIDI or 0xD800 <= ord(c) <= 0xDFFF for c in text)


# --------------------------------------------------------------------------- the sanitiser


class TestLabel:
    def test_ordinary_names_pass_unchanged(self):
        for name in (
            "deepseek-v3.2",
            "qwen3-32b",
            "code_completion",
            "通义千问",
            "عربي",
            "Ünïcødé – naïve",
            "x" * LIMIT,
        ):
            assert label(name) == name
        assert label(None) is None

    def test_nul_is_replaced_and_marked(self):
        out = label(NUL_APP)
        assert "\x00" not in out and out.startswith("a\ufffdb #")
        assert len(out) == len("a\ufffdb #") + 6  # six hex digits of the original's hash

    def test_control_characters_never_survive(self):
        out = label(CONTROL_APP)
        assert _drawable(out)
        # line and tab controls read as spaces, the others as U+FFFD
        assert out.startswith("tab here new line\ufffdescape\ufffddel nel #")

    def test_bidi_controls_are_removed(self):
        out = label(RTL_APP)
        assert _drawable(out) and out.startswith("gnp.exe rtl markiso #")

    def test_three_megabytes_become_sixty_characters(self):
        out = label(HUGE_APP)
        assert len(out) == LIMIT == 60
        # 51 characters, the ellipsis, " #" and six hex digits: 51 + 1 + 2 + 6 = 60
        assert out.startswith("H" * 51 + ELLIPSIS + " #")

    def test_labels_that_truncate_alike_stay_distinct(self):
        a, b = label(TWIN_A), label(TWIN_B)
        assert a != b and len(a) == len(b) == LIMIT
        assert a[:52] == b[:52] == "twin_" + "x" * 46 + ELLIPSIS  # the same visible text, then the hash

    def test_values_that_clean_alike_stay_distinct(self):
        assert label("a\x00b") != label("a\x01b") != label("ab")

    def test_a_label_is_its_own_label(self):
        for value in (NUL_APP, HUGE_APP, RTL_APP, TWIN_A, CONTROL_APP, "chat"):
            assert label(label(value)) == label(value)

    def test_label_map_never_draws_two_values_alike(self):
        # a value that already reads like another value's label
        values = [NUL_APP, label(NUL_APP), "chat", "chat", None]
        mapping = label_map(values)
        assert set(mapping) == {NUL_APP, label(NUL_APP), "chat", None}
        drawn = [v for v in mapping.values() if v is not None]
        assert len(drawn) == len(set(drawn)) == 3

    def test_label_columns_keeps_rows_and_nulls(self):
        df = pl.DataFrame({"application": [NUL_APP, HUGE_APP, None, "chat"], "n": [1, 2, 3, 4]})
        out = label_columns(df, "application")
        assert out["n"].to_list() == [1, 2, 3, 4]
        assert out["application"].to_list() == [label(NUL_APP), label(HUGE_APP), None, "chat"]


class TestFormats:
    def test_huge_numbers_in_scientific_notation(self):
        from pipeline.lib.report import fmt

        assert fmt.usd(1e308) == "$1.00e+308"
        assert fmt.count(2**62) == "4.61e+18"
        assert fmt.ms(DBL_MAX) == "1.80e+308 ms"
        assert fmt.usd(5e-324) == "$0.000"
        assert fmt.count(12345.4) == "12,345" and fmt.usd(2.19) == "$2.19"  # ordinary figures as before

    def test_log_ticks_span_the_whole_double_range(self):
        from pipeline.lib.report.charts import log_domain, log_ticks

        ticks = log_ticks(5e-324, 1e308)
        assert 2 <= len(ticks) <= 12 and all(t > 0 and math.isfinite(t) for t in ticks)
        assert ticks[0] == 1e-323 and ticks[-1] == 1e308
        low, high = log_domain(5e-324, DBL_MAX, log_ticks(5e-324, DBL_MAX))
        assert low > 0 and high == DBL_MAX  # never widened to inf
        assert log_ticks(0.05, 20) == [0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0]  # ordinary range as before
        assert log_ticks(None, 1.0) == [] and log_ticks(1.0, math.inf) == []


class TestMetadata:
    def test_safe_metadata(self):
        import dagster as dg

        from pipeline.defs.thumbnails import name, number, safe_metadata

        meta = safe_metadata(
            {
                "dagster/row_count": 3,
                "ratio": math.nan,
                "top": math.inf,
                "share": 0.25,
                f"2025Q4 {HUGE_APP}": f"{NUL_APP} value",
                "path": dg.MetadataValue.path("/tmp/x"),
            }
        )
        assert meta["dagster/row_count"] == 3 and meta["share"] == 0.25
        assert meta["ratio"] is None and meta["top"] is None  # Dagster records null, not nan/inf
        keys = [k for k in meta if k.startswith("2025Q4")]
        assert len(keys) == 1 and len(keys[0]) <= 120 and _drawable(keys[0])
        assert _drawable(meta[keys[0]]) and isinstance(meta["path"], dg.PathMetadataValue)
        assert number(None) == number(math.nan) == number(math.inf) == "n/a" and number(0.123) == "0.12"
        assert name(HUGE_APP) == label(HUGE_APP)


# --------------------------------------------------------------------------- range-safe statistics


def _objects(tmp_path: Path) -> Path:
    """A service_objects Parquet for one model and three listed providers (period 2025-11):
    input prices 1e308 (official), 5e307 and 0; output prices 1, 2, 3; blended 5e-324 on all three."""
    n = 3
    df = pl.DataFrame(
        {
            "period": ["2025-11"] * n,
            "period_type": ["month"] * n,
            "model": ["m"] * n,
            "provider": ["off", "a", "b"],
            "is_official": [True, False, False],
            "listed_days": [30.0] * n,
            "input_usd_per_mtok": [1e308, 5e307, 0.0],
            "output_usd_per_mtok": [1.0, 2.0, 3.0],
            "blended_usd_per_mtok": [5e-324] * n,
            "ttft_p50_ms": [DBL_MAX, DBL_MAX, None],
            "decode_tps_p50": [None, None, None],
            "context_length": [8192, 8192, 8192],
            "request_error_rate": [0.0, 0.0, 0.0],
            "supports_tools": [True] * n,
            "supports_json_mode": [True] * n,
            "supports_streaming": [True] * n,
            "supports_reasoning": [True] * n,
        }
    )
    out = tmp_path / "service_objects.parquet"
    df.write_parquet(out)
    return out


def test_provider_dispersion_at_the_edges_of_the_doubles(tmp_path):
    from pipeline.lib.parquet_io import sql_to_parquet
    from pipeline.lib.service import PRICE_TOLERANCE

    params = {"objects": str(_objects(tmp_path)), "tolerance": PRICE_TOLERANCE}
    rows = {
        r["attribute"]: r
        for r in sql_to_parquet("marts/provider_dispersion", params, tmp_path / "d.parquet").iter_rows(named=True)
    }
    # input: 1e308, 5e307, 0 = 1e308 x (1, 1/2, 0); mean 1e308 / 2; population variance of
    # (1, 1/2, 0) = (1/4 + 0 + 1/4) / 3 = 1/6, so cv = sqrt(1/6) / (1/2) = sqrt(2/3)
    inp = rows["input_price"]
    assert inp["n_providers"] == 3
    assert inp["mean"] == pytest.approx(5e307, rel=1e-12)
    assert inp["cv"] == pytest.approx(math.sqrt(2 / 3), rel=1e-12)
    assert (inp["min"], inp["max"], inp["official_value"]) == (0.0, 1e308, 1e308)
    assert inp["share_at_official"] == pytest.approx(1 / 3)  # only the official itself within 0.5 %
    # output 1, 2, 3: mean 2, population sd sqrt(2/3), cv sqrt(2/3) / 2
    assert rows["output_price"]["mean"] == pytest.approx(2.0)
    assert rows["output_price"]["cv"] == pytest.approx(math.sqrt(2 / 3) / 2)
    # the smallest subnormal three times: mean 5e-324, no spread
    assert (rows["blended_price"]["mean"], rows["blended_price"]["cv"]) == (5e-324, 0.0)
    # the largest double twice: mean DBL_MAX (the plain avg overflows to inf), cv 0
    ttft = rows["ttft_p50_ms"]
    assert (ttft["n_providers"], ttft["mean"], ttft["cv"]) == (2, DBL_MAX, 0.0)


def test_concentration_of_demands_near_the_largest_double():
    from pipeline.lib.concentration import concentration, gini, hhi, lorenz, top_k_share

    x = np.array([DBL_MAX, DBL_MAX / 2])
    # two units, sorted (M/2, M): G = sum |xi - xj| / (2 n^2 mean) = 2 (M/2) / (2 * 4 * 3M/4) = 1/6
    assert gini(x) == pytest.approx(1 / 6)
    assert hhi(x) == pytest.approx((2 / 3) ** 2 + (1 / 3) ** 2)
    assert top_k_share(x, 1) == pytest.approx(2 / 3)
    assert lorenz(x)[1].tolist() == pytest.approx([0.0, 1 / 3, 1.0])
    # totals M and M/2: top-1 2/3, Gini 1/6
    c = concentration(np.array([DBL_MAX, DBL_MAX / 2]), np.array([DBL_MAX, DBL_MAX]), n_boot=20)
    assert (c.n, c.top1_share, c.gini) == (2, pytest.approx(2 / 3), pytest.approx(1 / 6))
    # squared weights past the float range leave no interval (NaN, published as null), and no crash
    c = concentration(np.array([DBL_MAX, DBL_MAX / 2]), np.array([math.inf, math.inf]), n_boot=20)
    assert c.gini == pytest.approx(1 / 6) and math.isnan(c.gini_ci_low)


# --------------------------------------------------------------------------- charts


def _run_python(code: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """`code` in a fresh interpreter: a renderer that aborts (exit 134) or hangs fails this
    test instead of killing or stalling the test process. The timeout is generous (a hang,
    not a speed, is what it catches)."""
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], cwd=REPO, capture_output=True, text=True, timeout=timeout
    )


def test_regimes_chart_with_hostile_labels_is_drawn(tmp_path):
    """NUL aborted vl-convert (exit 134); the 3 MB label kept it measuring text for over 6 minutes."""
    done = _run_python(f"""
        import polars as pl
        from pathlib import Path
        from pipeline.lib.report import charts
        from pipeline.lib.labels import label
        from tests.lib.test_hostile_values import NUL_APP, HUGE_APP, RTL_APP, TWIN_A, TWIN_B, CONTROL_APP
        apps = [NUL_APP, HUGE_APP, RTL_APP, TWIN_A, TWIN_B, CONTROL_APP, "chat"]
        df = pl.DataFrame({{"application": apps, "regime": ["balanced"] * len(apps), "input_bin": list(range(len(apps))),
                           "output_bin": [3] * len(apps), "share": [1.0] * len(apps)}})
        chart = charts.regimes(df)
        panels = {{r["application"] for rows in chart.to_dict()["datasets"].values() for r in rows}}
        assert len(panels) == len(apps), panels  # no two applications merged
        svg = charts.render(chart, Path({str(tmp_path / "regimes.png")!r}))
        assert "\\x00" not in svg and "\\u202e" not in svg and "HHHHHHHHHH" * 10 not in svg
        for a in apps:
            assert label(a).split(" #")[-1] in svg, a  # every panel title drawn, twins with their hashes
        print("ok", len(svg))
    """)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.startswith("ok")
    assert (tmp_path / "regimes.png").read_bytes().startswith(b"\x89PNG")


def test_bar_chart_and_thumbnail_with_hostile_labels():
    done = _run_python("""
        import polars as pl
        from pipeline.defs.thumbnails import KEY, bars
        from pipeline.lib.report import charts
        from tests.lib.test_hostile_values import NUL_APP, HUGE_APP, RTL_APP
        df = pl.DataFrame({"family": [NUL_APP, HUGE_APP, RTL_APP, "qwen"], "request_share": [0.4, 0.3, 0.2, 0.1], "rank": [1, 2, 3, 4]})
        svg = charts.render(charts.family_shares(df))
        assert "\\x00" not in svg
        meta = bars(df, "family", "request_share", "request share by family")
        assert KEY in meta, "no thumbnail"
        print("ok")
    """)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.startswith("ok")


def test_safe_spec_guards_any_chart():
    """The renderer's last line of defence labels every string of the spec's data and drops
    numbers JSON cannot hold, whichever chart built it."""
    from pipeline.lib.report.charts import SPEC_LIMIT, safe_spec

    spec = {
        "datasets": {"d": [{"a": NUL_APP, "b": math.inf, "c": 1.5}]},
        "data": {"values": [{"a": HUGE_APP}]},
        "title": "t",
    }
    out = safe_spec(spec)
    row = out["datasets"]["d"][0]
    assert _drawable(row["a"]) and row["b"] is None and row["c"] == 1.5
    assert len(out["data"]["values"][0]["a"]) == SPEC_LIMIT and out["title"] == "t"


# --------------------------------------------------------------------------- end to end


@pytest.mark.slow
def test_pipeline_and_report_on_a_hostile_drop(tmp_path):
    """A small generated drop plus the hostile files: the whole run (staging, marts, Dagster
    metadata and thumbnails, the report with its PDF) exits 0, and the hostile rows are in
    staging exactly as written. Subprocesses with a generous timeout catch a hang."""
    import duckdb

    cli = Path(sys.executable).parent / "servicelens"
    raw, warehouse = tmp_path / "raw", tmp_path / "wh" / "wh.duckdb"
    gen = subprocess.run(
        [str(cli), "generate", "--out", str(raw), "--requests", "3000", "--seed", "1"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert gen.returncode == 0, gen.stderr[-2000:]
    write_hostile_files(raw)
    run = subprocess.run(
        [str(cli), "run", "--raw", str(raw), "--warehouse", str(warehouse)],
        capture_output=True,
        text=True,
        timeout=1200,
        env={**os.environ, "SERVICELENS_REPORT_PDF": "1"},  # the PDF, hostile strings and all
    )
    assert run.returncode == 0, (run.stdout + run.stderr)[-4000:]

    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        staged = {
            r[0]: r[1:]
            for r in con.execute(
                "select request_id, application, input_tokens, output_tokens, cached_input_tokens, ttft_ms, latency_ms "
                "from staging.requests where request_id like 'zz_hostile%'"
            ).fetchall()
        }
        expected = hostile_request_rows() + hostile_token_rows()
        assert set(staged) == {r["request_id"] for r in expected}
        for r in expected:
            assert staged[r["request_id"]] == (
                r["application"],
                r["input_tokens"],
                r["output_tokens"],
                r["cached_input_tokens"],
                r["ttft_ms"],
                r["latency_ms"],
            ), r["request_id"]
        prices = {
            r[0]: r[1:]
            for r in con.execute(
                "select provider, input_per_mtok, output_per_mtok from staging.prices where snapshot_ts = '2025-11-15 12:00:00'"
            ).fetchall()
        }
        assert prices == {p: (i, o) for p, _m, i, o, _c in HOSTILE_PRICES}
        probes = con.execute(
            "select ttft_ms, latency_ms, output_tokens from staging.latency_probes "
            "where provider = 'groq' and ts >= '2025-11-15 12:00' and ts < '2025-11-15 13:00' and second(ts) = 7 order by ts"
        ).fetchall()
        assert probes == [(p["ttft_ms"], p["latency_ms"], p["output_tokens"]) for p in HOSTILE_PROBES]
        # the marts publish no inf or nan
        for (table,) in con.execute(
            "select table_name from information_schema.tables where table_schema = 'marts' "
            "and table_type = 'BASE TABLE'"
        ).fetchall():
            cols = [
                c
                for c, t in con.execute(
                    f"select column_name, data_type from information_schema.columns where table_schema = 'marts' "
                    f"and table_name = '{table}'"
                ).fetchall()
                if t in ("DOUBLE", "FLOAT")
            ]
            for c in cols:
                bad = con.execute(f'select count(*) from marts."{table}" where not isfinite("{c}")').fetchone()[0]
                assert bad == 0, f"marts.{table}.{c}: {bad} values not finite"
    finally:
        con.close()
    report = warehouse.parent / "reports" / "2025Q4"
    html = (report / "report.html").read_text(encoding="utf-8")
    assert "\x00" not in html and "\u202e" not in html and "H" * 200 not in html
    assert label(TWIN_A) in html and label(TWIN_B) in html
    assert (report / "report.pdf").exists()


if __name__ == "__main__":
    for path in write_hostile_files(Path(sys.argv[1])):
        print(path)
