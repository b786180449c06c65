"""The ingestion engine on the hand-made drop of tests/fixtures.py."""

from __future__ import annotations

import hashlib
from pathlib import Path

import duckdb
import pytest

from pipeline.lib.contract import DATASETS
from pipeline.lib.ingest import stage_dataset
from tests.fixtures import EXPECTED, EXPECTED_REASONS


def stage_all(raw: Path, root: Path) -> dict:
    return {name: stage_dataset(spec, raw, root) for name, spec in DATASETS.items()}


def rows(sql: str, params=None):
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    try:
        return con.execute(sql, params or {}).fetchall()
    finally:
        con.close()


@pytest.fixture
def staged(tiny_drop, tmp_path):
    root = tmp_path / "wh"
    stage_all(tiny_drop, root)
    return root


class TestRowAccounting:
    def test_audit_matches_hand_count(self, staged):
        got = {
            (d, f): (r, ld, q, du)
            for d, f, r, ld, q, du in rows(
                "select dataset, source_file, rows_read, rows_loaded, rows_quarantined, rows_duplicate "
                "from read_parquet($p, union_by_name = true)",
                {"p": str(staged / "ingest" / "*" / "audit.parquet")},
            )
        }
        assert got == EXPECTED

    def test_every_read_row_is_loaded_quarantined_or_duplicate(self, staged):
        bad = rows(
            "select * from read_parquet($p) where rows_read <> rows_loaded + rows_quarantined + rows_duplicate",
            {"p": str(staged / "ingest" / "*" / "audit.parquet")},
        )
        assert bad == []

    def test_unreadable_and_unsupported_files_are_recorded_not_fatal(self, staged):
        errors = dict(
            rows(
                "select source_file, file_error from read_parquet($p) where file_error is not null",
                {"p": str(staged / "ingest" / "latency_probes" / "audit.parquet")},
            )
        )
        assert set(errors) == {"latency_probes/broken.parquet", "latency_probes/notes.txt"}
        assert "unsupported file type .txt" in errors["latency_probes/notes.txt"]


class TestQuarantine:
    def test_every_bad_row_has_its_reason(self, staged):
        got = rows(
            "select dataset, source_file, row_number, reason from read_parquet($p) order by all",
            {"p": str(staged / "ingest" / "*" / "quarantine.parquet")},
        )
        assert [(d, f, n) for d, f, n, _ in got] == [(d, f, n) for d, f, n, _ in EXPECTED_REASONS]
        by_pos = {(d, f, n): r for d, f, n, r in got}
        for d, f, n, code in EXPECTED_REASONS:
            assert code in by_pos[(d, f, n)], (d, f, n, by_pos[(d, f, n)])

    def test_a_row_breaking_two_rules_gets_both_reasons(self, staged):
        (reason,) = rows(
            "select reason from read_parquet($p) where row_number = 13",
            {"p": str(staged / "ingest" / "requests" / "quarantine.parquet")},
        )[0]
        assert "unknown_provider: provider" in reason and "sample_rate must be <= 1" in reason

    def test_raw_text_is_kept(self, staged):
        raw = dict(
            rows(
                "select row_number, raw from read_parquet($p)",
                {"p": str(staged / "ingest" / "requests" / "quarantine.parquet")},
            )
        )
        assert '"ts":"garbage"' in raw[4]
        assert raw[8] == "r8,2025-10-01T03:00:00Z,chat,c1,m1,p1,5,10,"  # the malformed CSV line itself

    def test_conflict_names_the_loaded_row(self, staged):
        (reason,) = rows(
            "select reason from read_parquet($p) where row_number = 11",
            {"p": str(staged / "ingest" / "requests" / "quarantine.parquet")},
        )[0]
        assert reason.startswith("conflict:") and "requests/date=2025-10-01/a.csv row 2" in reason


class TestStagedValues:
    def test_timestamps_become_utc_and_partition_by_utc_date(self, staged):
        got = dict(
            rows(
                "select request_id, strftime(ts, '%Y-%m-%d %H:%M') || ' ' || cast(date as varchar) "
                "from read_parquet($p, hive_partitioning = true)",
                {"p": str(staged / "staging" / "requests" / "**" / "*.parquet")},
            )
        )
        # 02:00+08:00 on Oct 1 is 18:00 UTC on Sep 30, so it belongs to the Sep 30 partition
        assert got["r2"] == "2025-09-30 18:00 2025-09-30"
        assert got["r1"] == "2025-10-01 01:00 2025-10-01"

    def test_missing_application_becomes_unknown(self, staged):
        got = dict(
            rows(
                "select request_id, application from read_parquet($p, hive_partitioning = true)",
                {"p": str(staged / "staging" / "requests" / "**" / "*.parquet")},
            )
        )
        assert got == {"r1": "chat", "r2": "unknown", "r11": "rag", "r12": "agent"}

    def test_prices_convert_to_usd_with_the_rate_in_force(self, staged):
        got = {
            (p, str(d)): (i, o, c)
            for p, d, i, o, c in rows(
                "select provider, cast(snapshot_ts as date), input_usd_per_mtok, output_usd_per_mtok, cached_input_usd_per_mtok "
                "from read_parquet($p, hive_partitioning = true)",
                {"p": str(staged / "staging" / "prices" / "**" / "*.parquet")},
            )
        }
        # 2.0 CNY x 0.14 USD/CNY (rate of 2025-09-30, the latest on or before 2025-10-01)
        assert got[("p2", "2025-10-01")] == pytest.approx((0.28, 1.12, 0.07))
        # 3.0 CNY on 2025-10-03 takes the 2025-10-02 rate 0.15
        assert got[("p2", "2025-10-03")][:2] == pytest.approx((0.45, 1.35))
        assert got[("p1", "2025-10-01")][:2] == (1.0, 2.0)

    def test_extra_columns_are_kept(self, staged):
        got = rows(
            "select provider, region from read_parquet($p)",
            {"p": str(staged / "staging" / "endpoints" / "data.parquet")},
        )
        assert sorted(got) == [("p1", "us"), ("p2", "eu")]

    def test_quantization_case_is_normalised(self, staged):
        got = rows(
            "select quantization from read_parquet($p) where provider = 'p2'",
            {"p": str(staged / "staging" / "endpoints" / "data.parquet")},
        )
        assert got == [("fp8",)]


class TestIdempotence:
    def _digest(self, root: Path) -> str:
        h = hashlib.sha256()
        for name in DATASETS:
            for table, order in (("staging", "all"), ("ingest", "all")):
                glob = str(root / table / name / "**" / "*.parquet")
                try:
                    data = rows(f"select * from read_parquet($g, union_by_name = true) order by {order}", {"g": glob})
                except duckdb.IOException:
                    data = []
                h.update(repr(data).encode())
        return h.hexdigest()

    def test_rerun_on_the_same_drop_changes_nothing(self, tiny_drop, tmp_path):
        root = tmp_path / "wh"
        first = stage_all(tiny_drop, root)
        d1 = self._digest(root)
        second = stage_all(tiny_drop, root)
        assert self._digest(root) == d1
        assert {k: v.rows_loaded for k, v in first.items()} == {k: v.rows_loaded for k, v in second.items()}
        assert not list((root / ".tmp").glob("*")), "temporary build folders left behind"


class TestCoercion:
    """The type rules on single values, against an in-memory DuckDB."""

    @pytest.mark.parametrize(
        ("text", "expected"),
        [("12", 12), ("1e3", 1000), (" 7 ", 7), ("1.0", 1), ("1.5", None), ("abc", None), ("-3", -3)],
    )
    def test_integer_from_text(self, text, expected):
        from pipeline.lib.contract import INT, Column
        from pipeline.lib.ingest import coerce

        (got,) = rows(f"select {coerce('x', 'VARCHAR', Column('c', INT))} from (select $x as x)", {"x": text})[0]
        assert got == expected

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("2025-10-01T00:00:00Z", "2025-10-01 00:00:00"),
            ("2025-10-01T08:30:00+08:00", "2025-10-01 00:30:00"),
            ("2025-10-01 12:00:00", "2025-10-01 12:00:00"),  # naive means UTC
            ("2025-13-01T00:00:00Z", None),
        ],
    )
    def test_timestamp_from_text(self, text, expected):
        from pipeline.lib.contract import TS, Column
        from pipeline.lib.duck import connect
        from pipeline.lib.ingest import coerce

        con = connect()
        (got,) = con.execute(
            f"select cast({coerce('x', 'VARCHAR', Column('c', TS))} as varchar) from (select $x as x)", {"x": text}
        ).fetchone()
        assert got == expected

    def test_nan_is_not_a_number(self):
        from pipeline.lib.contract import FLOAT, Column
        from pipeline.lib.ingest import coerce

        (got,) = rows(f"select {coerce('x', 'DOUBLE', Column('c', FLOAT))} from (select 'nan'::double as x)")[0]
        assert got is None
