"""Tests of the synthetic drop generator (pipeline.lib.generate)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

import duckdb
import numpy as np
import pytest

from pipeline.lib.generate import generate_drop
from pipeline.lib.generate import world as W

N = 20_000


def _hashes(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def drop(tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("drop_a")
    calls: list[int] = []
    manifest = generate_drop(out, n_requests=N, seed=0, progress=calls.append)
    manifest["_progress_total"] = sum(calls)
    return out, manifest


@pytest.fixture(scope="module")
def con(drop):
    root, _ = drop
    c = duckdb.connect()
    c.execute(f"create view req as select * from read_parquet('{root}/requests/*/*.parquet', hive_partitioning=false)")
    c.execute(f"create view models as select * from read_csv('{root}/models/models.csv', header=true)")
    c.execute(
        f"create view endpoints as select * from read_csv('{root}/endpoints/endpoints.csv', header=true, "
        "types={'valid_from': 'TIMESTAMPTZ', 'valid_to': 'TIMESTAMPTZ'})"
    )
    c.execute(
        f"create view prices as select * from read_csv('{root}/prices/prices.csv', header=true, "
        "types={'snapshot_ts': 'TIMESTAMPTZ', 'input_per_mtok': 'DOUBLE'})"
    )
    c.execute(f"create view fx as select * from read_csv('{root}/fx_rates/fx_rates.csv', header=true)")
    c.execute(f"create view probes as select * from read_parquet('{root}/latency_probes/*/*.parquet')")
    return c


# --------------------------------------------------------------------------- calibration
def test_family_share_vector_calibration():
    x = np.array(sorted(W.FAMILY_SHARES.values(), reverse=True))
    assert abs(x.sum() - 1.0) < 1e-9
    assert len(x) == 20 and np.all(x > 0)
    assert abs(x[0] - 0.320) <= 0.002
    assert abs(x[:5].sum() - 0.874) <= 0.002
    n = len(x)
    gini = np.abs(x[:, None] - x[None, :]).sum() / (2 * n * n * x.mean())
    assert abs(gini - 0.693) <= 0.005


def test_within_family_weights_and_inertia():
    t = np.array([0.0, 30.0, 61.0, 61.0 + 10.0, 91.5])
    w = W.within_family_weights(t)
    idx = {m: i for i, m in enumerate(W.MODEL_IDS)}
    for fam in W.FAMILIES:
        cols = [idx[m] for m in W.MODEL_IDS if W.MODELS[m][0] == fam]
        np.testing.assert_allclose(w[:, cols].sum(axis=1), 1.0)
    # deepseek-v3.2 (released 2025-12-01 = day 61) has no demand before, and 10 days later
    # (half-life 10 d) the old variant keeps half of the pair
    old, new = idx["deepseek-v3.2-exp"], idx["deepseek-v3.2"]
    assert w[1, new] == 0 and w[2, new] == 0
    assert abs(w[3, old] / (w[3, old] + w[3, new]) - 0.5) < 1e-9


# --------------------------------------------------------------------------- files
def test_determinism(drop, tmp_path):
    root, _ = drop
    b = tmp_path / "b"
    generate_drop(b, n_requests=N, seed=0)
    ha, hb = _hashes(root), _hashes(b)
    assert ha == hb
    c = tmp_path / "c"
    generate_drop(c, n_requests=N, seed=1)
    hc = _hashes(c)
    differing = [k for k in ha if k.startswith("requests/") and hc.get(k) != ha[k]]
    assert len(differing) > 50


def test_layout_and_partitions(drop):
    root, m = drop
    for name in (
        "models/models.csv",
        "endpoints/endpoints.csv",
        "prices/prices.csv",
        "fx_rates/fx_rates.csv",
        "compat_probes/compat_probes.jsonl",
        "_manifest.json",
    ):
        assert (root / name).is_file(), name
    want = {f"date={(dt.date(2025, 10, 1) + dt.timedelta(days=i)).isoformat()}" for i in range(92)}
    for ds in ("requests", "latency_probes"):
        got = {p.name for p in (root / ds).iterdir() if p.is_dir()}
        assert got == want, ds
        for d in (root / ds).iterdir():
            assert (d / "part-00000.parquet").is_file()
    # no date column inside the parquet files
    names = duckdb.sql(
        f"describe select * from read_parquet('{root}/requests/date=2025-10-01/part-00000.parquet', hive_partitioning=false)"
    ).fetchall()
    assert "date" not in {r[0] for r in names}
    assert json.loads((root / "_manifest.json").read_text()) == {k: v for k, v in m.items() if not k.startswith("_")}


def test_row_counts_match_manifest(drop, con):
    root, m = drop
    rows = m["rows"]
    n_parquet = con.execute("select count(*) from req").fetchone()[0]
    bad_csv = list((root / "requests").glob("*/part-bad.csv"))
    n_csv = sum(len(p.read_text().splitlines()) - 1 for p in bad_csv)
    assert n_parquet + n_csv == rows["requests"] == m["_progress_total"]
    assert n_csv == m["planted"]["requests"]["bad_ts"]
    assert con.execute("select count(*) from probes").fetchone()[0] == rows["latency_probes"]
    compat_files = [
        root / "compat_probes/compat_probes.jsonl",
        *sorted((root / "compat_probes").glob("date=*/canary.jsonl")),
    ]
    assert len(compat_files) == 1 + 92  # the rounds, and the daily canary's file per day
    assert sum(len(f.read_text().splitlines()) for f in compat_files) == rows["compat_probes"]
    for ds, path in (
        ("models", "models/models.csv"),
        ("endpoints", "endpoints/endpoints.csv"),
        ("prices", "prices/prices.csv"),
        ("fx_rates", "fx_rates/fx_rates.csv"),
    ):
        assert len((root / path).read_text().splitlines()) - 1 == rows[ds], ds
    # expected = what was planted
    e = m["expected"]["requests"]
    assert e["loaded"] == N
    assert e["loaded"] + e["quarantined"] + e["duplicate"] == rows["requests"]
    assert sum(m["planted"]["requests"].values()) == round(0.0005 * N)


def test_planted_request_defects_are_in_the_files(drop, con):
    _, m = drop
    p = m["planted"]["requests"]
    q = lambda s: con.execute(s).fetchone()[0]  # noqa: E731
    assert q("select count(*) from req where input_tokens < 0") == p["negative_tokens"]
    assert q("select count(*) from req where sample_rate <= 0 or sample_rate > 1") == p["bad_sample_rate"]
    assert q("select count(*) from req where status not in ('ok', 'error')") == p["bad_status"]
    assert q("select count(*) from req where model is null") == p["null_model"]
    assert q("select count(*) from req where model = 'no-such-model'") == p["unknown_model"]
    assert q("select count(*) from req where provider = 'no-such-provider'") == p["unknown_provider"]
    dup = q("""select count(*) from (select request_id from req group by all having count(*) > 1
               and count(distinct output_tokens) = 1)""")
    conf = q("""select count(*) from (select request_id from req group by all having count(*) > 1
                and count(distinct output_tokens) > 1)""")
    assert (dup, conf) == (p["duplicate"], p["conflict"])
    assert q("select count(distinct request_id) from req") == q("select count(*) from req") - dup - conf


def test_planted_small_dataset_defects(drop, con):
    root, m = drop
    assert con.execute("select count(*) from prices where currency = 'XYZ'").fetchone()[0] == 1
    assert con.execute("select count(*) from prices where input_per_mtok < 0").fetchone()[0] == 1
    assert con.execute("select count(*) from endpoints where quantization = 'fp3'").fetchone()[0] == 1
    bad_json, neg = 0, 0
    for line in (root / "compat_probes/compat_probes.jsonl").read_text().splitlines():
        try:
            r = json.loads(line)
        except json.JSONDecodeError:
            bad_json += 1
            continue
        neg += r["tool_calls"] < 0
    assert (bad_json, neg) == (1, 1)
    assert m["expected"]["compat_probes"]["quarantined"] == 2


# --------------------------------------------------------------------------- world facts
def test_models_and_endpoints(con):
    ids = {r[0] for r in con.execute("select model from models").fetchall()}
    assert {"qwen3-32b", "deepseek-v3.2"} <= ids
    assert len(ids) >= 35
    assert con.execute("select count(distinct family) from models").fetchone()[0] == 20
    # successors released during the quarter, same family
    succ = con.execute("""select n.model from models n join models o on n.successor_of = o.model
                          where n.family = o.family and n.release_date between '2025-10-01' and '2025-12-31'""").fetchall()
    assert len(succ) >= 3
    # some endpoints change state mid-quarter
    assert (
        con.execute("""select count(*) from (select provider, model from endpoints
                          group by all having count(*) > 1)""").fetchone()[0]
        >= 4
    )
    assert con.execute("select count(distinct provider) from endpoints").fetchone()[0] >= 12


def test_every_request_has_a_valid_endpoint(con):
    missing = con.execute("""
        select count(*) from req r
        where r.model is distinct from 'no-such-model' and r.model is not null
          and r.provider <> 'no-such-provider'
          and not exists (select 1 from endpoints e where e.provider = r.provider and e.model = r.model
                          and e.quantization <> 'fp3'
                          and e.valid_from <= r.ts and (e.valid_to is null or r.ts < e.valid_to))""").fetchone()[0]
    assert missing == 0


def test_weighted_family_shares(con):
    got = dict(
        con.execute("""
        select m.family, sum(1 / r.sample_rate) / (select sum(1 / sample_rate) from req
               where sample_rate > 0 and sample_rate <= 1 and model in (select model from models))
        from req r join models m using (model) where r.sample_rate > 0 and r.sample_rate <= 1
        group by 1""").fetchall()
    )
    top = max(got, key=got.get)
    assert top == "deepseek"
    for fam, share in W.FAMILY_SHARES.items():
        assert abs(got.get(fam, 0.0) - share) < 0.04, fam


def test_application_regimes(con):
    rows = con.execute("""select application, median(input_tokens), median(output_tokens), count(*)
                          from req where input_tokens >= 0 and application is not null group by 1""").fetchall()
    med = {a: (i, o) for a, i, o, _ in rows}
    assert len(med) >= 5
    assert med["code_completion"][1] < 40
    assert med["reasoning"][1] > 1000
    assert med["long_context"][0] > 32000
    assert med["rag"][0] > 3 * med["chat"][0] and med["rag"][1] < 400
    assert 800 < med["chat"][0] < 1300 and 90 < med["chat"][1] < 170
    srs = con.execute(
        "select count(distinct sample_rate) from req where sample_rate > 0 and sample_rate <= 1"
    ).fetchone()[0]
    assert srs >= 4
    # feature flags are honoured by the serving endpoint except a small error fraction
    bad = con.execute("""select avg(case when r.tools and not e.supports_tools then 1 else 0 end)
                         from req r join endpoints e on e.provider = r.provider and e.model = r.model
                         and e.valid_from <= r.ts and (e.valid_to is null or r.ts < e.valid_to)""").fetchone()[0]
    assert bad < 0.01


def test_prices_and_fx(con):
    assert con.execute("select count(*) from prices where currency = 'CNY'").fetchone()[0] > 1000
    uncovered = con.execute("""select count(*) from (select distinct cast(snapshot_ts as date) d from prices
                               where currency = 'CNY') p
                               where not exists (select 1 from fx where fx.currency = 'CNY' and fx.date = p.d)""").fetchone()[
        0
    ]
    assert uncovered == 0
    assert con.execute("select count(distinct date) from fx where currency = 'USD'").fetchone()[0] == 92
    assert con.execute("select count(*) from prices where cached_input_per_mtok is not null").fetchone()[0] > 0
    assert con.execute("select count(*) from prices where cached_input_per_mtok is null").fetchone()[0] > 0


def test_probes(con):
    r = con.execute("""select count(distinct provider || model), median(ttft_ms), min(ttft_ms),
                       avg(case when status = 'error' then 1 else 0 end),
                       count(*) filter (where error_type = 'rate_limit'),
                       count(*) filter (where status = 'ok' and (ttft_ms is null or latency_ms < ttft_ms))
                       from probes""").fetchone()
    n_ep, med_ttft, min_ttft, err_rate, n_rl, n_bad = r
    assert n_ep >= 100
    assert 200 < med_ttft < 1200 and min_ttft > 0
    assert 0.001 < err_rate < 0.05 and n_rl > 0 and n_bad == 0
