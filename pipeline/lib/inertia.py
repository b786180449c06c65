"""Version inertia: the half-life of a superseded variant from a fitted decay (issue 14).

The contract: old_share(d) = demand(old) / (demand(old) + demand(new)) over day t0 + d, and the
half-life is the d at which a decay fitted to old_share after t0 reaches half its mean over the
7 days before t0, with a 95 % interval.

The decay is old_share(t) = a * exp(-lam * t) in continuous time t (days since the start of the
release day), and day d's share is its mean over the day, a exp(-lam d) (1 - exp(-lam)) / lam:
fitted by quasi-likelihood, each day's old demand binomial-like in the pair's demand that day (a
log-link GLM, estimated by maximising the binomial log-likelihood of the weighted counts). Taking
day d's share as the curve's value at d would put the half-life half a day early: a day's share
is the average of a decay that runs through the day. Weighted counts are not counts:
the dispersion phi (Pearson chi-square over the residual degrees of freedom) rescales the
variance, which also absorbs day-to-day swings beyond sampling noise. The half-life solves
a * exp(-lam * d) = pre / 2:

    d* = (ln 2 + ln a - ln pre) / lam   (days since the start of the release day)

and its interval is a Wald interval on log d* (delta method with phi times the inverse Fisher
information, t quantile on the residual degrees of freedom), which keeps it positive and
asymmetric like the estimate's sampling distribution.

Taking the first day the noisy share dips below half (the method before) is biased short:
noise reaches the line before the trend does. The fit uses every day, so its error shrinks with
the data. A half-life more than twice as far out as the last day fitted is not published (null):
the data cannot support it (e.g. the successor never takes over).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from pipeline.lib.stats import INTERVAL_LEVEL

MIN_FIT_DAYS = 5  # days after release with demand; fewer cannot support a two-parameter fit
MAX_EXTRAPOLATION = 2.0  # a half-life past this many times the last fitted day is not published
_EPS = 1e-9


@dataclass(frozen=True)
class HalfLife:
    """A fitted half-life in days with its 95 % interval; None where the data cannot support it."""

    days: float | None
    ci_low: float | None
    ci_high: float | None
    fit_days: int  # days after release with demand that the fit used
    initial_share: float | None  # fitted a: the old share the decay starts from on day 0
    decay_per_day: float | None  # fitted lam


NO_FIT = HalfLife(None, None, None, 0, None, None)


def _day_mean(lam: float) -> float:
    """The mean of exp(-lam t) over a day, t in [0, 1): (1 - exp(-lam)) / lam."""
    return -math.expm1(-lam) / lam if lam > 1e-12 else 1.0


def _day_share(theta: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Day d's mean share under a exp(-lam t): log a - lam d + log of the day's mean factor."""
    return np.exp(theta[0] - theta[1] * d + math.log(_day_mean(float(theta[1]))))


def _loglik(theta: np.ndarray, d: np.ndarray, y: np.ndarray, n: np.ndarray) -> float:
    p = np.clip(_day_share(theta, d), _EPS, 1 - _EPS)
    return float(np.sum(y * np.log(p) + (n - y) * np.log1p(-p)))


def fit_half_life(
    days: np.ndarray, old: np.ndarray, new: np.ndarray, pre_share: float | None, level: float = INTERVAL_LEVEL
) -> HalfLife:
    """Fit old_share(t) = a exp(-lam t) to the days d >= 0 (old, new: that day's weighted demand
    of each variant; day d's share is the curve's mean over [d, d + 1)) and return the time, in
    days since the start of the release day, at which the curve reaches pre_share / 2, with its
    interval."""
    from scipy import optimize, stats  # here: the import costs most of a second

    d, y, n = (np.asarray(v, dtype=float) for v in (days, old, new))
    n = y + n
    keep = (d >= 0) & (n > 0) & np.isfinite(n)
    d, y, n = d[keep], y[keep], n[keep]
    if pre_share is None or not pre_share > 0 or d.size < MIN_FIT_DAYS:
        return HalfLife(None, None, None, int(d.size), None, None)
    share = y / n
    # start: a = the first days' share, lam from where the share is halved on average
    a0 = float(np.clip(share[: max(3, d.size // 10)].mean(), 0.05, 1 - 1e-6))
    below = d[share <= a0 / 2]
    lam0 = np.log(2) / (float(below[0]) if below.size and below[0] > 0 else max(float(d.max()), 1.0))
    res = optimize.minimize(
        lambda t: -_loglik(t, d, y, n),
        x0=np.array([np.log(a0), lam0]),
        method="L-BFGS-B",
        bounds=[(np.log(_EPS), 0.0), (1e-6, 10.0)],
    )
    if not res.success and not np.isfinite(res.fun):
        return HalfLife(None, None, None, int(d.size), None, None)
    alpha, lam = (float(v) for v in res.x)
    a = float(np.exp(alpha))
    half = (np.log(2) + alpha - np.log(pre_share)) / lam
    if not half > 0:  # the fit starts at or below half the pre-release share: no decay to time
        return HalfLife(0.0, None, None, int(d.size), a, lam)
    if half > MAX_EXTRAPOLATION * max(float(d.max()), 1.0):  # (no) decay too slow for the data to time
        return HalfLife(None, None, None, int(d.size), a, lam)
    p = np.clip(_day_share(res.x, d), _EPS, 1 - _EPS)
    dof = d.size - 2
    phi = max(float(np.sum((y - n * p) ** 2 / (n * p * (1 - p)))) / dof, _EPS)
    # Fisher information of (alpha, lam) for the log link: J' W J, J = d log p / d(alpha, lam)
    # = [1, -(d + c)] with c = -d log(day mean) / d lam, W = n p / (1 - p)
    c = 1 / lam - math.exp(-lam) / -math.expm1(-lam)  # 1/lam - 1/(e^lam - 1)
    x = d + c
    w = n * p / (1 - p)
    info = np.array([[w.sum(), -(w * x).sum()], [-(w * x).sum(), (w * x * x).sum()]])
    try:
        cov = phi * np.linalg.inv(info)
    except np.linalg.LinAlgError:
        return HalfLife(float(half), None, None, int(d.size), a, lam)
    grad = np.array([1 / lam, -half / lam])  # of d* = (ln 2 + alpha - ln pre) / lam
    var = float(grad @ cov @ grad)
    if not (var >= 0 and np.isfinite(var)):
        return HalfLife(float(half), None, None, int(d.size), a, lam)
    se_log = np.sqrt(var) / half
    t = float(stats.t.ppf(0.5 + level / 2, dof))
    return HalfLife(
        float(half), float(half * np.exp(-t * se_log)), float(half * np.exp(t * se_log)), int(d.size), a, lam
    )
