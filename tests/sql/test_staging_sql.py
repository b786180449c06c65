"""Each staging SQL file on a tiny in-memory `ok` relation, numbers worked out by hand."""

from __future__ import annotations

import pytest

from pipeline.lib.duck import connect
from pipeline.sql import load_sql


def test_latency_probe_throughputs_follow_the_contract():
    con = connect()
    con.execute(
        "create temp view ok as select * from (values "
        "(timestamp '2025-10-01 00:10:00', 'ok', 256, 200.0, 2760.0), "
        "(timestamp '2025-10-01 00:20:00', 'error', 256, null, null)) v(ts, status, output_tokens, ttft_ms, latency_ms)"
    )
    got = con.execute(
        f"select decode_tps, e2e_tps, date from ({load_sql('staging/stg_latency_probes')}) order by ts"
    ).fetchall()
    # decode: 256 tokens / ((2760 - 200) / 1000 s) = 100 tok/s; end to end: 256 / 2.76 s
    assert got[0][0] == pytest.approx(100.0)
    assert got[0][1] == pytest.approx(256 / 2.76)
    assert str(got[0][2]) == "2025-10-01"
    assert got[1][:2] == (None, None)


def test_prices_take_the_latest_rate_on_or_before_the_snapshot():
    con = connect()
    con.execute(
        "create temp table known_fx as select * from (values "
        "(date '2025-10-01', 'CNY', 0.14::double), (date '2025-10-05', 'CNY', 0.16::double), "
        "(date '2025-10-01', 'EUR', 1.10::double)) v(date, currency, usd_per_unit)"
    )
    con.execute(
        "create temp view ok as select * from (values "
        "(timestamp '2025-10-04 00:00:00', 'a', 'm', 10.0::double, 20.0::double, null::double, 'CNY'), "
        "(timestamp '2025-10-05 00:00:00', 'a', 'm', 10.0, 20.0, 5.0, 'CNY'), "
        "(timestamp '2025-10-05 00:00:00', 'b', 'm', 1.0, 2.0, null, 'USD'), "
        "(timestamp '2025-10-09 00:00:00', 'c', 'm', 1.0, 2.0, null, 'EUR')"
        ") v(snapshot_ts, provider, model, input_per_mtok, output_per_mtok, cached_input_per_mtok, currency)"
    )
    got = con.execute(
        f"select provider, day(snapshot_ts), usd_per_unit, input_usd_per_mtok, output_usd_per_mtok, cached_input_usd_per_mtok "
        f"from ({load_sql('staging/stg_prices')}) order by 1, 2"
    ).fetchall()
    assert got[0] == pytest.approx(("a", 4, 0.14, 1.4, 2.8, None))  # Oct 4: the Oct 1 rate
    assert got[1] == pytest.approx(("a", 5, 0.16, 1.6, 3.2, 0.8))  # exactly on the Oct 5 boundary: the new rate
    assert got[2] == pytest.approx(("b", 5, 1.0, 1.0, 2.0, None))  # USD needs no rate
    assert got[3] == pytest.approx(("c", 9, 1.10, 1.1, 2.2, None))


def test_requests_default_application_and_partition_date():
    con = connect()
    con.execute(
        "create temp view ok as select * from (values ('r1', timestamp '2025-12-31 23:59:59', null), "
        "('r2', timestamp '2026-01-01 00:00:00', 'chat')) v(request_id, ts, application)"
    )
    got = con.execute(
        f"select request_id, application, cast(date as varchar) from ({load_sql('staging/stg_requests')}) order by 1"
    ).fetchall()
    assert got == [("r1", "unknown", "2025-12-31"), ("r2", "chat", "2026-01-01")]


def test_ingest_audit_sql_orders_and_unions(tmp_path):
    con = connect()
    a, b = tmp_path / "a.parquet", tmp_path / "b.parquet"
    con.execute(
        "copy (select 'requests' as dataset, 'x.csv' as source_file, 'csv' as file_format, 3 as rows_read, 1 as rows_loaded, "
        "1 as rows_quarantined, 1 as rows_duplicate, null::varchar as file_error) to $p (format parquet)",
        {"p": str(a)},
    )
    con.execute(
        "copy (select 'models' as dataset, 'm.csv' as source_file, 'csv' as file_format, 2 as rows_read, 2 as rows_loaded, "
        "0 as rows_quarantined, 0 as rows_duplicate, null::varchar as file_error) to $p (format parquet)",
        {"p": str(b)},
    )
    got = con.execute(load_sql("marts/ingest_audit"), {"files": [str(a), str(b)]}).fetchall()
    assert [r[0] for r in got] == ["models", "requests"]
    assert all(r[3] == r[4] + r[5] + r[6] for r in got)
