"""Hostile drops from the second review: each used to fail a file or a run, or lose rows from
the accounting. Every expected count is worked out by hand from the rows written here."""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline.lib import ingest
from pipeline.lib.contract import DATASETS
from pipeline.lib.ingest import discovery, stage_dataset, text_reader

MODELS = "model,family,developer,release_date,successor_of,official_provider\nm1,fam,dev,2025-09-01,,p1\n"
ENDPOINTS = (
    "provider,model,valid_from,valid_to,context_length,max_output_tokens,quantization,"
    "supports_tools,supports_json_mode,supports_streaming,supports_reasoning\n"
    "p1,m1,2025-09-01T00:00:00Z,,131072,8192,bf16,true,true,true,false\n"
)
REQ_COLS = [
    "request_id",
    "ts",
    "application",
    "client_id",
    "model",
    "provider",
    "input_tokens",
    "output_tokens",
    "cached_input_tokens",
    "status",
    "error_type",
    "http_status",
    "ttft_ms",
    "latency_ms",
    "stream",
    "tools",
    "json_mode",
    "sample_rate",
]
HEADER = ",".join(REQ_COLS)


def req(rid: str, **over) -> dict:
    row = {
        "request_id": rid,
        "ts": "2025-10-01T01:00:00Z",
        "application": "chat",
        "client_id": "c1",
        "model": "m1",
        "provider": "p1",
        "input_tokens": "10",
        "output_tokens": "5",
        "cached_input_tokens": "",
        "status": "ok",
        "error_type": "",
        "http_status": "200",
        "ttft_ms": "100",
        "latency_ms": "900",
        "stream": "true",
        "tools": "false",
        "json_mode": "false",
        "sample_rate": "1",
    }
    row.update(over)
    return row


def csv_line(row: dict) -> str:
    return ",".join(row[c] for c in REQ_COLS)


def drop(tmp_path: Path, files: dict[str, str | bytes]) -> Path:
    raw = tmp_path / "raw"
    for rel, text in {"models/m.csv": MODELS, "endpoints/e.csv": ENDPOINTS, **files}.items():
        p = raw / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        (p.write_bytes if isinstance(text, bytes) else p.write_text)(text)
    return raw


def stage(raw: Path, *names: str, root: Path | None = None) -> Path:
    root = root or raw.parent / "wh"
    for name in ("models", "endpoints", *names):
        stage_dataset(DATASETS[name], raw, root)
    return root


def sql(query: str, **params):
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    try:
        return con.execute(query, params).fetchall()
    finally:
        con.close()


def audit(root: Path, name: str = "requests"):
    return sql(
        "select source_file, rows_read, rows_loaded, rows_quarantined, rows_duplicate, file_error from read_parquet($p) order by 1",
        p=str(root / "ingest" / name / "audit.parquet"),
    )


def quarantine(root: Path, name: str = "requests"):
    return sql(
        "select source_file, row_number, reason, raw from read_parquet($p) order by 1, 2",
        p=str(root / "ingest" / name / "quarantine.parquet"),
    )


def staged_files(root: Path, name: str = "requests") -> list[str]:
    return sorted(str(p) for p in (root / "staging" / name).rglob("*.parquet"))


def staged(root: Path, cols: str, name: str = "requests"):
    return sql(
        f"select {cols} from read_parquet($p, hive_partitioning = true) order by all", p=staged_files(root, name)
    )


def staged_columns(root: Path, name: str = "requests") -> set[str]:
    # the files' own columns (parquet_schema), not what read_parquet adds on top of them
    return {n for (n,) in sql("select name from parquet_schema($p) where name <> 'schema'", p=staged_files(root, name))}


def requests_table(rows: list[dict], **types) -> pa.Table:
    cols = {c: [r[c] if r[c] != "" else None for r in rows] for c in REQ_COLS}
    return pa.table({c: pa.array(v, types.get(c, pa.string())) for c, v in cols.items()})


# ---------------------------------------------------------------- 1. reader columns


def test_1_parquet_columns_named_like_duckdb_reader_columns_become_extras(tmp_path):
    raw = drop(tmp_path, {})
    t = requests_table([req("r1"), req("r2")])
    t = t.append_column("file_row_number", pa.array([7, 8])).append_column("filename", pa.array(["a", "b"]))
    t = t.append_column("file_index", pa.array([1, 2])).append_column("__sl_filename", pa.array(["x", "y"]))
    (raw / "requests").mkdir()
    pq.write_table(t, raw / "requests" / "a.parquet")
    root = stage(raw, "requests")
    assert audit(root) == [("requests/a.parquet", 2, 2, 0, 0, None)]
    cols = staged_columns(root)
    assert not cols & {"filename", "file_row_number", "file_index"}
    assert {"file_row_number_extra", "filename_extra", "file_index_extra", "sl_filename_extra"} <= cols
    got = staged(root, "request_id, file_row_number_extra, filename_extra, file_index_extra, sl_filename_extra")
    assert got == [("r1", "7", "a", "1", "x"), ("r2", "8", "b", "2", "y")]
    # the read the routing step makes of staging (sql/core/core_routing__requests.sql)
    n = sql(
        "select count(*), min(file_row_number), max(file_row_number) from read_parquet($p, hive_partitioning = true, "
        "filename = true, file_row_number = true)",
        p=staged_files(root),
    )
    assert n == [(2, 0, 1)]


def test_1_csv_and_jsonl_columns_named_like_reader_columns_become_extras(tmp_path):
    csv_text = HEADER + ",file_row_number,FILENAME,file_index\n" + csv_line(req("r1")) + ",5,f,9\n"
    jrow = {k: v for k, v in req("r2").items() if v != ""} | {"file_row_number": 6, "Filename": "g", "file_index": 3}
    root = stage(drop(tmp_path, {"requests/a.csv": csv_text, "requests/b.jsonl": json.dumps(jrow) + "\n"}), "requests")
    assert audit(root) == [("requests/a.csv", 1, 1, 0, 0, None), ("requests/b.jsonl", 1, 1, 0, 0, None)]
    assert not staged_columns(root) & {"filename", "file_row_number", "file_index", "FILENAME", "Filename"}
    got = staged(root, "request_id, file_row_number_extra, FILENAME_extra, file_index_extra")
    assert got == [("r1", "5", "f", "9"), ("r2", "6", "g", "3")]


# ---------------------------------------------------------------- 2. bytes that are not UTF-8


def test_2_a_bad_byte_in_a_csv_row_quarantines_that_row_only(tmp_path):
    text = (
        (HEADER + "\n" + csv_line(req("r1")) + "\n").encode()
        + csv_line(req("r2", client_id="c\xff")).encode("latin-1")
        + ("\n" + csv_line(req("r3")) + "\n").encode()
    )
    root = stage(drop(tmp_path, {"requests/a.csv": text}), "requests")
    # 3 rows: r1 and r3 load, r2 (row 2) is quarantined
    assert audit(root) == [("requests/a.csv", 3, 2, 1, 0, None)]
    ((f, row, reason, raw),) = quarantine(root)
    assert (f, row) == ("requests/a.csv", 2) and reason.startswith("bad_encoding:")
    assert raw.startswith("r2,")
    assert staged(root, "request_id") == [("r1",), ("r3",)]


def test_2_a_bad_byte_in_a_jsonl_line_quarantines_that_line_only(tmp_path):
    good = lambda rid: json.dumps({k: v for k, v in req(rid).items() if v != ""})  # noqa: E731
    text = (
        (good("r1") + "\n\n").encode()
        + good("r2").replace('"c1"', '"c\\u00e9"').encode().replace(b"\\u00e9", b"\xe9")
        + ("\n" + good("r3") + "\n").encode()
    )
    root = stage(drop(tmp_path, {"requests/a.jsonl": text}), "requests")
    # lines: 1 r1, 2 blank (not a row), 3 r2 with a Latin-1 byte, 4 r3
    assert audit(root) == [("requests/a.jsonl", 3, 2, 1, 0, None)]
    ((f, row, reason, raw),) = quarantine(root)
    assert (row, reason.split(":")[0]) == (3, "bad_encoding") and '"request_id": "r2"' in raw
    assert staged(root, "request_id") == [("r1",), ("r3",)]


def test_2_a_bad_byte_in_the_csv_header_is_replaced_and_the_columns_still_map(tmp_path):
    header = (HEADER + ",r\xe9gion").encode("latin-1")
    text = header + ("\n" + csv_line(req("r1")) + ",eu\n" + csv_line(req("r2")) + ",us\n").encode()
    root = stage(drop(tmp_path, {"requests/a.csv": text}), "requests")
    assert audit(root) == [("requests/a.csv", 2, 2, 0, 0, None)]
    assert staged(root, '"r\ufffdgion"') == [("eu",), ("us",)]


def test_2_a_bad_byte_inside_a_contract_column_name_leaves_that_column_missing(tmp_path):
    header = HEADER.replace(",model,", ",mod\xe9l,").encode("latin-1")
    text = header + ("\n" + csv_line(req("r1")) + "\n").encode()
    root = stage(drop(tmp_path, {"requests/a.csv": text}), "requests")
    assert audit(root) == [("requests/a.csv", 1, 0, 1, 0, None)]
    assert "missing: model (no such column)" in quarantine(root)[0][2]


def test_2_a_parquet_string_that_is_not_utf8_costs_its_row_only(tmp_path):
    raw = drop(tmp_path, {})
    t = requests_table([req("r1"), req("r2"), req("r3")])
    # rebuild client_id with the raw bytes c1 / \xff\xfe / c3 (Arrow does not check them)
    data, offsets = b"c1\xff\xfec3", pa.array([0, 2, 4, 6], pa.int32()).buffers()[1]
    bad = pa.Array.from_buffers(pa.string(), 3, [None, offsets, pa.py_buffer(data)])
    t = t.set_column(REQ_COLS.index("client_id"), "client_id", bad)
    (raw / "requests").mkdir()
    pq.write_table(t, raw / "requests" / "a.parquet")
    root = stage(raw, "requests")
    assert audit(root) == [("requests/a.parquet", 3, 2, 1, 0, None)]
    ((f, row, reason, _),) = quarantine(root)
    assert (row, reason) == (2, "bad_encoding: client_id is not valid UTF-8")
    assert staged(root, "request_id, client_id") == [("r1", "c1"), ("r3", "c3")]


# ---------------------------------------------------------------- 3. column names that clash


def test_3_model_and_Model_in_one_csv_header(tmp_path):
    text = HEADER + ",Model,__sl_filename\n" + csv_line(req("r1")) + ",Other,x\n" + csv_line(req("r2")) + ",Else,y\n"
    root = stage(drop(tmp_path, {"requests/a.csv": text}), "requests")
    assert audit(root) == [("requests/a.csv", 2, 2, 0, 0, None)]
    assert staged(root, "request_id, model, Model_extra, sl_filename_extra") == [
        ("r1", "m1", "Other", "x"),
        ("r2", "m1", "Else", "y"),
    ]


def test_3_Model_before_model_and_an_exact_repeat(tmp_path):
    # Model first: the exact `model` is still the contract column; the repeated `tools`
    # (second copy) is an extra
    cols = ["Model"] + REQ_COLS + ["tools"]
    text = ",".join(cols) + "\n" + ",".join(["X"] + [req("r1")[c] for c in REQ_COLS] + ["yes"]) + "\n"
    root = stage(drop(tmp_path, {"requests/a.csv": text}), "requests")
    assert audit(root) == [("requests/a.csv", 1, 1, 0, 0, None)]
    assert staged(root, "model, Model_extra, tools, tools_extra") == [("m1", "X", False, "yes")]


def test_3_extras_spelled_differently_in_two_files_are_one_column(tmp_path):
    files = {
        "requests/a.csv": HEADER + ",Region\n" + csv_line(req("r1")) + ",eu\n",
        "requests/b.csv": HEADER + ",region\n" + csv_line(req("r2")) + ",us\n",
    }
    root = stage(drop(tmp_path, files), "requests")
    assert audit(root) == [("requests/a.csv", 1, 1, 0, 0, None), ("requests/b.csv", 1, 1, 0, 0, None)]
    assert staged(root, "request_id, Region") == [("r1", "eu"), ("r2", "us")]


def test_3_parquet_and_jsonl_case_clashes(tmp_path):
    raw = drop(tmp_path, {})
    t = requests_table([req("r1")]).append_column("Model", pa.array(["P"])).append_column("model", pa.array(["again"]))
    (raw / "requests").mkdir()
    pq.write_table(t, raw / "requests" / "a.parquet")
    line = (
        "{"
        + ", ".join(f'"{k}": "{v}"' for k, v in req("r2").items() if v)
        + ', "MODEL": "J", "*": "star", "": "empty", "a/b": "slash"}'
    )
    (raw / "requests" / "b.jsonl").write_text(line + "\n")
    root = stage(raw, "requests")
    assert audit(root) == [("requests/a.parquet", 1, 1, 0, 0, None), ("requests/b.jsonl", 1, 1, 0, 0, None)]
    # parquet: Model -> Model_extra; the exact repeat `model` -> model_extra, which clashes
    # with Model_extra as DuckDB compares names -> model_extra_extra. jsonl (keys in sorted
    # order): '' -> unnamed, MODEL -> MODEL_extra, spelled Model_extra as in the first file.
    got = staged(root, 'request_id, model, Model_extra, model_extra_extra, "*", unnamed, "a/b"')
    assert got == [("r1", "m1", "P", "again", None, None, None), ("r2", "m1", "J", None, "star", "empty", "slash")]


def write_requests_parquet(raw: Path, rows: list[dict], names: list[str], extras: dict[str, list]) -> Path:
    """requests/a.parquet under `raw` with the columns `names` in that order: a contract name
    takes the rows' values, any other name (empty, repeated in another case) its `extras` values."""
    base = requests_table(rows)
    table = pa.table([pa.array(extras[n]) if n in extras else base.column(n) for n in names], names=names)
    (raw / "requests").mkdir()
    pq.write_table(table, raw / "requests" / "a.parquet")
    return raw / "requests" / "a.parquet"


def test_3_a_parquet_column_without_a_name_beside_Status_before_status(tmp_path):
    # DuckDB's describe calls the unnamed column C0 and the exact `status` status_1: the file's
    # own names still map, so `status` is the contract column (found by the fuzz campaign: the
    # rows were quarantined as "missing: status (no such column)")
    raw = drop(tmp_path, {})
    rows = [req("r1"), req("r2", status="error", error_type="timeout", ttft_ms="", latency_ms="")]
    cut = REQ_COLS.index("status")
    write_requests_parquet(
        raw, rows, ["", *REQ_COLS[:cut], "Status", *REQ_COLS[cut:]], {"": ["e1", "e2"], "Status": ["X", "Y"]}
    )
    root = stage(raw, "requests")
    assert audit(root) == [("requests/a.parquet", 2, 2, 0, 0, None)]
    assert staged(root, "request_id, status, Status_extra, unnamed") == [
        ("r1", "ok", "X", "e1"),
        ("r2", "error", "Y", "e2"),
    ]


def test_3_case_repeats_renamed_twice_by_duckdb_keep_the_exact_status(tmp_path):
    # describe: Status, status_1, STATUS_1_1 (STATUS is taken as Status, then as status_1), and
    # the exact status is status_1_2
    raw = drop(tmp_path, {})
    cut = REQ_COLS.index("status")
    names = [*REQ_COLS[:cut], "Status", "status_1", "STATUS", *REQ_COLS[cut:]]
    write_requests_parquet(raw, [req("r1")], names, {"Status": ["A"], "status_1": ["B"], "STATUS": ["C"]})
    root = stage(raw, "requests")
    assert audit(root) == [("requests/a.parquet", 1, 1, 0, 0, None)]
    assert staged(root, "status, Status_extra, status_1, STATUS_extra_extra") == [("ok", "A", "B", "C")]


def test_3_a_parquet_file_duckdb_cannot_open_for_its_names_is_read_through_arrow(tmp_path):
    # the unnamed second column is C1 to DuckDB, which clashes with the file's own c1: DuckDB
    # refuses the file ("duplicate column name"); Arrow reads it, every row loads
    raw = drop(tmp_path, {})
    names = [REQ_COLS[0], "", *REQ_COLS[1:], "c1"]
    path = write_requests_parquet(raw, [req("r1"), req("r2")], names, {"": ["e1", "e2"], "c1": ["x", "y"]})
    with pytest.raises(duckdb.BinderException):
        sql("describe select * from read_parquet($p)", p=str(path))
    root = stage(raw, "requests")
    assert audit(root) == [("requests/a.parquet", 2, 2, 0, 0, None)]
    assert staged(root, "request_id, status, c1, unnamed") == [("r1", "ok", "x", "e1"), ("r2", "ok", "y", "e2")]


def test_3_a_files_own_column_names_are_recovered_from_whatever_duckdb_calls_them(tmp_path):
    # 400 seeded lists of names built to collide (case, _<n> suffixes, C<n>, empty): wherever
    # DuckDB opens the file, the reader maps every position back to the file's own name
    from pipeline.lib.ingest.parquet_reader import _parquet_schemas, _top_level_names

    pool = ["", "a", "A", "a_1", "A_1", "C0", "C1", "c1", "_1", "_2", "status", "Status", "STATUS", "status_1", " "]
    rng = random.Random(13)
    con = duckdb.connect()
    opened = 0
    for i in range(400):
        names = [rng.choice(pool) for _ in range(rng.randint(1, 7))]
        sf = discovery.SourceFile(tmp_path / f"{i}.parquet", f"{i}.parquet", "parquet")
        pq.write_table(pa.table([pa.array([k]) for k in range(len(names))], names=names), sf.path)
        path = str(sf.path)
        schema = _parquet_schemas(con, [sf])[path]
        try:
            described = [r[0] for r in con.execute("describe select * from read_parquet($p)", {"p": path}).fetchall()]
        except duckdb.BinderException:
            continue  # DuckDB refuses the names: the file is read through Arrow (test above)
        opened += 1
        assert _top_level_names(schema, described) == names, (names, described)
    assert opened > 300


# ---------------------------------------------------------------- 4. records over the limit


def test_4_a_csv_record_over_64_mib_is_quarantined_not_lost(tmp_path):
    big = "c" * (text_reader.MAX_LINE_BYTES + 10)
    text = (
        HEADER
        + "\n"
        + csv_line(req("r1"))
        + "\n"
        + csv_line(req("r2", client_id=big))
        + "\n"
        + csv_line(req("r3"))
        + "\n"
    )
    root = stage(drop(tmp_path, {"requests/a.csv": text}), "requests")
    assert audit(root) == [("requests/a.csv", 3, 2, 1, 0, None)]
    ((f, row, reason, raw),) = quarantine(root)
    size = len(csv_line(req("r2", client_id=big)))
    assert (row, reason) == (
        2,
        f"too_long: the line is {size:,} bytes, over the {text_reader.MAX_LINE_BYTES:,}-byte limit",
    )
    prefix = csv_line(req("r2", client_id=big))[: text_reader.TRUNCATED_RAW_BYTES]
    assert raw == f"{prefix} [... truncated: {size:,} bytes]"
    assert staged(root, "request_id") == [("r1",), ("r3",)]


def test_4_a_jsonl_line_over_64_mib_is_quarantined_not_lost(tmp_path):
    big = "c" * (text_reader.MAX_LINE_BYTES + 10)
    lines = [
        json.dumps({k: v for k, v in req(r, client_id=c).items() if v})
        for r, c in (("r1", "c1"), ("r2", big), ("r3", "c3"))
    ]
    root = stage(drop(tmp_path, {"requests/a.jsonl": "\n".join(lines) + "\n"}), "requests")
    assert audit(root) == [("requests/a.jsonl", 3, 2, 1, 0, None)]
    ((f, row, reason, raw),) = quarantine(root)
    assert (row, reason.split(":")[0]) == (2, "too_long")
    assert raw.endswith(f"[... truncated: {len(lines[1]):,} bytes]") and raw.startswith(lines[1][:100])


def test_4_lines_longer_than_duckdbs_read_buffer_load(tmp_path):
    # 40 MiB is past DuckDB's default read buffer (a line that long used to vanish), under the limit
    big = "c" * (40 * 2**20)
    text = HEADER + "\n" + csv_line(req("r1", client_id=big)) + "\n" + csv_line(req("r2")) + "\n"
    jl = json.dumps({k: v for k, v in req("r3", client_id=big).items() if v}) + "\n"
    root = stage(drop(tmp_path, {"requests/a.csv": text, "requests/b.jsonl": jl}), "requests")
    assert audit(root) == [("requests/a.csv", 2, 2, 0, 0, None), ("requests/b.jsonl", 1, 1, 0, 0, None)]
    assert staged(root, "request_id, length(client_id)") == [("r1", len(big)), ("r2", 2), ("r3", len(big))]


def test_4_with_a_small_limit_every_long_line_is_counted(tmp_path, monkeypatch):
    monkeypatch.setattr(text_reader, "MAX_LINE_BYTES", 1000)
    long_value = "x" * 2000
    lines = [
        csv_line(req("r1")),
        csv_line(req("r2", client_id=long_value)),
        "",
        csv_line(req("r3")),
        csv_line(req("r4", application='"a' + "\n" + "y" * 1500 + '"')),
        csv_line(req("r5", status="BAD")),
    ]
    root = stage(drop(tmp_path, {"requests/a.csv": HEADER + "\n" + "\n".join(lines) + "\n"}), "requests")
    # rows: r1 1, r2 2 (line over 1000 bytes), blank line (no row), r3 3, r4 4 (its second
    # line is over 1000 bytes), r5 5 (status not allowed)
    assert audit(root) == [("requests/a.csv", 5, 2, 3, 0, None)]
    got = [(row, reason.split(":")[0]) for _, row, reason, _ in quarantine(root)]
    assert got == [(2, "too_long"), (4, "too_long"), (5, "not_allowed")]


# ---------------------------------------------------------------- 5. symbolic links


def test_5_symlinks_are_never_followed_and_each_gets_an_audit_row(tmp_path):
    raw = drop(tmp_path, {"requests/a.csv": HEADER + "\n" + csv_line(req("r1")) + "\n"})
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "b.csv").write_text(HEADER + "\n" + csv_line(req("r2")) + "\n")
    req_dir = raw / "requests"
    os.symlink("/etc/passwd", req_dir / "passwd.csv")
    os.symlink(tmp_path / "nowhere.csv", req_dir / "dangling.csv")
    os.symlink("loop.csv", req_dir / "loop.csv")
    os.symlink(elsewhere, req_dir / "date=2025-10-02")
    os.symlink(elsewhere / "b.csv", req_dir / "_ignored.csv")
    root = stage(raw, "requests")
    err = discovery.SYMLINK_ERROR
    assert audit(root) == [
        ("requests/a.csv", 1, 1, 0, 0, None),
        ("requests/dangling.csv", 0, 0, 0, 0, err),
        ("requests/date=2025-10-02", 0, 0, 0, 0, err),
        ("requests/loop.csv", 0, 0, 0, 0, err),
        ("requests/passwd.csv", 0, 0, 0, 0, err),
    ]
    assert quarantine(root) == []
    assert err == "symbolic link: not followed"
    assert (
        sql(
            "select file_format from read_parquet($p) where file_error is not null",
            p=str(root / "ingest" / "requests" / "audit.parquet"),
        )
        == [("symlink",)] * 4
    )


def test_5_a_symlinked_dataset_folder_is_not_followed(tmp_path):
    raw = drop(tmp_path, {"elsewhere/requests/a.csv": HEADER + "\n" + csv_line(req("r1")) + "\n"})
    os.symlink(raw / "elsewhere" / "requests", raw / "requests")
    root = stage(raw, "requests")
    assert audit(root) == [("requests", 0, 0, 0, 0, "symbolic link: not followed")]
    assert ingest.discover(raw, "requests") == []


def test_5_a_fifo_is_not_read(tmp_path):
    raw = drop(tmp_path, {"requests/a.csv": HEADER + "\n" + csv_line(req("r1")) + "\n"})
    os.mkfifo(raw / "requests" / "pipe.csv")
    root = stage(raw, "requests")
    rows = audit(root)
    assert rows[0] == ("requests/a.csv", 1, 1, 0, 0, None)
    assert rows[1][:5] == ("requests/pipe.csv", 0, 0, 0, 0) and rows[1][5].startswith("not a regular file")


# ---------------------------------------------------------------- 6. edge values


EDGE_ROWS = [
    # (row, loads?) worked by hand against the contract's rules
    (req("e1", client_id="a\x00b"), True),  # NUL inside a value
    (req("e2", application="\u202eabc\u200f", client_id="\u05e9\u05dc\u05d5\u05dd"), True),  # RTL marks
    (req("e3", client_id="x" * (3 * 2**20)), True),  # a 3 MB value
    (req("e4", ttft_ms="1e308", latency_ms="1.7976931348623157e308"), True),
    (req("e5", ttft_ms="-0.0", latency_ms="-0.0"), True),  # -0.0 is not below 0
    (req("e6", sample_rate="1e-100"), True),  # the smallest sample rate whose weight sums can hold
    (req("e7", input_tokens="9223372036854775807", output_tokens="0"), True),  # 2^63 - 1
    (req("e8", input_tokens="9223372036854775808"), False),  # 2^63: not a BIGINT
    (req("e9", latency_ms="1e400"), False),  # overflows to infinity: not a number
    (req("e10", ts="infinity"), False),
    (req("e11", ts="0000-06-01T00:00:00Z"), False),  # 1 BC
    (req("e12", input_tokens="-9223372036854775808"), False),  # a BIGINT, but negative
    (req("e13", sample_rate="5e-324"), False),  # in (0, 1], but its weight 1 / 5e-324 is infinite
]


def _edge_expectations(root: Path, source: str):
    loads = [r["request_id"] for r, ok in EDGE_ROWS if ok]
    assert audit(root) == [(source, 13, 7, 6, 0, None)]
    got = dict(
        staged(
            root,
            "request_id, [client_id, application, cast(ttft_ms as varchar), cast(latency_ms as varchar), "
            "cast(sample_rate as varchar), cast(input_tokens as varchar)]",
        )
    )
    assert sorted(got) == sorted(loads)
    assert got["e1"][0] == "a\x00b"
    assert got["e2"][:2] == ["\u05e9\u05dc\u05d5\u05dd", "\u202eabc\u200f"]
    assert len(got["e3"][0]) == 3 * 2**20
    assert got["e4"][2:4] == ["1e+308", "1.7976931348623157e+308"]
    assert got["e5"][2:4] == ["-0.0", "-0.0"]
    assert got["e6"][4] == "1e-100"
    assert got["e7"][5] == "9223372036854775807"
    reasons = {row: reason.split(":")[0] for _, row, reason, _ in quarantine(root)}
    assert reasons == {
        8: "bad_type",
        9: "bad_type",
        10: "bad_type",
        11: "bad_type",
        12: "out_of_range",
        13: "out_of_range",
    }


def test_6_edge_values_in_csv(tmp_path):
    text = HEADER + "\n" + "\n".join(csv_line(r) for r, _ in EDGE_ROWS) + "\n"
    root = stage(drop(tmp_path, {"requests/a.csv": text}), "requests")
    _edge_expectations(root, "requests/a.csv")


def test_6_edge_values_in_jsonl(tmp_path):
    text = "\n".join(json.dumps({k: v for k, v in r.items() if v}) for r, _ in EDGE_ROWS) + "\n"
    root = stage(drop(tmp_path, {"requests/a.jsonl": text}), "requests")
    _edge_expectations(root, "requests/a.jsonl")


def test_6_edge_values_in_typed_parquet(tmp_path):
    raw = drop(tmp_path, {})
    rows = [r for r, _ in EDGE_ROWS]
    t = requests_table(rows)
    # typed columns where Parquet has a type for the value; the rest stays text
    t = t.set_column(REQ_COLS.index("ttft_ms"), "ttft_ms", pa.array([float(r["ttft_ms"]) for r in rows], pa.float64()))
    inputs = [int(r["input_tokens"]) for r in rows]
    t = t.set_column(
        REQ_COLS.index("input_tokens"),
        "input_tokens",
        pa.array([min(v, 2**63 - 1) if v >= 0 else v for v in inputs], pa.int64()),
    )
    t = t.append_column("huge", pa.array([2**64 - 1] * len(rows), pa.uint64()))
    (raw / "requests").mkdir()
    pq.write_table(t, raw / "requests" / "a.parquet")
    root = stage(raw, "requests")
    # e8 is 2^63 as text; as an int64 column it is clamped to 2^63 - 1 here, so it loads:
    # 8 load, and the five other bad rows are quarantined
    assert audit(root) == [("requests/a.parquet", 13, 8, 5, 0, None)]
    got = dict(staged(root, "request_id, [cast(input_tokens as varchar), cast(ttft_ms as varchar), huge]"))
    assert got["e7"] == ["9223372036854775807", "100.0", "18446744073709551615"]
    assert got["e4"][1] == "1e+308" and got["e5"][1] == "-0.0"
    reasons = {row: reason.split(":")[0] for _, row, reason, _ in quarantine(root)}
    assert reasons == {9: "bad_type", 10: "bad_type", 11: "bad_type", 12: "out_of_range", 13: "out_of_range"}


def test_6_a_parquet_timestamp_duckdb_cannot_convert_costs_its_row_only(tmp_path):
    raw = drop(tmp_path, {})
    t = requests_table([req("t1"), req("t2"), req("t3")])
    ts = pa.array([1_759_280_400_000, 9_000_000_000_000_000_000, 1_759_284_000_000], pa.timestamp("ms", tz="UTC"))
    t = t.set_column(REQ_COLS.index("ts"), "ts", ts)
    (raw / "requests").mkdir()
    pq.write_table(t, raw / "requests" / "a.parquet")
    root = stage(raw, "requests")
    assert audit(root) == [("requests/a.parquet", 3, 2, 1, 0, None)]
    ((_, row, reason, _),) = quarantine(root)
    assert row == 2 and reason.startswith("bad_type: ts is not a valid timestamp")
    assert staged(root, "request_id, cast(ts as varchar)") == [
        ("t1", "2025-10-01 01:00:00"),
        ("t3", "2025-10-01 02:00:00"),
    ]


@pytest.mark.parametrize("ending", ["\r\n", "\r", "mixed"])
def test_line_ends_of_every_kind_end_a_line(tmp_path, ending):
    rows = [csv_line(req(f"r{i}")) for i in range(1, 5)]
    if ending == "mixed":
        text = HEADER + "\r\n" + rows[0] + "\n" + rows[1] + "\r" + rows[2] + "\r\n" + rows[3] + "\n"
    else:
        text = ending.join([HEADER, *rows]) + ending
    jl = [json.dumps({k: v for k, v in req(f"j{i}").items() if v}) for i in range(1, 4)]
    jtext = jl[0] + "\r\n" + jl[1] + "\r" + jl[2] + "\n"
    root = stage(drop(tmp_path, {"requests/a.csv": text.encode(), "requests/b.jsonl": jtext.encode()}), "requests")
    assert audit(root) == [("requests/a.csv", 4, 4, 0, 0, None), ("requests/b.jsonl", 3, 3, 0, 0, None)]


# ------------------------------------------------------------- found by the fuzz suite


def test_a_parquet_footer_string_that_is_not_utf8_does_not_break_the_accounting_check(tmp_path):
    from pipeline.lib.checks import accounting_problems

    raw = drop(tmp_path, {})
    (raw / "requests").mkdir()
    path = raw / "requests" / "a.parquet"
    pq.write_table(requests_table([req("r1"), req("r2")]), path)
    data = path.read_bytes()
    i = data.rindex(b"parquet-cpp-arrow")  # the footer's created_by: same length, one byte spoiled
    path.write_bytes(data[:i] + b"\xdf" + data[i + 1 :])
    root = stage(raw, "requests")
    assert audit(root) == [("requests/a.parquet", 2, 2, 0, 0, None)]
    assert accounting_problems(root, DATASETS["requests"], raw) == []


def test_parquet_files_with_the_same_columns_in_another_order_keep_their_values(tmp_path):
    # columns are read by position: two files with one column set in two orders are two scans
    raw = drop(tmp_path, {})
    (raw / "requests").mkdir()
    t = requests_table([req("r1", client_id="first", application="app1")])
    pq.write_table(t, raw / "requests" / "a.parquet")
    u = requests_table([req("r2", client_id="second", application="app2")])
    pq.write_table(u.select(list(reversed(u.column_names))), raw / "requests" / "b.parquet")
    root = stage(raw, "requests")
    assert audit(root) == [("requests/a.parquet", 1, 1, 0, 0, None), ("requests/b.parquet", 1, 1, 0, 0, None)]
    assert staged(root, "request_id, client_id, application") == [("r1", "first", "app1"), ("r2", "second", "app2")]


def test_integer_text_past_2_53_is_read_exactly(tmp_path):
    rows = [
        req("i1", input_tokens="9002361135685409.0"),
        req("i2", input_tokens="9007199254740993"),
        req("i3", input_tokens="9007199254740993.5"),
        req("i4", input_tokens="1e18"),
    ]
    root = stage(
        drop(tmp_path, {"requests/a.csv": HEADER + "\n" + "\n".join(csv_line(r) for r in rows) + "\n"}), "requests"
    )
    # i1 and i2 are whole numbers written out in full; i3 is not whole; 1e18 past 2^53 is not exact
    assert audit(root) == [("requests/a.csv", 4, 2, 2, 0, None)]
    assert staged(root, "request_id, input_tokens") == [("i1", 9002361135685409), ("i2", 9007199254740993)]
    assert [(row, reason.split(":")[0]) for _, row, reason, _ in quarantine(root)] == [(3, "bad_type"), (4, "bad_type")]


def test_a_csv_record_with_two_over_long_lines_is_one_quarantined_row(tmp_path, monkeypatch):
    monkeypatch.setattr(text_reader, "MAX_LINE_BYTES", 1000)
    value = '"' + "a" * 1500 + "\n" + "b" * 10 + "\n" + "c" * 1500 + '"'
    lines = [csv_line(req("r1")), csv_line(req("r2", application=value)), csv_line(req("r3"))]
    root = stage(drop(tmp_path, {"requests/a.csv": HEADER + "\n" + "\n".join(lines) + "\n"}), "requests")
    # three records: r2's quoted value spans three lines, two of them over the limit
    assert audit(root) == [("requests/a.csv", 3, 2, 1, 0, None)]
    ((_, row, reason, raw),) = quarantine(root)
    assert row == 2 and reason.startswith("too_long: the line is ")
    assert staged(root, "request_id") == [("r1",), ("r3",)]


# ------------------------------------------------------- JSON-lines files read in one statement


def _jsonl_drop(tmp_path: Path) -> Path:
    line = lambda rid, **over: json.dumps({k: v for k, v in req(rid, **over).items() if v != ""})  # noqa: E731
    return drop(
        tmp_path,
        {
            # a: r1, then a line that is not JSON; b: r2, r3 with a negative count, r1 again (same values);
            # c: another key set (an extra key), so a source of its own
            "requests/a.jsonl": line("r1") + "\n{not json\n",
            "requests/b.jsonl": line("r2") + "\n" + line("r3", input_tokens="-1") + "\n" + line("r1") + "\n",
            "requests/c.jsonl": json.dumps({**{k: v for k, v in req("r4").items() if v != ""}, "note": "x"}) + "\n",
        },
    )


EXPECTED_JSONL_AUDIT = [
    ("requests/a.jsonl", 2, 1, 1, 0, None),
    ("requests/b.jsonl", 3, 1, 1, 1, None),
    ("requests/c.jsonl", 1, 1, 0, 0, None),
]


def test_jsonl_files_with_one_key_set_are_read_in_one_statement(tmp_path, monkeypatch):
    statements: list[str] = []
    make_sink = ingest.read._insert_into_v

    def recording(con):
        sink = make_sink(con)
        return lambda sql: (statements.append(sql), sink(sql))[1]

    monkeypatch.setattr(ingest.read, "_insert_into_v", recording)
    root = stage(_jsonl_drop(tmp_path), "requests")
    reads = [s for s in statements if "requests/" in s]
    # a and b share their keys: one statement; c has its own
    assert sorted(("requests/a.jsonl" in s, "requests/b.jsonl" in s, "requests/c.jsonl" in s) for s in reads) == [
        (False, False, True),
        (True, True, False),
    ]
    assert audit(root) == EXPECTED_JSONL_AUDIT
    assert [(f, r, reason.split(":")[0]) for f, r, reason, _ in quarantine(root)] == [
        ("requests/a.jsonl", 2, "malformed_json"),
        ("requests/b.jsonl", 2, "out_of_range"),
    ]
    assert staged(root, "request_id, note") == [("r1", None), ("r2", None), ("r4", "x")]


def test_a_jsonl_group_that_fails_is_read_file_by_file(tmp_path, monkeypatch):
    make_sink = ingest.read._insert_into_v

    def failing_groups(con):
        sink = make_sink(con)

        def run(sql: str) -> None:
            # the group's statement fails; the retries (each file's own statement) do not
            if "requests/a.jsonl" in sql and "requests/b.jsonl" in sql:
                raise duckdb.ConversionException("a value the group's statement could not convert")
            sink(sql)

        return run

    monkeypatch.setattr(ingest.read, "_insert_into_v", failing_groups)
    root = stage(_jsonl_drop(tmp_path), "requests")
    # the same rows, row numbers and accounting as read in one statement: nothing lost or counted twice
    assert audit(root) == EXPECTED_JSONL_AUDIT
    assert [(f, r) for f, r, _, _ in quarantine(root)] == [("requests/a.jsonl", 2), ("requests/b.jsonl", 2)]
    assert staged(root, "request_id, note") == [("r1", None), ("r2", None), ("r4", "x")]


@pytest.mark.parametrize("cap", ["JSONL_GROUP_FILES", "JSONL_GROUP_CELLS"])
def test_jsonl_groups_are_capped_in_files_and_in_width(tmp_path, monkeypatch, cap):
    # a cap of 1 file, or of fewer cells than a file has columns: every file is read on its own
    monkeypatch.setattr(ingest.read, cap, 1)
    statements: list[str] = []
    make_sink = ingest.read._insert_into_v
    monkeypatch.setattr(
        ingest.read, "_insert_into_v", lambda con: lambda sql: (statements.append(sql), make_sink(con)(sql))[1]
    )
    root = stage(_jsonl_drop(tmp_path), "requests")
    assert sorted(sum(f"requests/{n}.jsonl" in s for n in "abc") for s in statements if "requests/" in s) == [1, 1, 1]
    assert audit(root) == EXPECTED_JSONL_AUDIT
    assert staged(root, "request_id, note") == [("r1", None), ("r2", None), ("r4", "x")]
