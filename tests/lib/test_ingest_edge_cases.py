"""Adversarial inputs found in review: each used to crash a file, lose rows or misplace them."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.lib.contract import DATASETS
from pipeline.lib.ingest import stage_dataset

MODELS = "model,family,developer,release_date,successor_of,official_provider\nm1,fam,dev,2025-09-01,,p1\n"
ENDPOINTS = (
    "provider,model,valid_from,valid_to,context_length,max_output_tokens,quantization,"
    "supports_tools,supports_json_mode,supports_streaming,supports_reasoning\n"
    "p1,m1,2025-09-01T00:00:00Z,,131072,8192,bf16,true,true,true,false\n"
)
REQ_COLS = "request_id,ts,application,client_id,model,provider,input_tokens,output_tokens,cached_input_tokens,status,error_type,http_status,ttft_ms,latency_ms,stream,tools,json_mode,sample_rate"


def req(rid: str, status: str = "ok", ts: str = "2025-10-01T01:00:00Z") -> str:
    return f"{rid},{ts},chat,c1,m1,p1,10,5,,{status},,200,100,900,true,false,false,1"


def drop(tmp_path: Path, files: dict[str, str | bytes]) -> Path:
    raw = tmp_path / "raw"
    for rel, text in {"models/m.csv": MODELS, "endpoints/e.csv": ENDPOINTS, **files}.items():
        p = raw / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        (p.write_bytes if isinstance(text, bytes) else p.write_text)(text)
    return raw


def stage(raw: Path, *names: str) -> Path:
    root = raw.parent / "wh"
    for name in ("models", "endpoints", *names):
        stage_dataset(DATASETS[name], raw, root)
    return root


def q(sql: str, **params):
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    try:
        return con.execute(sql, params).fetchall()
    finally:
        con.close()


def audit(root: Path, name: str):
    return q(
        "select source_file, rows_read, rows_loaded, rows_quarantined, rows_duplicate, file_error from read_parquet($p) order by 1",
        p=str(root / "ingest" / name / "audit.parquet"),
    )


def quarantine(root: Path, name: str):
    return q(
        "select row_number, reason, raw from read_parquet($p) order by 1",
        p=str(root / "ingest" / name / "quarantine.parquet"),
    )


def test_column_differing_only_in_case_is_an_extra_not_a_crash(tmp_path):
    text = REQ_COLS.replace(",model,", ",Model,") + "\n" + req("r1") + "\n"
    root = stage(drop(tmp_path, {"requests/a.csv": text}), "requests")
    assert audit(root, "requests") == [("requests/a.csv", 1, 0, 1, 0, None)]
    ((row, reason, raw),) = quarantine(root, "requests")
    assert "missing: model (no such column)" in reason


def test_extra_named_like_the_partition_column_does_not_move_rows(tmp_path):
    text = REQ_COLS + ",Date\n" + req("r1") + ",1999-01-01\n"
    root = stage(drop(tmp_path, {"requests/a.csv": text}), "requests")
    got = q(
        "select cast(date as varchar), Date_extra from read_parquet($p, hive_partitioning = true)",
        p=str(root / "staging" / "requests" / "**" / "*.parquet"),
    )
    assert got == [("2025-10-01", "1999-01-01")]


def test_csv_row_numbers_skip_blank_lines_and_count_rejects(tmp_path):
    # non-blank records after the header: b1=1, malformed=2, b2=3, mal2=4, b3=5
    text = (
        "\n".join([REQ_COLS, req("b1", "BAD"), "", "", "malformed", req("b2", "BAD"), "", "mal2", req("b3", "BAD")])
        + "\n"
    )
    root = stage(drop(tmp_path, {"requests/a.csv": text}), "requests")
    got = [(n, r.split(":")[0], raw) for n, r, raw in quarantine(root, "requests")]
    assert [(n, code) for n, code, _ in got] == [
        (1, "not_allowed"),
        (2, "malformed_row"),
        (3, "not_allowed"),
        (4, "malformed_row"),
        (5, "not_allowed"),
    ]
    assert got[1][2] == "malformed"


def test_glob_characters_in_a_file_name_do_not_read_other_files(tmp_path):
    files = {
        "requests/x*.csv": REQ_COLS + "\n" + req("r1") + "\n",
        "requests/xy.csv": REQ_COLS + "\n" + req("r2") + "\n",
    }
    root = stage(drop(tmp_path, files), "requests")
    rows = audit(root, "requests")
    assert rows[0][:5] == ("requests/x*.csv", 0, 0, 0, 0) and "glob character" in rows[0][5]
    assert rows[1] == ("requests/xy.csv", 1, 1, 0, 0, None)


def test_one_long_line_does_not_lose_the_file(tmp_path):
    long_client = "c" * (3 * 2**20)  # over DuckDB's 2 MB default line limit
    text = "\n".join([REQ_COLS, req("r1"), req("r2").replace(",c1,", f",{long_client},")]) + "\n"
    root = stage(drop(tmp_path, {"requests/a.csv": text}), "requests")
    assert audit(root, "requests") == [("requests/a.csv", 2, 2, 0, 0, None)]


def test_an_unterminated_quote_keeps_the_rows_before_it(tmp_path):
    text = "\n".join([REQ_COLS, req("r1"), req("r2").replace(",chat,", ',"chat,'), req("r3")]) + "\n"
    root = stage(drop(tmp_path, {"requests/a.csv": text}), "requests")
    ((f, read, loaded, quarantined, dup, err),) = audit(root, "requests")
    assert (loaded, err) == (1, None) and read == loaded + quarantined + dup and quarantined >= 1
    assert quarantine(root, "requests")[0][0] == 2


def test_a_zoned_time_in_a_date_column_takes_the_utc_date(tmp_path):
    text = "date,currency,usd_per_unit\n2025-10-01T23:00:00-05:00,CNY,0.14\n2025-10-01,EUR,1.1\n"
    root = stage(drop(tmp_path, {"fx_rates/fx.csv": text}), "fx_rates")
    got = q(
        "select currency, cast(date as varchar) from read_parquet($p, hive_partitioning = true) order by 1",
        p=str(root / "staging" / "fx_rates" / "**" / "*.parquet"),
    )
    assert got == [("CNY", "2025-10-02"), ("EUR", "2025-10-01")]


def test_parquet_columns_named_like_reader_options_are_kept_under_other_names(tmp_path):
    # DuckDB's reader columns (filename, file_row_number) and the engine's own (_reason) are
    # never staged under their names: a later read_parquet(..., filename = true) would clash
    raw = drop(tmp_path, {})
    t = pa.table(
        {
            "request_id": ["r1"],
            "ts": ["2025-10-01T01:00:00Z"],
            "model": ["m1"],
            "provider": ["p1"],
            "input_tokens": [1],
            "output_tokens": [1],
            "status": ["ok"],
            "stream": [True],
            "tools": [False],
            "json_mode": [False],
            "sample_rate": [1.0],
            "filename": ["mine.txt"],
            "file_row_number": [42],
            "_reason": ["kept"],
        }
    )
    (raw / "requests").mkdir()
    pq.write_table(t, raw / "requests" / "a.parquet")
    root = stage(raw, "requests")
    assert audit(root, "requests") == [("requests/a.parquet", 1, 1, 0, 0, None)]
    got = q(
        "select filename_extra, file_row_number_extra, reason_extra from read_parquet($p)",
        p=str(root / "staging" / "requests" / "**" / "*.parquet"),
    )
    assert got == [("mine.txt", "42", "kept")]
    cols = {
        r[0]
        for r in q("describe select * from read_parquet($p)", p=str(root / "staging" / "requests" / "**" / "*.parquet"))
    }
    assert not cols & {"filename", "file_row_number", "file_index", "rowid"}


def test_an_empty_file_is_zero_rows_and_adds_no_columns(tmp_path):
    root = stage(
        drop(tmp_path, {"requests/empty.csv": "", "requests/a.csv": REQ_COLS + "\n" + req("r1") + "\n"}), "requests"
    )
    assert audit(root, "requests") == [("requests/a.csv", 1, 1, 0, 0, None), ("requests/empty.csv", 0, 0, 0, 0, None)]
    cols = [
        r[0]
        for r in q("describe select * from read_parquet($p)", p=str(root / "staging" / "requests" / "**" / "*.parquet"))
    ]
    assert "column0" not in cols


def test_csv_files_read_together_keep_their_own_row_numbers(tmp_path):
    # two files with one header are read in one scan; numbers restart in each file
    f1 = "\n".join([REQ_COLS, req("a1"), "junk", req("a2", "BAD")]) + "\n"  # a2 is row 3 of f1
    f2 = "\n".join([REQ_COLS, req("b1", "BAD"), req("b2"), "junk2", req("b3", "BAD")]) + "\n"  # b1 row 1, b3 row 4
    root = stage(drop(tmp_path, {"requests/d1.csv": f1, "requests/d2.csv": f2}), "requests")
    got = q(
        "select source_file, row_number, split_part(reason, ':', 1) from read_parquet($p) order by 1, 2",
        p=str(root / "ingest" / "requests" / "quarantine.parquet"),
    )
    assert got == [
        ("requests/d1.csv", 2, "malformed_row"),
        ("requests/d1.csv", 3, "not_allowed"),
        ("requests/d2.csv", 1, "not_allowed"),
        ("requests/d2.csv", 3, "malformed_row"),
        ("requests/d2.csv", 4, "not_allowed"),
    ]
    assert audit(root, "requests") == [("requests/d1.csv", 3, 1, 2, 0, None), ("requests/d2.csv", 4, 1, 3, 0, None)]


def test_a_sample_rate_whose_weight_would_overflow_sums_is_quarantined(tmp_path):
    # 5e-309 is inside the contract's (0, 1] but 1 / 5e-309 is infinite; 1e-100 (weight 1e100) loads
    rows = [req("tiny").rsplit(",", 1)[0] + ",5e-309", req("small").rsplit(",", 1)[0] + ",1e-100", req("plain")]
    root = stage(drop(tmp_path, {"requests/a.csv": "\n".join([REQ_COLS, *rows]) + "\n"}), "requests")
    assert audit(root, "requests") == [("requests/a.csv", 3, 2, 1, 0, None)]
    assert q(
        "select row_number, reason from read_parquet($p)", p=str(root / "ingest" / "requests" / "quarantine.parquet")
    ) == [(1, "out_of_range: sample_rate must be at least 1e-100 (its weight 1 / sample_rate must stay summable)")]
