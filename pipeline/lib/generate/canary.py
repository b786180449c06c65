"""The daily compat canary: a small tool-call suite every endpoint answers every day, so tool-call
validity (schema_accuracy) and tool-call decisions (F1 vs the official) have daily series, not
only the three quarterly rounds of compat_rows.

Every day at CANARY_HOUR UTC every live tools-capable endpoint state answers CANARY_CASES
cases of suite CANARY_SUITE (case ids tcd-000 ...). The cases are the same prompts every day,
so which ones call for a tool is fixed per model (CANARY_POSITIVE of them: most, so a day
gives about that many tool calls that carry schema_valid). The official answers the truth, with
no errors and no rerun flips: it is the reference. Another provider misses and fires wrongly at
the rates that give its tool-call F1 and makes schema-valid calls with its schema accuracy
(shifts.tool_quality, with planted shifts from their start date), and fails a case now and then
as in the rounds. One vectorised draw for the whole quarter.
"""

from __future__ import annotations

import numpy as np

from . import world as W
from .model import Compiled
from .shifts import tool_quality

CANARY_SUITE = "tool_calls_daily"
CANARY_CASES = 32
CANARY_POSITIVE = 24
CANARY_HOUR = 14  # UTC: apart from the rounds (02:00 on), which would share a provider's minutes
CANARY_ERROR_P = 0.005  # as the rounds' tool_calls suite
LENGTH_P = 0.015  # answers without a tool call cut at the output cap, as in the rounds
HOUR_US = 3_600_000_000


def trigger_rates(f1: np.ndarray, pi: float) -> tuple[np.ndarray, np.ndarray]:
    """(miss rate on cases that call for a tool, false-fire rate on the others) that give a
    decision F1 of f1 vs a reference calling on a share pi of the cases. Misses and false
    fires are balanced (as many of each) while the false-fire rate fits in [0, 1]; with most
    cases positive a low F1 needs every negative to fire, and misses make up the rest:
    F1 = 2P(1-a) / (2P(1-a) + Pa + Nb) solved for a at b = 1."""
    f1 = np.asarray(f1, dtype=float)
    miss = 1.0 - f1
    fire = miss * pi / (1.0 - pi)
    over = fire > 1.0
    miss = np.where(over, (2 * pi * (1 - f1) - (1 - pi) * f1) / (pi * (2 - f1)), miss)
    return miss, np.minimum(fire, 1.0)


def canary_rows(c: Compiled, seed: int) -> dict:
    """The canary's rows for the whole quarter as compat columns (probes.COMPAT_COLUMNS: ts a
    list of one int64 µs array, the others lists), ordered by day, provider, endpoint."""
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, 7_000_004])))
    k = CANARY_CASES
    t0 = np.array([W.day_us(d) for d in W.DAYS], dtype=np.int64) + CANARY_HOUR * HOUR_US
    live = c.ep_tools[:, None] & (c.ep_vf[:, None] <= t0[None, :]) & (t0[None, :] < c.ep_vt[:, None])
    ep, day = np.nonzero(live)
    order = np.lexsort((ep, c.ep_prov[ep], day))
    ep, day = ep[order], day[order]
    t = t0[day]
    # which cases call for a tool: fixed per model, exactly CANARY_POSITIVE of them
    u = rng.random((len(W.MODEL_IDS), k))
    truth = np.argsort(np.argsort(u, axis=1), axis=1) < CANARY_POSITIVE
    quality = np.array([tool_quality(e["provider"], e["model"]) for e in c.eps])
    official = np.array([e["provider"] == W.MODELS[e["model"]][4] for e in c.eps])
    f1 = c.shift.level("tool_call_f1", ep, t, quality[ep, 0])
    schema = c.shift.level("schema_accuracy", ep, t, quality[ep, 1])
    miss, fire = trigger_rates(f1, CANARY_POSITIVE / k)

    # one row per (pair, case)
    n = ep.size * k
    r = np.repeat(np.arange(ep.size), k)
    case = np.tile(np.arange(k), ep.size)
    tr = truth[c.ep_model[ep[r]], case]
    off = official[ep[r]]
    trig = np.where(off, tr, np.where(tr, rng.random(n) >= miss[r], rng.random(n) < fire[r]))
    err = (rng.random(n) < CANARY_ERROR_P) & ~off
    etype = rng.integers(0, 3, n)
    length = rng.random(n) < LENGTH_P
    calls = rng.choice([1, 2, 3], n, p=[0.85, 0.12, 0.03])
    valid = rng.random(n) < schema[r]
    called = trig & ~err
    prov = c.ep_prov[ep[r]]
    finish = np.where(err, 0, np.where(trig, 1, np.where(length, 2, 3)))
    cols = {
        "ts": [t[r] + prov.astype(np.int64) * 900_000_000 + case * 2_000_000],
        "provider": _pick(W.PROVIDER_IDS, prov),
        "model": _pick(W.MODEL_IDS, c.ep_model[ep[r]]),
        "suite": [CANARY_SUITE] * n,
        "case_id": _pick([f"tcd-{j:03d}" for j in range(k)], case),
        "finish_reason": _pick(["error", "tool_calls", "length", "stop"], finish),
        "tool_calls": np.where(called, calls, 0).tolist(),
        "schema_valid": _pick([None, False, True], np.where(called, 1 + valid, 0)),
        "status": _pick(["ok", "error"], err.astype(np.int64)),
        "error_type": _pick([None, "server_error", "timeout", "rate_limit"], np.where(err, 1 + etype, 0)),
    }
    return cols


def _pick(values: list, idx: np.ndarray) -> list:
    """values[idx] as a list of the Python objects (a table lookup, no per-row Python)."""
    return np.array(values, dtype=object)[idx].tolist()
