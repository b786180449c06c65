"""Ingestion of a generated drop: the audit must equal what the generator planted.

The generator computes its expected loaded / quarantined / duplicate counts from what it
wrote (not by reading files back), so this compares two independent accounts.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from pipeline.lib.contract import DATASETS
from pipeline.lib.generate import generate_drop
from pipeline.lib.ingest import stage_dataset

# planted defect kind -> the reason text the quarantine must show for it
REASON_OF = {
    "negative_tokens": "out_of_range: input_tokens",
    "bad_sample_rate": "out_of_range: sample_rate",
    "bad_status": "not_allowed: status",
    "bad_ts": "bad_type: ts",
    "null_model": "missing: model",
    "unknown_model": "unknown_model: model",
    "unknown_provider": "unknown_provider: provider",
    "conflict": "conflict:",
}


@pytest.fixture(scope="module")
def staged(tmp_path_factory):
    raw = tmp_path_factory.mktemp("gen") / "raw"
    manifest = generate_drop(raw, n_requests=30_000, seed=7, bad_row_fraction=0.01)
    root = raw.parent / "wh"
    for spec in DATASETS.values():
        stage_dataset(spec, raw, root)
    return root, manifest


def _q(sql: str, **params):
    con = duckdb.connect()
    try:
        return con.execute(sql, params).fetchall()
    finally:
        con.close()


def test_audit_equals_the_generators_expectation(staged):
    root, manifest = staged
    got = {
        d: {"loaded": ld, "quarantined": q, "duplicate": du}
        for d, ld, q, du in _q(
            "select dataset, sum(rows_loaded), sum(rows_quarantined), sum(rows_duplicate) "
            "from read_parquet($p, union_by_name = true) group by 1",
            p=str(root / "ingest" / "*" / "audit.parquet"),
        )
    }
    assert got == manifest["expected"]
    assert manifest["expected"]["requests"]["loaded"] == manifest["n_requests"]


def test_each_planted_defect_is_quarantined_with_its_reason(staged):
    root, manifest = staged
    planted = manifest["planted"]["requests"]
    for kind, text in REASON_OF.items():
        (n,) = _q(
            "select count(*) from read_parquet($p) where contains(reason, $t)",
            p=str(Path(root) / "ingest" / "requests" / "quarantine.parquet"),
            t=text,
        )[0]
        assert n == planted[kind], (kind, n, planted[kind])
