"""Small statistics shared by the marts: rank correlation with a bootstrap interval."""

from __future__ import annotations

import numpy as np
from scipy.stats import rankdata


def spearman_rows(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Spearman's rho of every row pair (x[b], y[b]): Pearson's r of average ranks."""
    rx, ry = rankdata(x, axis=1), rankdata(y, axis=1)
    rx -= rx.mean(axis=1, keepdims=True)
    ry -= ry.mean(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (rx * ry).sum(axis=1) / np.sqrt((rx**2).sum(axis=1) * (ry**2).sum(axis=1))


def spearman_ci(x: np.ndarray, y: np.ndarray, n_boot: int = 1000, seed: int = 0, level: float = 0.95) -> tuple[float, float, float]:
    """rho and its percentile bootstrap interval, resampling the units (pairs) with replacement.
    NaN where there are fewer than 3 units; resamples with no spread in x or y are dropped."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if x.size < 3:
        return float("nan"), float("nan"), float("nan")
    rho = float(spearman_rows(x[None, :], y[None, :])[0])
    idx = np.random.default_rng(seed).integers(0, x.size, size=(n_boot, x.size))
    boot = spearman_rows(x[idx], y[idx])
    alpha = (1 - level) / 2
    lo, hi = np.nanquantile(boot, [alpha, 1 - alpha])
    return rho, float(lo), float(hi)
