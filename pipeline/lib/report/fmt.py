"""Numbers formatted for people: every figure the report prints goes through one of these.

Percentages carry one decimal, prices a dollar sign and two decimals (three below $0.10),
milliseconds none, counts thousands separators; an interval reads "32.1 % [31.9, 32.3]".
A missing value prints as an en dash, never as "None" or "nan". A number of 10^15 or more
(a contract-valid price of 1e308 USD/Mtok, 2^62 tokens) is written in scientific notation,
"5.43e+305", not as a row of 300 digits.
"""

from __future__ import annotations

import math

DASH = "\u2013"
HUGE = 1e15


def _f(x: float, digits: int, sep: str = ",") -> str:
    """x with `digits` decimals and thousands separators, or in scientific notation from HUGE on."""
    return f"{x:.2e}" if abs(x) >= HUGE else f"{x:{sep}.{digits}f}"


def _missing(x: object) -> bool:
    return x is None or (isinstance(x, float) and not math.isfinite(x))


def _z(x: float, digits: int) -> float:
    """x, with values that round to zero made a plain 0 (no '-0.0' from -4e-14)."""
    return 0.0 if round(x, digits) == 0 else x


def count(x: float | int | None) -> str:
    """12,345 (rounded to a whole number: weighted counts are sums of 1 / sample_rate)."""
    if _missing(x):
        return DASH
    return _f(x, 0) if abs(x) >= HUGE else f"{round(x):,}"


def pct(share: float | None, digits: int = 1) -> str:
    """A share in [0, 1] as a percentage: 0.3212 -> '32.1 %'."""
    return DASH if _missing(share) else f"{_f(_z(100 * share, digits), digits)} %"


def pct_value(p: float | None, digits: int = 1) -> str:
    """A number that already is a percentage (change_pct): -12.34 -> '-12.3 %'."""
    return DASH if _missing(p) else f"{_f(_z(p, digits), digits)} %"


def pct_ci(share: float | None, low: float | None, high: float | None, digits: int = 1) -> str:
    """'32.1 % [31.9, 32.3]': the interval in the same unit, without repeating it."""
    if _missing(share):
        return DASH
    if _missing(low) or _missing(high):
        return pct(share, digits)
    return f"{_f(100 * share, digits, '')} % [{_f(100 * low, digits, '')}, {_f(100 * high, digits, '')}]"


def num(x: float | None, digits: int = 2) -> str:
    """A plain statistic (Gini, rho, a ratio): 0.6927 -> '0.69'."""
    return DASH if _missing(x) else _f(_z(x, digits), digits)


def num_ci(x: float | None, low: float | None, high: float | None, digits: int = 2) -> str:
    if _missing(x):
        return DASH
    if _missing(low) or _missing(high):
        return num(x, digits)
    return f"{_f(x, digits, '')} [{_f(low, digits, '')}, {_f(high, digits, '')}]"


def pct_value_ci(p: float | None, low: float | None, high: float | None, digits: int = 1) -> str:
    if _missing(p):
        return DASH
    if _missing(low) or _missing(high):
        return pct_value(p, digits)
    return f"{_f(_z(p, digits), digits, '')} % [{_f(_z(low, digits), digits, '')}, {_f(_z(high, digits), digits, '')}]"


def bracket(low: float | None, high: float | None, digits: int = 2, scale: float = 1.0) -> str | None:
    """An interval on its own, '[31.9, 32.3]' (scale=100 for shares read as percentages)."""
    if _missing(low) or _missing(high):
        return None
    return f"[{_f(scale * low, digits)}, {_f(scale * high, digits)}]"


def p_value(p: float | None) -> str:
    """A test's p-value: '0.004', or '< 0.001' below that (three decimals say all a reader uses)."""
    if _missing(p):
        return DASH
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def usd(x: float | None) -> str:
    """A price in USD: '$2.19', '$0.28'; below ten cents three decimals, '$0.075'."""
    if _missing(x):
        return DASH
    digits = 3 if abs(x) < 0.1 and x != 0 else 2
    return f"${_f(x, digits)}"


def usd_total(x: float | None) -> str:
    """An amount of money (a total, not a unit price): '$12,345'; below $100 with cents."""
    if _missing(x):
        return DASH
    return f"${_f(x, 0)}" if abs(x) >= 100 else usd(x)


def ms(x: float | None) -> str:
    """Milliseconds without decimals: '1,234 ms'."""
    return DASH if _missing(x) else f"{_f(x, 0)} ms"


def tps(x: float | None) -> str:
    """Throughput: '85 tok/s' (one decimal below 10)."""
    if _missing(x):
        return DASH
    return f"{x:,.1f} tok/s" if abs(x) < 10 else f"{_f(x, 0)} tok/s"


def days(x: float | None, digits: int = 1) -> str:
    return DASH if _missing(x) else f"{_f(x, digits)} days"


def tokens(x: float | int | None) -> str:
    """Token counts: '8,192', '1.2 M', '3.4 B' for the large totals."""
    if _missing(x):
        return DASH
    if abs(x) >= HUGE:
        return _f(x, 0)
    for scale, unit in ((1e9, "B"), (1e6, "M")):
        if abs(x) >= scale:
            return f"{x / scale:,.1f} {unit}"
    return f"{round(x):,}"


def signed(x: float, digits: int) -> str:
    """'+1.2', '-0.3', '0.0' (no '-0.0')."""
    if round(x, digits) == 0:
        return f"{0:.{digits}f}"
    return f"{x:+,.{digits}f}"


# Changes against the previous quarter, one kind per unit of the headline figure.
CHANGE_KINDS = ("pp", "pp2", "points", "abs2", "abs3", "days", "rel", "count")


def change(current: float | None, previous: float | None, kind: str) -> str | None:
    """The change of a headline figure, in the unit it is read in:
    pp     shares: +1.2 pp (percentage points)
    pp2    small shares (error rates): +0.12 pp
    points figures that already are percentages (change_pct): +1.2 pp
    abs2  statistics read with two decimals (Gini, rho, ratios): +0.01
    abs3  statistics read with three decimals (cv): +0.012
    days  half-lives: +2.0 days
    rel   totals: +3.4 % (relative)
    count counts: +5
    None when either side is missing."""
    if _missing(current) or _missing(previous):
        return None
    if kind == "pp":
        return f"{signed(100 * (current - previous), 1)} pp"
    if kind == "pp2":
        return f"{signed(100 * (current - previous), 2)} pp"
    if kind == "points":
        return f"{signed(current - previous, 1)} pp"
    if kind == "abs2":
        return signed(current - previous, 2)
    if kind == "abs3":
        return signed(current - previous, 3)
    if kind == "days":
        return f"{signed(current - previous, 1)} days"
    if kind == "rel":
        return None if previous == 0 else f"{signed(100 * (current / previous - 1), 1)} %"
    if kind == "count":
        return signed(current - previous, 0)
    raise ValueError(f"unknown change kind {kind!r}; one of {CHANGE_KINDS}")
