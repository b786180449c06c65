"""The price shapes of genai-prices (flat, tiered, time-of-day, dated; see genai_prices) ->
contract price columns and the extra price columns, for one model entry's `prices`.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections import Counter

from pipeline.lib.importers.snapshots import as_count, as_number

FIELD_MAP = {
    "input_mtok": "input_per_mtok",
    "output_mtok": "output_per_mtok",
    "cache_read_mtok": "cached_input_per_mtok",
}
EXTRA_FIELDS = {"cache_write_mtok": "cache_write_per_mtok", "requests_kcount": "requests_per_1k_usd"}


class PriceError(ValueError):
    """A model entry whose prices cannot be written; the message is the report's reason."""


def _value(field: str, v) -> tuple[float, list[tuple[int, float]]]:
    """(base price, [(tier start, price), ...]) of a flat or tiered price value."""
    if isinstance(v, dict):
        base = as_number(v.get("base"))
        if base in (None, "bad"):
            raise PriceError(f"bad_type: {field} tiered price without a numeric base ({v!r})")
        tiers = []
        for t in v.get("tiers") or []:
            start, price = (
                as_count(t.get("start")) if isinstance(t, dict) else "bad",
                as_number(t.get("price")) if isinstance(t, dict) else "bad",
            )
            if start in (None, "bad") or price in (None, "bad"):
                raise PriceError(f"bad_type: {field} tier is not {{start, price}} ({t!r})")
            tiers.append((start, price))
        return base, tiers
    n = as_number(v)
    if n in (None, "bad"):
        raise PriceError(f"bad_type: {field} is not a number ({v!r})")
    return n, []


def flat_prices(p: dict) -> dict:
    """One price object -> contract and extra columns (tiers as JSON)."""
    if not isinstance(p, dict):
        raise PriceError(f"bad_type: prices entry is not an object ({p!r})")
    for f in ("input_mtok", "output_mtok"):
        if p.get(f) is None:
            raise PriceError(f"missing: {f} (no token price; not read as free)")
    out: dict = {}
    tiers: dict[int, dict] = {}
    other = {}
    for f, v in p.items():
        if f not in FIELD_MAP and f not in EXTRA_FIELDS:
            other[f] = v
            continue
        base, ts = _value(f, v)
        out[FIELD_MAP.get(f) or EXTRA_FIELDS[f]] = base
        for start, price in ts:
            tiers.setdefault(start, {"start": start})[f] = price
    out.setdefault("cached_input_per_mtok", None)
    for k in EXTRA_FIELDS.values():
        out.setdefault(k, None)
    out["price_fields_other"] = json.dumps(other, sort_keys=True) if other else None
    out["tier_prices"] = json.dumps([tiers[s] for s in sorted(tiers)], sort_keys=True) if tiers else None
    return out


def _hhmm(t: str) -> int:
    """Minutes after 00:00 UTC of 'HH:MM[:SS][Z]'."""
    m = re.fullmatch(r"(\d{2}):(\d{2})(?::(\d{2}))?(?:Z|\+00:00)?", str(t))
    if not m:
        raise PriceError(f"bad_type: time of day {t!r} is not HH:MM:SSZ")
    return int(m.group(1)) * 60 + int(m.group(2))


def _window(p: dict, start: int, end: int) -> dict:
    return {
        "from_utc": f"{start // 60:02d}:{start % 60:02d}",
        "to_utc": f"{end // 60:02d}:{end % 60:02d}",
        **{f: p[f] for f in sorted(p) if f in FIELD_MAP or f in EXTRA_FIELDS},
    }


def _entries(prices) -> tuple[dict | None, list[tuple[dt.date, dict]], list[tuple[int, int, dict]]]:
    """`prices` (one price object or a list of constrained ones) -> (the unconstrained price,
    [(start date, price)] in date order, [(from minute, to minute, price)] of time-of-day windows)."""
    entries = prices if isinstance(prices, list) else [{"prices": prices}]
    base, dated, tod = None, [], []
    for e in entries:
        if not isinstance(e, dict) or "prices" not in e:
            raise PriceError(f"bad_type: prices list entry without 'prices' ({e!r})")
        c = e.get("constraint")
        if not c:
            base = base or e["prices"]
        elif set(c) == {"start_date"}:
            try:
                dated.append((dt.date.fromisoformat(str(c["start_date"])[:10]), e["prices"]))
            except ValueError:
                raise PriceError(f"bad_type: start_date {c['start_date']!r}") from None
        elif set(c) <= {"start_time", "end_time"} and c:
            tod.append((_hhmm(c.get("start_time", "00:00")), _hhmm(c.get("end_time", "00:00")), e["prices"]))
        else:
            raise PriceError(f"not_allowed: price constraint {c!r} is of an unknown kind")
    dated.sort(key=lambda x: x[0])
    return base, dated, tod


def _in_force(base: dict | None, dated: list[tuple[dt.date, dict]], d: dt.date) -> dict:
    """The price in force on `d`: the latest dated price started by then, else the unconstrained one."""
    chosen = base
    for start, p in dated:
        if start <= d:
            chosen = p
    if chosen is None:
        raise PriceError(f"missing: no price in force on {d} (first dated price starts {dated[0][0]})")
    return chosen


def _minute_owners(tod: list[tuple[int, int, dict]]) -> list[int]:
    """For each minute of the UTC day, 1 + the index of the window holding it, or 0 (the
    unconstrained or dated price holds outside the windows; a later window wins an overlap)."""
    minutes = [0] * 1440
    for i, (s, e, _) in enumerate(tod, start=1):
        span = range(s, e) if s < e else list(range(s, 1440)) + list(range(0, e))  # e <= s wraps midnight
        for m in span:
            minutes[m] = i
    return minutes


def _runs(minutes: list[int]) -> list[tuple[int, int, int]]:
    """(from minute, to minute, owner) of each run of minutes with one owner."""
    runs, start = [], 0
    for m in range(1, 1441):
        if m == 1440 or minutes[m] != minutes[start]:
            runs.append((start, m, minutes[start]))
            start = m
    return runs


def _with_time_of_day(p: dict, tod: list[tuple[int, int, dict]]) -> dict:
    """The columns of price `p` with the time-of-day windows applied (see the module docstring
    of genai_prices): the contract columns of the price holding the most minutes."""
    cols = flat_prices(p)  # first, so that a bad `p` is reported whatever the windows
    if not tod:
        cols["time_of_day_prices"] = None
        return cols
    minutes = _minute_owners(tod)
    shares = Counter(minutes)
    best = max(shares, key=lambda i: (shares[i], -i))  # ties: the default price
    chosen = p if best == 0 else tod[best - 1][2]
    cols = flat_prices(chosen)
    cols["time_of_day_prices"] = json.dumps(
        [_window(p if i == 0 else tod[i - 1][2], s, e) for s, e, i in _runs(minutes)], sort_keys=True
    )
    return cols


def resolve_prices(prices, on: dt.date, until: dt.date | None) -> tuple[dict, list[tuple[dt.date, dict]]]:
    """genai-prices `prices` -> (columns in force on `on`, [(date, columns) of changes dated
    after `on` and before `until`]). See the module docstring of genai_prices."""
    base, dated, tod = _entries(prices)
    if base is None and not dated:
        raise PriceError("missing: an unconstrained or dated price")
    now = _with_time_of_day(_in_force(base, dated, on), tod)
    later = [(d, _with_time_of_day(p, tod)) for d, p in dated if d > on and (until is None or d < until)]
    return now, later
