"""The replay of a fixed, ordered provider list over core_routing__application_daily's rows
(pipeline/lib/marts/routing_recommendations.py learns and validates the orders with it): the
rows as dense arrays per model, each row's pick under an order (the first listed provider that
fits and was available in the previous bucket, else the official API), and the greedy learning
of an order. Pure numpy."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import polars as pl


@dataclass
class _Model:
    """One model's per-application rows as dense arrays over its providers (P, by name)."""

    providers: list[str]
    official: str | None
    date: np.ndarray  # (R,) day index
    app: np.ndarray  # (R,) application
    w: np.ndarray  # weighted requests
    w_tools: np.ndarray
    routable: np.ndarray  # the official API serves it (not excluded)
    fit: np.ndarray  # (R, P)
    prev: np.ndarray  # (R, P) fits and available in the previous bucket
    own: np.ndarray  # (R, P) fits and available in the own bucket
    cost: np.ndarray  # (R, P) USD of the row's requests there (nan: not a candidate)
    wtps: np.ndarray  # (R, P) weight x decode tok/s there (nan: unknown)
    off_cost: np.ndarray  # (R,)
    off_wtps: np.ndarray
    oracle_cost: np.ndarray
    oracle_wtps: np.ndarray


def dense_rows(rows: pl.DataFrame, days: dict[dt.date, int], official: str | None) -> _Model:
    providers = sorted({p for lst in rows["providers"].drop_nulls().to_list() for p in lst})
    pos = {p: i for i, p in enumerate(providers)}
    n, k = rows.height, len(providers)
    fit = np.zeros((n, k), dtype=bool)
    prev, own = fit.copy(), fit.copy()
    cost = np.full((n, k), np.nan)
    wtps = np.full((n, k), np.nan)
    long = (
        rows.with_row_index("r")
        .filter(pl.col("providers").is_not_null())
        .select(
            "r",
            "mask",
            "own_ok_bits",
            "prev_ok_bits",
            "w_uncached_tokens",
            "w_cached_tokens",
            "w_output_tokens",
            "providers",
            "input_price",
            "cached_price",
            "output_price",
            "w_tps",
        )
        .with_columns(pl.int_ranges(0, pl.col("providers").list.len()).alias("i"))
        .explode("providers", "input_price", "cached_price", "output_price", "w_tps", "i")
    )
    if long.height:
        r = long["r"].to_numpy()
        c = np.array([pos[p] for p in long["providers"].to_list()], dtype=np.int64)
        bit = np.left_shift(np.int64(1), long["i"].to_numpy().astype(np.int64))
        fit[r, c] = (long["mask"].to_numpy() & bit) != 0
        prev[r, c] = (long["prev_ok_bits"].to_numpy() & bit) != 0
        own[r, c] = (long["own_ok_bits"].to_numpy() & bit) != 0
        cost[r, c] = (
            long["input_price"].to_numpy() * long["w_uncached_tokens"].to_numpy()
            + long["cached_price"].to_numpy() * long["w_cached_tokens"].to_numpy()
            + long["output_price"].to_numpy() * long["w_output_tokens"].to_numpy()
        ) / 1e6
        wtps[r, c] = long["w_tps"].fill_null(np.nan).to_numpy()
    f = lambda col: rows[col].cast(pl.Float64).fill_null(np.nan).to_numpy()  # noqa: E731
    return _Model(
        providers=providers,
        official=official,
        date=np.array([days[d] for d in rows["date"].to_list()], dtype=np.int64),
        app=rows["application"].to_numpy(),
        w=f("w_requests"),
        w_tools=f("w_tool_requests"),
        routable=~rows["excluded"].fill_null(True).to_numpy(),
        fit=fit,
        prev=prev,
        own=own,
        cost=cost,
        wtps=wtps,
        off_cost=f("official_cost_usd"),
        off_wtps=f("official_w_tps"),
        oracle_cost=f("cost_oracle_cost_usd"),
        oracle_wtps=f("throughput_oracle_w_tps"),
    )


def _values(m: _Model, rows: np.ndarray, objective: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """For `rows` (indices): the baseline value, each provider's value when it is picked (the
    official's when it is down in the own bucket), the oracle's value, and which rows count
    (routable, with a baseline value), for the objective. Cost is minimised, throughput maximised."""
    if objective == "cost":
        base, per, oracle = m.off_cost[rows], m.cost[rows], m.oracle_cost[rows]
    else:
        base, per, oracle = m.off_wtps[rows], m.wtps[rows], m.oracle_wtps[rows]
    eff = np.where(m.own[rows], per, base[:, None])
    eff = np.where(np.isnan(eff), base[:, None], eff)  # no value there: scored at the official (edge)
    ok = m.routable[rows] & np.isfinite(base)
    return base, eff, oracle, ok


def _picks(m: _Model, rows: np.ndarray, eff: np.ndarray, base: np.ndarray, order: list[str]) -> np.ndarray:
    """Each row's value under `order`: the first listed provider that fits it and was available in
    the previous bucket (its value, or the official's when it is down in the own bucket), else the
    official's."""
    value = base.copy()
    chosen = np.zeros(len(rows), dtype=bool)
    for p in order:
        if p not in m.providers:
            continue
        c = m.providers.index(p)
        pick = m.prev[rows, c] & ~chosen
        value[pick] = eff[pick, c]
        chosen |= pick
    return value


def learn_order(m: _Model, rows: np.ndarray, objective: str, allowed: list[str]) -> list[str]:
    """The order over the allowed providers (names) learned on `rows`: the better on those rows
    of two candidates, (1) greedy: add the provider whose addition improves the objective most
    until none does, (2) by ratio: every provider that beats the official on the requests it
    could take, best ratio first (cost: its USD over the official's on them; throughput: its
    weighted tok/s over the official's); on a tie the ratio order, which keeps more fallbacks.
    Both end with the official API when it is allowed."""
    base, eff, _, ok = _values(m, rows, objective)
    sign = -1.0 if objective == "cost" else 1.0
    gain_all = sign * (eff - base[:, None])  # what picking p gains at each row
    gain_all[~ok] = 0.0
    cands = sorted(p for p in allowed if p in m.providers)
    cols = {p: m.providers.index(p) for p in cands}
    scale = float(np.abs(base[ok]).sum()) or 1.0
    taken = np.zeros(len(rows), dtype=bool)
    greedy: list[str] = []
    while True:
        best, best_gain = None, 0.0
        for p in cands:
            if p in greedy:
                continue
            pick = m.prev[rows, cols[p]] & ~taken
            g = float(gain_all[pick, cols[p]].sum())
            if g > best_gain + 1e-12 * scale:  # strictly better; ties to the first by name
                best, best_gain = p, g
        if best is None:
            break
        greedy.append(best)
        taken |= m.prev[rows, cols[best]]
    ratios = []
    for p in cands:
        where = m.fit[rows, cols[p]] & ok
        mine, theirs = float(eff[where, cols[p]].sum()), float(base[where].sum())
        if where.any() and theirs > 0 and sign * (mine / theirs - 1) > 1e-12:
            ratios.append((-sign * mine / theirs, p))
    by_ratio = [p for _, p in sorted(ratios)]

    def total(order: list[str]) -> float:
        return sign * float(_picks(m, rows, eff, base, order)[ok].sum())

    order = by_ratio if total(by_ratio) >= total(greedy) - 1e-12 * scale else greedy
    if m.official in allowed and m.official not in order and m.official in m.providers:
        order = [*order, m.official]
    return order


def replay_order(m: _Model, rows: np.ndarray, objective: str, order: list[str], n_days: int):
    """Per day (index 0..n_days-1): the routed and the baseline sums over the counted rows, the
    oracle's, and the weighted requests, under the first-feasible rule with the official fallback."""
    base, eff, oracle, ok = _values(m, rows, objective)
    value = _picks(m, rows, eff, base, order)
    day = m.date[rows]
    keep = ok

    def per_day(x: np.ndarray) -> np.ndarray:
        return np.bincount(day[keep], weights=x[keep], minlength=n_days)

    return per_day(value), per_day(base), per_day(np.nan_to_num(oracle)), per_day(m.w[rows])
