"""The contract checks catch what they claim to: tamper with staged output, expect a failure."""

from __future__ import annotations

import duckdb

from pipeline.lib.checks import accounting_problems, duplicate_keys
from pipeline.lib.contract import DATASETS
from pipeline.lib.ingest import stage_dataset


def staged(tiny_drop, tmp_path):
    root = tmp_path / "wh"
    for spec in DATASETS.values():
        stage_dataset(spec, tiny_drop, root)
    return root


def test_a_clean_staging_passes(tiny_drop, tmp_path):
    root = staged(tiny_drop, tmp_path)
    for spec in DATASETS.values():
        assert duplicate_keys(root, spec) == 0
        assert accounting_problems(root, spec, tiny_drop) == []


def test_a_lost_partition_breaks_the_accounting(tiny_drop, tmp_path):
    root = staged(tiny_drop, tmp_path)
    # requests loaded: r1, r11 (2025-10-01), r2 (2025-09-30), r12 (2025-10-02); drop one day
    (root / "staging" / "requests" / "date=2025-10-02" / "data_0.parquet").unlink()
    problems = accounting_problems(root, DATASETS["requests"], tiny_drop)
    assert problems == ["audit says 4 rows loaded, staged table has 3"]


def test_a_repeated_key_is_found(tiny_drop, tmp_path):
    root = staged(tiny_drop, tmp_path)
    part = root / "staging" / "requests" / "date=2025-10-01"
    duckdb.execute(
        f"copy (select * from read_parquet('{part}/data_0.parquet') limit 1) to '{part}/extra.parquet' (format parquet)"
    )
    assert duplicate_keys(root, DATASETS["requests"]) == 1


def test_a_changed_parquet_source_is_noticed(tiny_drop, tmp_path):
    root = staged(tiny_drop, tmp_path)
    # the audit read 3 rows from b.parquet; a file that now holds 1 row disagrees with it
    src = tiny_drop / "requests" / "date=2025-10-02" / "b.parquet"
    duckdb.execute(f"copy (select * from read_parquet('{src}') limit 1) to '{src}.tmp' (format parquet)")
    src.with_suffix(".parquet.tmp").replace(src)
    problems = accounting_problems(root, DATASETS["requests"], tiny_drop)
    assert "requests/date=2025-10-02/b.parquet: footer has 1 rows, audit read 3" in problems


def staged_by_day(tiny_drop, tmp_path):
    from pipeline.lib.parse_cache import TS_DATASETS, update_parse_cache
    from pipeline.lib.staging import stage_days

    root = tmp_path / "wh"
    for spec in DATASETS.values():
        if spec.name in TS_DATASETS:
            update_parse_cache(spec, tiny_drop, root)
            stage_days(spec, root)
        else:
            stage_dataset(spec, tiny_drop, root)
    return root


def _copy_first_row(root, from_day, to_day):
    src = root / "staging" / "requests" / f"date={from_day}" / "data_0.parquet"
    dst = root / "staging" / "requests" / f"date={to_day}" / "extra.parquet"
    duckdb.execute(f"copy (select * from read_parquet('{src}') limit 1) to '{dst}' (format parquet)")


def test_the_checked_days_find_a_key_repeated_on_another_day(tiny_drop, tmp_path):
    root = staged_by_day(tiny_drop, tmp_path)
    spec = DATASETS["requests"]
    assert duplicate_keys(root, spec, ["2025-10-02"]) == 0
    _copy_first_row(root, "2025-10-01", "2025-10-02")  # r1 or r11 now on two days
    assert duplicate_keys(root, spec) == 1
    assert duplicate_keys(root, spec, ["2025-10-02"]) == 1  # found through 2025-10-01's key index
    _copy_first_row(root, "2025-10-01", "2025-10-01")  # and twice on 2025-10-01: still one key value
    assert duplicate_keys(root, spec) == 1
    assert duplicate_keys(root, spec, ["2025-10-02"]) == 1
    assert duplicate_keys(root, spec, ["2025-10-01", "2025-10-02"]) == 1


def test_the_checked_days_find_a_key_repeated_within_them(tiny_drop, tmp_path):
    root = staged_by_day(tiny_drop, tmp_path)
    spec = DATASETS["requests"]
    _copy_first_row(root, "2025-10-01", "2025-10-01")
    assert duplicate_keys(root, spec, ["2025-10-01"]) == 1
    # the days a step did not stage are the ones that passed before: not read again
    assert duplicate_keys(root, spec, ["2025-10-02"]) == 0
