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
    duckdb.execute(f"copy (select * from read_parquet('{part}/data_0.parquet') limit 1) to '{part}/extra.parquet' (format parquet)")
    assert duplicate_keys(root, DATASETS["requests"]) == 1


def test_a_changed_parquet_source_is_noticed(tiny_drop, tmp_path):
    root = staged(tiny_drop, tmp_path)
    # the audit read 3 rows from b.parquet; a file that now holds 1 row disagrees with it
    src = tiny_drop / "requests" / "date=2025-10-02" / "b.parquet"
    duckdb.execute(f"copy (select * from read_parquet('{src}') limit 1) to '{src}.tmp' (format parquet)")
    src.with_suffix(".parquet.tmp").replace(src)
    problems = accounting_problems(root, DATASETS["requests"], tiny_drop)
    assert "requests/date=2025-10-02/b.parquet: footer has 1 rows, audit read 3" in problems
