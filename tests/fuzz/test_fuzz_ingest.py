"""Property-based fuzzing of the ingestion engine with hostile drops (see model.py, drop.py).

For every dataset, hypothesis draws drops of one to five files in Parquet, CSV and JSONL:
valid rows mixed with mutated ones, structural noise, duplicates and conflicts, and now and
then a garbage, truncated, corrupted, empty or header-only file. Each drop is staged and the
outcome checked against what was written: per file, rows_read is the number of records
written and loaded + quarantined + duplicate = read; every quarantined row is there with its
reason code; every valid, unique row is staged with its values; no file is unreadable unless
it was written so.
"""

from __future__ import annotations

import os
import random
import shutil
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline.lib.contract import DATASETS
from tests.fuzz.drop import plan_drop, run_and_check

pytestmark = pytest.mark.fuzz

SPECIALS = [None] * 12 + ["garbage", "truncated", "empty", "header_only", "corrupt"]


@st.composite
def drops(draw, ds: str):
    n = draw(st.integers(1, 5))
    formats = draw(st.lists(st.sampled_from(["parquet", "csv", "jsonl"]), min_size=n, max_size=n))
    specials = draw(st.lists(st.sampled_from(SPECIALS), min_size=n, max_size=n))
    specials = [
        s if (s != "corrupt" or f == "parquet") and (s != "header_only" or f == "csv") else None
        for s, f in zip(specials, formats, strict=False)
    ]
    # The content comes from a seeded Random: hypothesis' own random stream leans towards
    # its simplest values (a, 0, the first choice), which would make the drops tame.
    rnd = random.Random(draw(st.integers(0, 2**64 - 1), label="seed"))
    # now and then a small line limit, so that over-long lines are common (and cheap)
    limit = draw(st.sampled_from([None] * 6 + [2048, 8192]), label="limit")
    return plan_drop(ds, rnd, formats, specials), limit


@pytest.mark.parametrize("ds", list(DATASETS))
def test_hostile_drops_are_fully_accounted(ds, tmp_path_factory):
    work_root = tmp_path_factory.mktemp(f"fuzz-{ds}")

    @given(drops(ds))
    def check(drop):
        files, limit = drop
        work = work_root / f"ex-{check.n}"
        check.n += 1
        work.mkdir()
        try:
            run_and_check(ds, files, work, limit)
        except Exception:
            keep = os.environ.get("FUZZ_KEEP_FAILURES")
            if keep:  # the failing drop and the records expected from it, to replay by hand
                dst = Path(keep) / f"{ds}-{work.name}"
                shutil.copytree(work, dst, dirs_exist_ok=True)
                (dst / "expected.txt").write_text(
                    f"MAX_LINE_BYTES {limit}\n"
                    + "\n".join(
                        f"{f!r}\n"
                        + "\n".join(f"  {r.row_number} {r.kind} {sorted(r.codes)} {r.final}" for r in f.records)
                        for f in files
                    )
                )
            raise
        finally:
            shutil.rmtree(work, ignore_errors=True)

    check.n = 0
    check()
