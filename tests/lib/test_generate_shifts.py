"""Planted service shifts (pipeline.lib.generate.shifts) and the daily compat canary, checked
from the written files (or rows generated twice), not from the generator's own arrays."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
from pathlib import Path

import duckdb
import numpy as np
import pytest

from pipeline.lib.generate import canary, generate_drop
from pipeline.lib.generate import shifts as S
from pipeline.lib.generate import world as W
from pipeline.lib.generate.model import client_pool, compile_world
from pipeline.lib.generate.requests import generate_rows

N = 20_000


@pytest.fixture(scope="module")
def drop(tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("shifted")
    return out, generate_drop(out, n_requests=N, seed=0, shifts="sample")


@pytest.fixture(scope="module")
def con(drop):
    root, _ = drop
    c = duckdb.connect()
    c.execute(f"""create view probes as select *, cast(ts as date) as d,
                  output_tokens / ((latency_ms - ttft_ms) / 1000) as tps
                  from read_parquet('{root}/latency_probes/*/*.parquet')""")
    c.execute(f"""create view canary as select *, cast(ts as date) as d
                  from read_json('{root}/compat_probes/date=*/canary.jsonl', format = 'newline_delimited',
                  ignore_errors = true) where suite = 'tool_calls_daily'""")
    c.execute(f"create view endpoints as select * from read_csv('{root}/endpoints/endpoints.csv', header = true)")
    return c


def _shift(metric: str) -> S.Shift:
    """The sample world's only shift of a metric."""
    (s,) = [s for s in S.sample_shifts() if s.metric == metric]
    return s


def _window(con, s: S.Shift, agg: str, table: str, days: int = 7, where: str = "true") -> tuple[float, float]:
    """agg over the `days` days from the shift's start, and over the `days` days before it."""
    return con.execute(
        f"""select {agg} filter (where d >= $at and d < $at + {days}), {agg} filter (where d < $at and d >= $at - {days})
            from {table} where provider = $p and model = $m and {where}""",
        {"at": s.start, "p": s.provider, "m": s.model},
    ).fetchone()


# --------------------------------------------------------------------------- the shift lists
def test_random_shifts_are_deterministic_and_in_their_ranges():
    a = S.random_shifts(3)
    assert a == S.random_shifts(3) and a != S.random_shifts(4)
    assert len(a) == 15 and len({(s.provider, s.model) for s in a}) == 15
    eligible = set(S.whole_quarter_objects())
    metrics = set()
    for seed in range(20):
        for s in S.random_shifts(seed):
            metrics.add(s.metric)
            assert (s.provider, s.model) in eligible
            assert dt.date(2025, 10, 16) <= s.start <= dt.date(2025, 12, 17)  # day 15 .. 77
            assert any(lo <= s.value <= hi for lo, hi in S.RANGES[s.metric]), s
            if s.kind == "level":  # a real drop on a third party that answers tool calls
                assert s.provider != W.MODELS[s.model][4]
                f1, schema = S.tool_quality(s.provider, s.model)
                assert s.value <= (f1 if s.metric == "tool_call_f1" else schema) - S.MIN_LEVEL_DROP + 1e-9
    assert metrics == set(S.METRICS)
    # whole-quarter objects: no endpoint of a model released in the quarter, none that starts late
    assert ("minimax", "minimax-m2") not in eligible and ("together", "glm-4.6") not in eligible
    assert ("deepseek", "deepseek-r1-0528") in eligible


def test_sample_shifts_sit_on_objects_live_all_quarter():
    shifts = S.sample_shifts()
    assert 8 <= len(shifts) <= 10
    assert {s.metric for s in shifts} == set(S.METRICS) | {S.QUANTIZATION}
    eligible = set(S.whole_quarter_objects())
    assert all((s.provider, s.model) in eligible for s in shifts)
    # the FP4 switch comes with faster decoding and worse tool-call arguments on the same day
    (q,) = [s for s in shifts if s.metric == S.QUANTIZATION]
    same = {s.metric: s.value for s in shifts if (s.provider, s.model, s.start) == (q.provider, q.model, q.start)}
    assert same[S.QUANTIZATION] == "fp4" and same["decode_tps_p50"] > 1 and same["schema_accuracy"] < 0.9


def test_trigger_rates_give_the_f1_asked():
    for pi in (0.33, 0.75):
        f1 = np.linspace(0.55, 1.0, 19)
        a, b = canary.trigger_rates(f1, pi)
        assert np.all((a >= 0) & (a <= 1) & (b >= 0) & (b <= 1))
        tp, fn, fp = pi * (1 - a), pi * a, (1 - pi) * b
        np.testing.assert_allclose(2 * tp / (2 * tp + fn + fp), f1, atol=1e-12)


# --------------------------------------------------------------------------- the drop
def test_manifest_lists_the_planted_changes(drop):
    root, m = drop
    assert m["shifts"] == "sample"
    got = m["planted_changes"]
    assert got == json.loads((root / "_manifest.json").read_text())["planted_changes"]
    assert got == sorted(got, key=lambda d: (d["changed_at"], d["provider"], d["model"], d["metric"]))
    n_av = sum(s.metric == "availability" for s in S.sample_shifts())
    assert len(got) == len(S.sample_shifts()) + n_av
    av = _shift("availability")
    both = {d["metric"]: d["value"] for d in got if (d["provider"], d["model"]) == (av.provider, av.model)}
    assert both == {"probe_success_rate": -av.value, "request_error_rate": av.value}
    assert {"provider", "model", "metric", "changed_at", "kind", "value"} == set(got[0])
    q = [d for d in got if d["metric"] == "quantization"]
    assert q == [
        dict(
            provider="siliconflow",
            model="qwen3-235b-a22b-instruct-2507",
            metric="quantization",
            changed_at="2025-11-04",
            kind="state",
            value="fp4",
        )
    ]


def test_quantization_switch_is_a_new_endpoint_state(con):
    rows = con.execute("""select quantization, cast(valid_from as date), cast(valid_to as date) from endpoints
                          where provider = 'siliconflow' and model = 'qwen3-235b-a22b-instruct-2507'
                          order by valid_from""").fetchall()
    switch = dt.date(2025, 11, 4)
    assert rows == [("fp8", dt.date(2025, 9, 1), switch), ("fp4", switch, None)]


@pytest.mark.parametrize("metric", ["ttft_p50_ms", "decode_tps_p50"])
def test_probe_speed_factors(con, metric):
    """Median probe TTFT / decode speed over the 7 days after the start against the 7 days
    before: the planted factor, within 15 % (diurnal load is the same on both sides)."""
    for s in [s for s in S.sample_shifts() if s.metric == metric]:
        col = "ttft_ms" if metric == "ttft_p50_ms" else "tps"
        after, before = _window(con, s, f"median({col})", "probes", where="status = 'ok'")
        assert after / before == pytest.approx(s.value, rel=0.15), s


def test_availability_raises_probe_failures(con):
    s = _shift("availability")
    after, before = _window(con, s, "avg(cast(status = 'error' as int))", "probes", days=28)
    # a probe not failed already fails with the extra probability
    assert after - before == pytest.approx(s.value * (1 - before), abs=0.025)


def test_schema_accuracy_level_in_the_canary(con):
    for s in [s for s in S.sample_shifts() if s.metric == "schema_accuracy"]:
        n, share = con.execute(
            """select count(*), avg(cast(schema_valid as int)) from canary where provider = $p and model = $m
               and d >= $at and finish_reason = 'tool_calls'""",
            {"p": s.provider, "m": s.model, "at": s.start},
        ).fetchone()
        assert n > 20 * 24
        assert abs(share - s.value) < 4 * math.sqrt(s.value * (1 - s.value) / n), (s, share, n)
        (before,) = _window(con, s, "avg(cast(schema_valid as int))", "canary", 14, "finish_reason = 'tool_calls'")[1:]
        assert before > 0.9  # the provider was fine before


def test_tool_call_f1_level_against_the_official(con):
    s = _shift("tool_call_f1")
    official = W.MODELS[s.model][4]
    rows = con.execute(
        """select c.d >= $at, count(*) filter (where c.t and o.t), count(*) filter (where c.t and not o.t),
                  count(*) filter (where not c.t and o.t)
           from (select d, case_id, finish_reason = 'tool_calls' as t from canary where provider = $p and model = $m) c
           join (select d, case_id, finish_reason = 'tool_calls' as t from canary where provider = $o and model = $m) o
           using (d, case_id) group by 1""",
        {"p": s.provider, "o": official, "m": s.model, "at": s.start},
    ).fetchall()
    f1 = {after: 2 * tp / (2 * tp + fp + fn) for after, tp, fp, fn in rows}
    assert f1[True] == pytest.approx(s.value, abs=0.04)
    assert f1[False] == pytest.approx(S.tool_quality(s.provider, s.model)[0], abs=0.04)


def test_daily_canary(con):
    """Every day every live tools-capable endpoint answers tcd-000..tcd-031; the official answers
    the same cases with a tool every day (24 of them) and never fails."""
    per_day = con.execute("""select count(distinct d), min(n), max(n), min(k) from (select d, provider, model,
                             count(*) n, count(distinct case_id) k from canary group by all)""").fetchone()
    assert per_day == (92, 32, 32, 32)
    assert con.execute("select min(case_id), max(case_id), count(distinct case_id) from canary").fetchone() == (
        "tcd-000",
        "tcd-031",
        32,
    )
    # one answer per (day, object, case) and every tools endpoint live at 14:00 answers
    eps = [e for e in W.ENDPOINTS if e["supports_tools"]]
    want = sum(
        1
        for d in W.DAYS
        for e in eps
        if e["valid_from"] <= d and (e["valid_to"] is None or d < e["valid_to"])  # states change at 00:00
    )
    assert con.execute("select count(distinct (d, provider, model)) from canary").fetchone()[0] == want
    off = con.execute("""select count(distinct case_id) filter (where finish_reason = 'tool_calls'),
                         count(*) filter (where status = 'error'),
                         count(*) filter (where finish_reason = 'tool_calls') / count(distinct d)
                         from canary where provider = 'moonshot' and model = 'kimi-k2-0905'""").fetchone()
    assert off == (24, 0, 24)
    calls_a_day = con.execute("""select count(*) filter (where schema_valid is not null)
                                 / count(distinct (d, provider, model)) from canary""").fetchone()[0]
    assert 21 < calls_a_day <= 24


def test_request_shifts_hit_only_their_rows():
    """Rows generated twice from the same draws, with and without an availability and a
    rate-limit shift: only the shifted objects' rows from the start change, each into the
    shift's error, at about the shift's rate."""
    at = dt.date(2025, 11, 1)
    plain = [S.Shift("alibaba", "qwen3-coder-480b-a35b-instruct", "rate_limit_rate", at, 0.1)]
    plain.append(S.Shift("deepseek", "deepseek-r1-0528", "availability", at, 0.2))
    c0, c1 = compile_world(0), compile_world(0, plain)
    clients = client_pool()
    d = W.DAYS.index(at)

    def rows(c, day) -> dict[str, np.ndarray]:
        key = lambda *k: np.random.Generator(np.random.PCG64(np.random.SeedSequence([0, *k])))  # noqa: E731
        t = generate_rows(c, clients, key(day), 60_000, day, 0, key(9, day))
        return {k: np.array(v, dtype=object) for k, v in t.to_pydict().items()}

    for day, moved in ((d - 1, False), (d, True)):
        a, b = rows(c0, day), rows(c1, day)
        diff = np.any([a[k] != b[k] for k in a], axis=0)
        objs = [(a["provider"] == s.provider) & (a["model"] == s.model) for s in plain]
        assert diff.any() == moved and not (diff & ~(objs[0] | objs[1])).any()
        if moved:
            for s, obj, etype, http in zip(
                plain, objs, ("rate_limit", "server_error"), ({429}, {500, 503}), strict=True
            ):
                hit = diff & obj
                assert set(b["error_type"][hit]) == {etype} and set(b["http_status"][hit]) <= http
                assert hit.sum() / (obj & (a["status"] == "ok")).sum() == pytest.approx(s.value, abs=0.03)


def test_none_plants_nothing(drop, tmp_path):
    root, _ = drop
    m = generate_drop(tmp_path, n_requests=N, seed=0, shifts="none")
    assert m["planted_changes"] == [] and m["shifts"] == "none"
    q = duckdb.execute(f"""select list(quantization) from read_csv('{tmp_path}/endpoints/endpoints.csv')
                       where provider = 'siliconflow' and model = 'qwen3-235b-a22b-instruct-2507'""").fetchone()
    assert q == (["fp8"],)

    def digest(p: Path) -> str:
        return hashlib.sha256(p.read_bytes()).hexdigest()

    # before the first shift the two drops are the same files; after it the shifted ones differ
    first = min(s.start for s in S.sample_shifts())
    for ds in ("requests", "latency_probes"):
        for folder in sorted((tmp_path / ds).iterdir()):
            day = dt.date.fromisoformat(folder.name.removeprefix("date="))
            for f in folder.iterdir():
                if day < first:
                    assert digest(f) == digest(root / ds / folder.name / f.name), f
    last = f"date={W.QUARTER_END.isoformat()}/part-00000.parquet"
    assert digest(tmp_path / "latency_probes" / last) != digest(root / "latency_probes" / last)


def test_random_drop_manifest(tmp_path):
    m = generate_drop(tmp_path, n_requests=2_000, seed=5, bad_row_fraction=0, shifts="random")
    assert m["planted_changes"] == S.planted_changes(S.random_shifts(5))
    assert 15 <= len(m["planted_changes"]) <= 30
    with pytest.raises(ValueError, match="shifts must be one of"):
        generate_drop(tmp_path / "x", n_requests=10, shifts="some")
    assert not (tmp_path / "x").exists()


def test_cli_choices_are_the_modes():
    from pipeline.cli import generate

    (opt,) = [p for p in generate.params if p.name == "shifts"]
    assert tuple(opt.type.choices) == S.MODES
