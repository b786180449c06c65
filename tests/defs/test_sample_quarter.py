"""The generator's sample quarter through the whole pipeline: the demand figures land near the
public aggregate the generator was calibrated to, and the demand assets rebuild from staging
alone with their key figures in the metadata."""

from __future__ import annotations

import shutil

import duckdb
import pytest

pytestmark = pytest.mark.slow

# AI Ping's Q4 2025 aggregate (the public study in the README): the largest family's share of
# requests, the top five's, and the Gini over families. The generator draws requests around
# these shares, so a 20,000-request sample lands within sampling noise of them (the top-1
# share's standard error is about 0.005 with the sample weights).
PUBLIC_TOP1, PUBLIC_TOP5, PUBLIC_GINI = 0.320, 0.874, 0.693


def test_family_concentration_lands_near_the_public_aggregate(generated_quarter):
    _, warehouse = generated_quarter
    con = duckdb.connect(str(warehouse), read_only=True)
    top1, top5, gini, lo, hi = con.execute(
        "select top1_share, top5_share, gini, gini_ci_low, gini_ci_high from marts.concentration "
        "where period = '2025Q4' and level = 'family' and measure = 'requests'"
    ).fetchone()
    con.close()
    assert top1 == pytest.approx(PUBLIC_TOP1, abs=0.02)
    assert top5 == pytest.approx(PUBLIC_TOP5, abs=0.02)
    assert gini == pytest.approx(PUBLIC_GINI, abs=0.02)
    assert lo <= gini <= hi


def test_demand_assets_rebuild_from_staging_with_every_quarter_in_the_metadata(tiny_drop, tmp_path):
    """Materialize only the demand assets (no ingest) against the staged Parquet of a drop that
    spans two quarters (the tiny drop: 2025Q3 and 2025Q4); the concentration metadata names
    both, not only the last one."""
    import dagster as dg

    from pipeline.defs.analysis.demand import DEMAND_ASSETS
    from pipeline.defs.resources import ServicelensPaths
    from pipeline.lib.runner import run_pipeline
    from pipeline.paths import parquet_root

    warehouse = tmp_path / "wh.duckdb"
    assert run_pipeline(tiny_drop, warehouse, echo=lambda _m: None, log_level="ERROR")
    rebuilt = ServicelensPaths(raw_dir=str(tmp_path / "no-drop"), warehouse=str(tmp_path / "rebuilt.duckdb"))
    # the published staging copied into the working Parquet of an empty warehouse
    shutil.copytree(parquet_root(warehouse) / "staging", rebuilt.root / "staging")
    # the demand marts over every staged day: the day partitions registered, one run over their range
    from pipeline.defs.partitions import DAYS
    from pipeline.paths import staged_days

    days = staged_days(rebuilt.root, "requests")
    with dg.DagsterInstance.ephemeral() as instance:
        instance.add_dynamic_partitions(DAYS.name, days)
        result = dg.materialize(
            DEMAND_ASSETS,
            resources={"paths": rebuilt},
            instance=instance,
            tags={"dagster/asset_partition_range_start": days[0], "dagster/asset_partition_range_end": days[-1]},
        )
    assert result.success
    conc = next(
        m
        for m in result.asset_materializations_for_node("concentration_marts")
        if m.asset_key == dg.AssetKey("concentration")
    )
    assert {"2025Q3 family Gini", "2025Q4 family Gini"} <= set(conc.metadata)
    # the rebuilt marts equal the ones the full run published
    con = duckdb.connect()
    for table in ("family_demand", "concentration"):
        a, b = (str(root / "marts" / f"{table}.parquet") for root in (parquet_root(warehouse), rebuilt.root))
        assert (
            con.execute(
                "select count(*) from (select * from read_parquet($a) except select * from read_parquet($b))",
                {"a": a, "b": b},
            ).fetchone()[0]
            == 0
        )


# Series a 20,000-request quarter can carry: probes and compat answers do not thin out with the
# request count (the request-based rates of a service object get a few requests a day at 20k).
PROBE_AND_COMPAT_METRICS = ("ttft_p50_ms", "decode_tps_p50", "probe_success_rate", "schema_accuracy", "tool_call_f1")


def test_the_changelog_finds_the_sample_worlds_planted_changes(generated_quarter):
    """Every change the generator planted (its manifest, not the pipeline, is the truth) is in
    marts.service_changes within two days, the quantization switch on its day; no change of a
    probe or compat series is reported that was not planted."""
    import datetime as dt
    import json

    raw, warehouse = generated_quarter
    planted = json.loads((raw / "_manifest.json").read_text())["planted_changes"]
    con = duckdb.connect(str(warehouse), read_only=True)
    found = con.execute(
        "select provider, model, metric, cast(changed_at as date) from marts.service_changes"
    ).fetchall()
    con.close()
    by_key: dict = {}
    for p, m, metric, day in found:
        by_key.setdefault((p, m, metric), []).append(day)
    wanted = [c for c in planted if c["metric"] in (*PROBE_AND_COMPAT_METRICS, "quantization")]
    assert len(wanted) >= 6  # the sample world plants latency, speed, success, schema, F1 and a switch
    for c in wanted:
        day = dt.date.fromisoformat(c["changed_at"])
        tolerance = 0 if c["metric"] == "quantization" else 2
        days = by_key.get((c["provider"], c["model"], c["metric"]), [])
        assert any(abs((d - day).days) <= tolerance for d in days), (c, days)
    planted_keys = {(c["provider"], c["model"], c["metric"]) for c in planted}
    unplanted = [k for k in by_key if k[2] in PROBE_AND_COMPAT_METRICS and k not in planted_keys]
    assert unplanted == []
