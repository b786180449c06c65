"""Planted service shifts: steps in a service object's (provider x model) quality that persist
from their start date to the end of the quarter, so the sample quarter has a changelog to show
and a change-point detector has a known truth to be calibrated on (the manifest's
planted_changes).

A shift is (provider, model, metric, start date, value); the metric fixes the kind:

- ttft_p50_ms      factor  multiplies the TTFT of latency probes and requests;
- decode_tps_p50   factor  multiplies the decode throughput of probes and requests;
- availability     add     extra failure probability of probes (server_error / timeout) and
                           requests (server_error): moves probe_success_rate and
                           request_error_rate;
- rate_limit_rate  add     extra rate_limit errors (http 429) on requests;
- schema_accuracy  level   schema-valid probability of the provider's tool calls (compat);
- tool_call_f1     level   the provider's tool-call decision F1 vs the official (compat);
- quantization     state   (sample world only) a new endpoint state with this quantization.

The sample world's shifts are pipeline/data/world/service_shifts.csv; random_shifts(seed)
draws calibration worlds. Effects are applied in requests.py, probes.py and canary.py through
ShiftArrays, which has nothing to apply when there are no shifts: a drop without shifts is the
drop of a world without them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from pipeline.lib.reference_data import table

from . import world as W

METRICS = {
    "ttft_p50_ms": "factor",
    "decode_tps_p50": "factor",
    "availability": "add",
    "rate_limit_rate": "add",
    "schema_accuracy": "level",
    "tool_call_f1": "level",
}
QUANTIZATION = "quantization"
NEUTRAL = {"factor": 1.0, "add": 0.0}
# The published daily series a shift moves, with the sign of an `add` on each (more failures
# are a lower success rate); a metric not listed moves the series of its own name.
PUBLISHED = {"availability": (("probe_success_rate", -1.0), ("request_error_rate", 1.0))}
# Effects of random shifts: realistic ranges per metric (one picked at random where there are
# two: a regression or an improvement).
RANGES = {
    "ttft_p50_ms": ((1.4, 2.5), (0.45, 0.7)),
    "decode_tps_p50": ((0.55, 0.75), (1.35, 1.8)),
    "availability": ((0.05, 0.15),),
    "rate_limit_rate": ((0.04, 0.12),),
    "schema_accuracy": ((0.55, 0.85),),
    "tool_call_f1": ((0.6, 0.85),),
}
# Random start days (index in the quarter, both ends included): two weeks of history before,
# two of evidence after.
START_DAYS = (15, 77)
# A random level shift lies at least this far below the object's own level: a "shift" to
# where the object already is would be a change nobody could find.
MIN_LEVEL_DROP = 0.1
MODES = ("sample", "random", "none")


@dataclass(frozen=True)
class Shift:
    provider: str
    model: str
    metric: str
    start: dt.date
    value: float | str

    @property
    def kind(self) -> str:
        return "state" if self.metric == QUANTIZATION else METRICS[self.metric]


def tool_quality(provider: str, model: str) -> tuple[float, float]:
    """(tool-call F1 vs official, schema accuracy) of a service object before any shift: the
    provider's K2 figures (world/providers.csv), lower on reasoning models (as compat_rows),
    less a fixed per-object jitter; the official is the reference (1, 1)."""
    if provider == W.MODELS[model][4]:
        return 1.0, 1.0
    p = W.PROVIDERS[provider]
    thinking = W.MODELS[model][6]
    j = W._stable_unit(f"{provider}/{model}/tools")
    f1 = p["f1"] - 0.03 * j - (0.04 if thinking else 0.0)
    schema = p["schema"] - 0.01 * j - (0.02 if thinking else 0.0)
    return float(np.clip(f1, 0.6, 1.0)), float(np.clip(schema, 0.6, 1.0))


def _covers_quarter(states: list[dict], key: str | None = None) -> bool:
    """Whether the states (one object's, contiguous) are valid from the quarter's first day to
    its end, and all have `key` set when given."""
    states = sorted(states, key=lambda e: e["valid_from"])
    at = W.QUARTER_START
    for e in states:
        if e["valid_from"] > at:
            break
        if e["valid_to"] is None or e["valid_to"] > at:
            if key and not e[key]:
                return False
            at = e["valid_to"] or dt.date.max
    return at > W.QUARTER_END


def _objects() -> dict[tuple[str, str], list[dict]]:
    objs: dict[tuple[str, str], list[dict]] = {}
    for e in W.ENDPOINTS:
        objs.setdefault((e["provider"], e["model"]), []).append(e)
    return objs


def whole_quarter_objects() -> list[tuple[str, str]]:
    """Service objects a random shift may hit: live the whole quarter, and not the official
    API of a model released during it (its launch crunch is planted already), in endpoint order."""
    out = []
    for (prov, model), states in _objects().items():
        released_in = W.QUARTER_START <= W.model_release(model) <= W.QUARTER_END
        if _covers_quarter(states) and not (released_in and prov == W.MODELS[model][4]):
            out.append((prov, model))
    return out


def _level_cap(prov: str, model: str, metric: str, objs: dict) -> float | None:
    """Highest level a random tool-call shift may plant on the object (None: not eligible):
    tools all quarter, not the official (the reference), and for F1 an official that answers
    the canary all quarter."""
    official = W.MODELS[model][4]
    if prov == official or not _covers_quarter(objs[(prov, model)], "supports_tools"):
        return None
    if metric == "tool_call_f1" and not _covers_quarter(objs.get((official, model), []), "supports_tools"):
        return None
    f1, schema = tool_quality(prov, model)
    return (f1 if metric == "tool_call_f1" else schema) - MIN_LEVEL_DROP


def random_shifts(seed: int, n: int = 15) -> list[Shift]:
    """n shifts on n distinct service objects (whole_quarter_objects), one each: a random
    metric the object can show, a start day uniform in START_DAYS, an effect uniform in one of
    its RANGES (a level no higher than the object's own level less MIN_LEVEL_DROP).
    Deterministic per seed."""
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, 7_000_003])))
    objs = _objects()
    cands = whole_quarter_objects()
    if n > len(cands):
        raise ValueError(f"{n} shifts asked, {len(cands)} service objects can take one")
    out = []
    for k in rng.choice(len(cands), n, replace=False):
        prov, model = cands[int(k)]
        ranges = {}
        for metric, rs in RANGES.items():
            cap = _level_cap(prov, model, metric, objs) if METRICS[metric] == "level" else np.inf
            rs = tuple((lo, min(hi, cap)) for lo, hi in rs if cap is not None and min(hi, cap) > lo)
            if rs:
                ranges[metric] = rs
        metric = list(ranges)[int(rng.integers(len(ranges)))]
        lo, hi = ranges[metric][int(rng.integers(len(ranges[metric])))]
        day = W.DAYS[int(rng.integers(START_DAYS[0], START_DAYS[1] + 1))]
        out.append(Shift(prov, model, metric, day, round(float(rng.uniform(lo, hi)), 3)))
    return sorted(out, key=lambda s: (s.start, s.provider, s.model, s.metric))


def sample_shifts() -> list[Shift]:
    """The sample world's shifts (pipeline/data/world/service_shifts.csv), checked."""
    objs = _objects()
    out = []
    for r in table("world/service_shifts.csv"):
        key, metric = (r["provider"], r["model"]), r["metric"]
        assert key in objs, key
        assert metric in METRICS or metric == QUANTIZATION, metric
        value = r["value"] if metric == QUANTIZATION else float(r["value"])
        out.append(Shift(*key, metric, W.date_of(r["start"]), value))
    _check(out)
    return out


def _check(shifts: list[Shift]) -> None:
    """One shift per object and metric (ShiftArrays holds one), inside the quarter."""
    keys = [(s.provider, s.model, s.metric) for s in shifts]
    assert len(set(keys)) == len(keys), "two shifts of one metric on one service object"
    for s in shifts:
        assert W.QUARTER_START < s.start <= W.QUARTER_END, s


def shifts_for(mode: str, seed: int) -> list[Shift]:
    """The shifts of a drop: 'sample' (the sample world's), 'random' (random_shifts(seed)) or 'none'."""
    if mode == "sample":
        return sample_shifts()
    if mode == "random":
        return random_shifts(seed)
    if mode == "none":
        return []
    raise ValueError(f"shifts must be one of {', '.join(MODES)}, not {mode!r}")


def planted_changes(shifts: list[Shift]) -> list[dict]:
    """The manifest's planted_changes: one entry per published metric a shift moves (an
    availability shift moves two), value being the change of that metric (factor: x; add: +,
    negative for a success rate; level: the new level; state: the new quantization)."""
    out = []
    for s in shifts:
        for metric, sign in PUBLISHED.get(s.metric, ((s.metric, 1.0),)):
            value = sign * s.value if s.kind == "add" else s.value
            out.append(
                dict(
                    provider=s.provider,
                    model=s.model,
                    metric=metric,
                    changed_at=s.start.isoformat(),
                    kind=s.kind,
                    value=value,
                )
            )
    return sorted(out, key=lambda d: (d["changed_at"], d["provider"], d["model"], d["metric"]))


def endpoint_states(shifts: list[Shift]) -> list[dict]:
    """W.ENDPOINTS with each quantization shift's new state: the state live at the start date
    ends there and a copy with the new quantization follows it directly (same price). Placing
    it right after the old state keeps every other endpoint's index order, so nothing drawn
    for other endpoints changes."""
    eps = list(W.ENDPOINTS)
    for s in shifts:
        if s.metric != QUANTIZATION:
            continue
        (i,) = [
            i
            for i, e in enumerate(eps)
            if (e["provider"], e["model"]) == (s.provider, s.model)
            and e["valid_from"] < s.start
            and (e["valid_to"] is None or s.start < e["valid_to"])
        ]
        old = eps[i]
        new = dict(old, valid_from=s.start, quantization=s.value, price=None, source=f"state change: {s.value}")
        eps[i : i + 1] = [dict(old, valid_to=s.start), new]
    return eps


@dataclass
class ShiftArrays:
    """Per metric with at least one shift, per endpoint state: the shift's start (µs since the
    epoch) and value. One shift per object and metric, so one pair per endpoint state."""

    start: dict[str, np.ndarray]
    value: dict[str, np.ndarray]

    def active(self, metric: str) -> bool:
        return metric in self.start

    def at(self, metric: str, ep: np.ndarray, ts: np.ndarray) -> np.ndarray:
        """The metric's effect for rows on endpoint states ep at times ts (neutral before a
        shift's start and where there is none); call only for an active metric."""
        return np.where(ts >= self.start[metric][ep], self.value[metric][ep], NEUTRAL[METRICS[metric]])

    def level(self, metric: str, ep: np.ndarray, ts: np.ndarray, base: np.ndarray) -> np.ndarray:
        """A level metric at (ep, ts): the shift's level from its start, else `base`."""
        if not self.active(metric):
            return base
        return np.where(ts >= self.start[metric][ep], self.value[metric][ep], base)

    def level_at(self, metric: str, ep: int, t: int, base: float) -> float:
        """level() for one endpoint state at one time."""
        if self.active(metric) and t >= self.start[metric][ep]:
            return float(self.value[metric][ep])
        return base


def compile_shifts(eps: list[dict], shifts: list[Shift]) -> ShiftArrays:
    _check(shifts)
    prov = np.array([e["provider"] for e in eps])
    model = np.array([e["model"] for e in eps])
    start, value = {}, {}
    for s in shifts:
        if s.metric == QUANTIZATION:
            continue
        if s.metric not in start:
            start[s.metric] = np.full(len(eps), np.iinfo(np.int64).max, dtype=np.int64)
            value[s.metric] = np.full(len(eps), NEUTRAL.get(s.kind, np.nan))
        m = (prov == s.provider) & (model == s.model)
        assert m.any(), s
        start[s.metric][m] = W.day_us(s.start)
        value[s.metric][m] = s.value
    return ShiftArrays(start, value)
