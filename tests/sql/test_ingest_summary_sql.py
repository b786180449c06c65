"""marts.ingest_summary and marts.quarantine_reasons on a hand-made audit."""

from __future__ import annotations

import polars as pl

from tests.sql.report_marts import build

AUDIT = pl.DataFrame(
    {
        "dataset": ["requests", "requests", "models"],
        "source_file": ["requests/a.csv", "requests/b.csv", "models/m.csv"],
        "file_format": ["csv", "csv", "csv"],
        "rows_read": [10, 5, 3],
        "rows_loaded": [7, 5, 0],
        "rows_quarantined": [2, 0, 0],
        "rows_duplicate": [1, 0, 0],
        "file_error": [None, None, "unreadable: not UTF-8"],
    }
)
QUARANTINE = pl.DataFrame(
    {
        "dataset": ["requests", "requests"],
        "source_file": ["requests/a.csv", "requests/a.csv"],
        "row_number": [3, 8],
        "reason": ["unknown_model: model", "bad_type: ts"],
        "raw": ["x", "y"],
    }
)


def test_per_dataset_and_all_together(tmp_path):
    out = build(tmp_path, "ingest_summary", ingest_audit=AUDIT, quarantine=QUARANTINE)
    rows = {(r["dataset"], r["is_total"]): r for r in out.iter_rows(named=True)}
    req = rows[("requests", False)]
    assert (req["files"], req["rows_read"], req["rows_loaded"], req["rows_quarantined"], req["rows_duplicate"]) == (
        2,
        15,
        12,
        2,
        1,
    )
    assert req["rows_unknown_reference"] == 1  # one of the two quarantined rows names an unknown model
    assert req["balanced"]  # 15 = 12 + 2 + 1
    models = rows[("models", False)]
    assert models["files_unreadable"] == 1 and models["rows_unknown_reference"] == 0
    total = rows[(None, True)]
    assert (total["files"], total["rows_read"], total["rows_loaded"], total["files_unreadable"]) == (3, 18, 12, 1)
    # models read 3 rows and accounted for none of them: the drop does not balance
    assert total["rows_unknown_reference"] == 1 and total["balanced"] is False


def test_reason_codes_with_an_example(tmp_path):
    out = build(tmp_path, "quarantine_reasons", quarantine=QUARANTINE)
    assert sorted(out.select("dataset", "code", "rows_quarantined", "example").rows()) == [
        ("requests", "bad_type", 1, "bad_type: ts"),
        ("requests", "unknown_model", 1, "unknown_model: model"),
    ]


def test_no_audit_gives_one_empty_total(tmp_path):
    out = build(tmp_path, "ingest_summary")
    assert out.height == 1 and out["is_total"][0] and out["files"][0] == 0
