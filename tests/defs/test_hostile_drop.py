"""Issue 12's done-when: one drop holding every hostile case at once (a generated quarter plus
the files below) runs with exit 0, exact accounting and every valid row loaded. The counts per
file are worked out by hand from what is written here."""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from pipeline.cli import main
from tests.lib.test_hostile_values import (
    _request,
    hostile_probe_rows,
    hostile_request_rows,
    hostile_token_rows,
    write_hostile_files,
)

pytestmark = pytest.mark.slow

COLUMNS = list(_request("x", "a", {}).keys())
SYMLINK = "symbolic link: not followed"


def csv_text(header: list[str], rows: list[list]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue()


def values(rid: str, **extra) -> list:
    return [
        "" if v is None else str(v).lower() if isinstance(v, bool) else v for v in _request(rid, "chat", extra).values()
    ]


def write_hostile_drop(raw: Path) -> dict[str, tuple[int, int, int, int, str | None]]:
    """Adds the files; returns source_file -> (read, loaded, quarantined, duplicate, file_error)."""
    expected = {}
    write_hostile_files(raw)  # values at the float and string edges: all valid
    expected["requests/zz_hostile.jsonl"] = (len(hostile_request_rows()), len(hostile_request_rows()), 0, 0, None)
    expected["requests/zz_hostile_tokens.parquet"] = (len(hostile_token_rows()), len(hostile_token_rows()), 0, 0, None)
    expected["prices/zz_extreme.csv"] = (3, 3, 0, 0, None)
    expected["latency_probes/zz_extreme.parquet"] = (len(hostile_probe_rows()), len(hostile_probe_rows()), 0, 0, None)

    # DuckDB's reader columns and the engine's helper name as user columns: kept as *_extra
    t = pa.Table.from_pylist(
        [{**_request("zz_frn", "chat", {}), "file_row_number": 7, "filename": "mine", "__sl_filename": "x"}]
    )
    pq.write_table(t, raw / "requests" / "zz_reader_columns.parquet")
    expected["requests/zz_reader_columns.parquet"] = (1, 1, 0, 0, None)

    # one byte that is not UTF-8 costs its row, not the file
    good = csv_text(COLUMNS, [values("zz_u1"), values("zz_u2")]).encode()
    bad_line = ",".join(map(str, values("zz_u3"))).replace("chat", "ch\xffat").encode("latin-1") + b"\n"
    (raw / "requests" / "zz_latin1.csv").write_bytes(good + bad_line)
    expected["requests/zz_latin1.csv"] = (3, 2, 1, 0, None)
    lines = [json.dumps(_request(r, "chat", {})).encode() for r in ("zz_j1", "zz_j2")]
    lines.insert(
        1,
        json.dumps(_request("zz_j3", "chat", {})).replace("chat", "ch\\u00e9at").encode().replace(b"\\u00e9", b"\xe9"),
    )
    (raw / "requests" / "zz_latin1.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    expected["requests/zz_latin1.jsonl"] = (3, 2, 1, 0, None)

    # `model` beside `Model`, and the engine's helper name as a CSV header
    (raw / "requests" / "zz_clash.csv").write_text(
        csv_text(COLUMNS + ["Model", "__sl_filename"], [values("zz_clash") + ["MiXeD", "f"]])
    )
    expected["requests/zz_clash.csv"] = (1, 1, 0, 0, None)

    # a record over 64 MB beside a good one: read 2, loaded 1, quarantined 1
    long_row = values("zz_long")
    long_row[COLUMNS.index("client_id")] = "c" * (64 * 2**20 + 10)
    (raw / "requests" / "zz_long.csv").write_text(csv_text(COLUMNS, [values("zz_short"), long_row]))
    expected["requests/zz_long.csv"] = (2, 1, 1, 0, None)

    # a weight that would overflow sums: quarantined; the same file's other row loads
    tiny = values("zz_tiny_rate")
    tiny[COLUMNS.index("sample_rate")] = "5e-309"
    (raw / "requests" / "zz_rates.csv").write_text(csv_text(COLUMNS, [tiny, values("zz_plain_rate")]))
    expected["requests/zz_rates.csv"] = (2, 1, 1, 0, None)

    # symlinks are never followed: one audit row each, nothing read
    os.symlink("/etc/passwd", raw / "requests" / "zz_passwd.csv")
    os.symlink(raw / "requests" / "nowhere.csv", raw / "requests" / "zz_dangling.csv")
    os.symlink(raw / "requests" / "zz_loop_b.csv", raw / "requests" / "zz_loop_a.csv")
    os.symlink(raw / "requests" / "zz_loop_a.csv", raw / "requests" / "zz_loop_b.csv")
    for name in ("zz_passwd.csv", "zz_dangling.csv", "zz_loop_a.csv", "zz_loop_b.csv"):
        expected[f"requests/{name}"] = (0, 0, 0, 0, SYMLINK)
    return expected


def test_a_hostile_drop_is_ingested_with_exact_accounting(tmp_path):
    raw, warehouse = tmp_path / "raw", tmp_path / "wh.duckdb"
    runner = CliRunner()
    res = runner.invoke(main, ["generate", "--out", str(raw), "--requests", "3000", "--seed", "2"])
    assert res.exit_code == 0, res.output
    manifest = json.loads((raw / "_manifest.json").read_text())
    expected = write_hostile_drop(raw)

    res = runner.invoke(main, ["run", "--raw", str(raw), "--warehouse", str(warehouse)])
    assert res.exit_code == 0, res.output[-3000:]
    con = duckdb.connect(str(warehouse), read_only=True)
    audit = {
        f: (r, lo, q, d, e)
        for f, r, lo, q, d, e in con.execute(
            "select source_file, rows_read, rows_loaded, rows_quarantined, rows_duplicate, file_error from marts.ingest_audit"
        ).fetchall()
    }
    for source_file, counts in expected.items():
        assert audit[source_file] == counts, source_file
    # the generated files account exactly as the generator's manifest says
    generated = {}
    for f, (r, lo, q, d, e) in audit.items():
        if f not in expected:
            ds = f.split("/")[0]
            got = generated.setdefault(ds, {"loaded": 0, "quarantined": 0, "duplicate": 0})
            got["loaded"] += lo
            got["quarantined"] += q
            got["duplicate"] += d
            assert e is None and r == lo + q + d
    assert generated == manifest["expected"]
    # every valid hostile request is staged with its value intact
    hostile_loaded = sum(v[1] for f, v in expected.items() if f.startswith("requests/"))
    assert (
        con.execute("select count(*) from staging.requests where request_id like 'zz_%'").fetchone()[0]
        == hostile_loaded
    )
    apps = dict(
        con.execute(
            "select request_id, application from staging.requests where request_id like 'zz_hostile%'"
        ).fetchall()
    )
    for rid, app, _ in [(r["request_id"], r["application"], None) for r in hostile_request_rows()]:
        assert apps[rid] == app
    extras = con.execute(
        "select file_row_number_extra, filename_extra, sl_filename_extra from staging.requests where request_id = 'zz_frn'"
    ).fetchone()
    assert extras == ("7", "mine", "x")
    assert con.execute("select \"Model_extra\" from staging.requests where request_id = 'zz_clash'").fetchone() == (
        "MiXeD",
    )
    reasons = dict(
        con.execute(
            "select source_file, split_part(reason, ':', 1) from marts.quarantine where source_file like '%zz_%'"
        ).fetchall()
    )
    assert reasons == {
        "requests/zz_latin1.csv": "bad_encoding",
        "requests/zz_latin1.jsonl": "bad_encoding",
        "requests/zz_long.csv": "too_long",
        "requests/zz_rates.csv": "out_of_range",
    }
    con.close()
    assert "unreadable: requests/zz_passwd.csv: symbolic link: not followed" in res.output
