"""vendor_verification (counts SQL + verification_metrics + rerun thresholds) and
context_limit_behaviour on hand-made staged probes, every number worked out by hand."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import polars as pl
import pytest

from pipeline.lib.verification import (
    build_context_limit_behaviour,
    build_vendor_verification,
)

OCT, NOV = "2025-10-15", "2025-11-12"
SCHEMA = {
    "ts": pl.Datetime("us"),
    "provider": pl.String,
    "model": pl.String,
    "suite": pl.String,
    "case_id": pl.String,
    "finish_reason": pl.String,
    "tool_calls": pl.Int64,
    "schema_valid": pl.Boolean,
    "status": pl.String,
    "error_type": pl.String,
}


def probe(
    provider: str,
    case: str,
    finish: str | None,
    *,
    valid: bool | None = None,
    calls: int | None = None,
    at: str = OCT + " 02:00",
    suite: str = "tool_calls",
    status: str | None = None,
    error_type: str | None = None,
) -> dict:
    return {
        "ts": dt.datetime.fromisoformat(at),
        "provider": provider,
        "model": "m",
        "suite": suite,
        "case_id": case,
        "finish_reason": finish,
        "tool_calls": (1 if finish == "tool_calls" else 0) if calls is None else calls,
        "schema_valid": valid,
        "status": status or ("error" if finish == "error" or error_type else "ok"),
        "error_type": error_type,
    }


def stage(root: Path, rows: list[dict]) -> Path:
    """The staging layout build_* reads: compat_probes and models (official of m: 'off')."""
    for name, df in (
        ("compat_probes", pl.DataFrame(rows, schema=SCHEMA)),
        ("models", pl.DataFrame({"model": ["m"], "official_provider": ["off"]})),
    ):
        (root / "staging" / name).mkdir(parents=True)
        df.write_parquet(root / "staging" / name / "data.parquet")
    return root


# The six-case suite on Oct 15. Official 'off' calls a tool on c1, c2, c3, c6 (all valid);
# provider 'p':
#   c1 tc valid            TP  successful
#   c2 tc invalid, 2 calls TP  schema error
#   c3 stop                FN
#   c4 tc invalid          FP  schema error   (official: stop)
#   c5 error               TN  'others', an error (official: stop)
#   c6 tc valid            TP  successful
OFFICIAL = [probe("off", c, "tool_calls", valid=True) for c in ("c1", "c2", "c3", "c6")] + [
    probe("off", c, "stop") for c in ("c4", "c5")
]
PROVIDER = [
    probe("p", "c1", "tool_calls", valid=True),
    probe("p", "c2", "tool_calls", valid=False, calls=2),
    probe("p", "c3", "stop"),
    probe("p", "c4", "tool_calls", valid=False),
    probe("p", "c5", "error", error_type="server_error"),
    probe("p", "c6", "tool_calls", valid=True),
]


def rows_of(df: pl.DataFrame, period: str = "2025Q4") -> dict[str, dict]:
    return {r["provider"]: r for r in df.filter(pl.col("period") == period).iter_rows(named=True)}


def test_f1_schema_accuracy_and_distance_by_hand(tmp_path):
    df = build_vendor_verification(stage(tmp_path, OFFICIAL + PROVIDER))
    p = rows_of(df)["p"]
    assert (p["cases"], p["errors"], p["rounds"]) == (6, 1, 1)
    # stop c3; tool_calls c1 c2 c4 c6; others c5; tool calls 1 + 2 + 1 + 1
    assert (p["finish_stop"], p["finish_tool_calls"], p["finish_others"], p["tool_calls"]) == (1, 4, 1, 5)
    assert (p["schema_errors"], p["successful_tool_calls"]) == (2, 2)
    assert (p["cases_compared"], p["tp"], p["fp"], p["fn"]) == (6, 3, 1, 1)
    assert p["tool_call_f1"] == pytest.approx(6 / 8)  # 2*3 / (2*3 + 1 + 1)
    assert p["schema_accuracy"] == pytest.approx(2 / 4)
    # provider (stop, tc, others, schema_err, ok) = (1, 4, 1, 2, 2), official (2, 4, 0, 0, 4):
    # squared differences 1 + 0 + 1 + 4 + 4 = 10, over 6 compared cases
    assert (p["off_stop"], p["off_tool_calls"], p["off_others"], p["off_schema_errors"], p["off_successful"]) == (
        2,
        4,
        0,
        0,
        4,
    )
    assert p["distance_from_official"] == pytest.approx(math.sqrt(10) / 6)
    assert p["similarity_to_official"] == pytest.approx(1 - math.sqrt(10) / 6)
    # the official is the reference, not compared with itself
    o = rows_of(df)["off"]
    assert o["is_official"] and not p["is_official"]
    assert (o["cases"], o["finish_tool_calls"], o["successful_tool_calls"], o["cases_compared"]) == (6, 4, 4, 0)
    assert o["schema_accuracy"] == 1.0
    assert o["tool_call_f1"] is None and o["distance_from_official"] is None
    # no official rerun: no threshold
    assert p["f1_threshold"] is None and p["below_threshold"] is None
    # ... and so no verdict can be reached: undecided, not guessed
    assert p["verdict"] == "undecided" and o["verdict"] is None
    # one date: the month row repeats the quarter row
    month = rows_of(df, "2025-10")["p"]
    assert month["period_type"] == "month" and month["tool_call_f1"] == p["tool_call_f1"] and month["cases"] == 6


def test_pairing_reruns_and_threshold(tmp_path):
    extra = [
        probe("p", "c7", "tool_calls", valid=True),  # the official never answered c7: counted, not compared
        probe("p", "c3", "tool_calls", valid=True, at=OCT + " 03:00"),  # p's rerun of c3: not an answer
        # official rerun 1, an hour later: tc on c1 c2 c3 c4 c6 vs its first answer (tc c1 c2 c3 c6)
        *[probe("off", c, "tool_calls", valid=True, at=OCT + " 03:00") for c in ("c1", "c2", "c3", "c4", "c6")],
        probe("off", "c5", "stop", at=OCT + " 03:00"),
        # official rerun 2: tc on c2 c3 c6 only
        *[probe("off", c, "tool_calls", valid=True, at=OCT + " 04:00") for c in ("c2", "c3", "c6")],
        *[probe("off", c, "stop", at=OCT + " 04:00") for c in ("c1", "c4", "c5")],
        # provider q agrees with the official's first answers on every case
        *[{**r, "provider": "q"} for r in OFFICIAL],
        # November: the official answers c1, p answers c2: different cases, nothing compared
        probe("off", "c1", "tool_calls", valid=True, at=NOV + " 02:00"),
        probe("p", "c2", "tool_calls", valid=True, at=NOV + " 02:00"),
    ]
    df = build_vendor_verification(stage(tmp_path, OFFICIAL + PROVIDER + extra))
    got = rows_of(df)
    p, q, o = got["p"], got["q"], got["off"]
    # p: 6 Oct cases + c7 + the Nov c2 = 8 answers in 2 rounds, 6 of them compared
    assert (p["cases"], p["rounds"], p["cases_compared"]) == (8, 2, 6)
    assert (p["tp"], p["fp"], p["fn"]) == (3, 1, 1)  # as without the extra rows: c3 stays a FN
    assert p["tool_call_f1"] == pytest.approx(0.75)
    # counts cover every answer: tool calls on c1 c2 c4 c6 c7 + Nov c2, valid on c1 c6 c7 + Nov c2
    assert (p["finish_tool_calls"], p["successful_tool_calls"]) == (6, 4)
    assert p["schema_accuracy"] == pytest.approx(4 / 6)
    # the official's reruns are not answers: 6 Oct + 1 Nov
    assert o["cases"] == 7
    # rerun 1: TP c1 c2 c3 c6, FP c4 -> 8/9; rerun 2: TP c2 c3 c6, FN c1 -> 6/7; lowest 6/7
    assert p["f1_threshold"] == pytest.approx(6 / 7) and q["f1_threshold"] == pytest.approx(6 / 7)
    assert q["tool_call_f1"] == 1.0 and q["distance_from_official"] == 0.0
    assert (p["below_threshold"], q["below_threshold"], o["below_threshold"]) == (True, False, None)
    # verdicts: q agrees on its 4 tool-call answers, no disagreement of 4: Wilson's [0, h] for the
    # disagreement share maps to F1 [2 (1 - h) / (2 - h), 1] = [0.676, 1], across the bar 6/7;
    # p (F1 0.75, 2 disagreements of 5) is across it too: four or five cases decide nothing,
    # although p's point F1 is below the bar. The official is the reference and gets none
    from scipy.stats import binomtest

    h = binomtest(0, 4).proportion_ci(confidence_level=0.95, method="wilson").high
    assert (q["tool_call_f1_ci_low"], q["tool_call_f1_ci_high"]) == (pytest.approx(2 * (1 - h) / (2 - h)), 1.0)
    assert p["tool_call_f1_ci_low"] < 6 / 7 < p["tool_call_f1_ci_high"]
    assert (p["verdict"], q["verdict"], o["verdict"]) == ("undecided", "undecided", None)
    # November alone: no pair, no rerun
    nov = rows_of(df, "2025-11")["p"]
    assert (nov["cases"], nov["cases_compared"], nov["tool_call_f1"], nov["f1_threshold"]) == (1, 0, None, None)


def ctx(
    provider: str,
    case: str,
    finish: str | None,
    error_type: str | None = None,
    status: str | None = None,
    at: str = OCT + " 02:00",
) -> dict:
    return probe(provider, case, finish, suite="context_limit", error_type=error_type, status=status, at=at)


def test_context_limit_behaviour(tmp_path):
    rows = [
        # a: 3 of 4 errors -> error; context_overflow twice, invalid_request once
        ctx("a", "x1", "error", "context_overflow"),
        ctx("a", "x2", "error", "context_overflow"),
        ctx("a", "x3", "error", "invalid_request"),
        ctx("a", "x4", "stop"),
        # b: 3 of 4 truncated
        ctx("b", "x1", "length"),
        ctx("b", "x2", "length"),
        ctx("b", "x3", "length"),
        ctx("b", "x4", "stop"),
        # c: all answered as if they fit; a later error on x1 the same day is a rerun, not counted
        *[ctx("c", x, "stop") for x in ("x1", "x2", "x3", "x4")],
        ctx("c", "x1", "error", "timeout", at=OCT + " 05:00"),
        # d: 2 errors and 2 truncations: no majority; error codes tie -> rate_limit before timeout
        ctx("d", "x1", "error", "timeout"),
        ctx("d", "x2", "error", "rate_limit"),
        ctx("d", "x3", "length"),
        ctx("d", "x4", "length"),
        # e: finish 'error' with status ok and no error_type counts as an error, with no code
        *[ctx("e", x, "error", status="ok") for x in ("x1", "x2", "x3")],
        ctx("e", "x4", "stop"),
        # tool_calls rows are another suite: ignored
        probe("a", "c1", "stop"),
    ]
    got = rows_of(build_context_limit_behaviour(stage(tmp_path, rows)))
    assert {
        k: (r["cases"], r["errors"], r["truncations"], r["silent_acceptances"], r["behaviour"], r["error_code"])
        for k, r in got.items()
    } == {
        "a": (4, 3, 0, 1, "error", "context_overflow"),
        "b": (4, 0, 3, 1, "truncation", None),
        "c": (4, 0, 0, 4, "silent_acceptance", None),
        "d": (4, 2, 2, 0, "mixed", "rate_limit"),
        "e": (4, 3, 0, 1, "error", None),
    }
    assert set(rows_of(build_context_limit_behaviour(tmp_path), "2025-10")) == set("abcde")
