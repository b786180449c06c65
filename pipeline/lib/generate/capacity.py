"""A planted capacity limit (issue 17): a world in which one provider refuses more of a model's
requests the more of them it is sent in an hour, so that the capacity model
(marts.provider_capacity) has a known truth and routing everything to the cheapest host is
penalised (marts.routing_capacity).

deepinfra, the cheapest third party of qwen3-32b in the sample world, refuses a request that no
other error took with the chance K x v / v_day: v the weighted requests (1 / sample_rate) it was
sent in the hour, v_day its mean over the day's hours with traffic. An average hour loses K = 6 %
of its requests to rate limits, a busy one more; sent twice its traffic, twice that: the line's
slope is K / v_day. Drawn after every other error (from the shifts' own generator), so the other
rows are those of the world without it.
"""

from __future__ import annotations

import numpy as np

MODEL, PROVIDER, K = "qwen3-32b", "deepinfra", 0.06
MODES = ("none", "planted")


def endpoint_capacity(eps: list[dict]) -> np.ndarray:
    """K per endpoint state of the planted (provider, model), 0 elsewhere."""
    return np.array([K if (e["provider"], e["model"]) == (PROVIDER, MODEL) else 0.0 for e in eps])


def refuse(
    ep_k: np.ndarray, ep: np.ndarray, hours: np.ndarray, weight: np.ndarray, err: np.ndarray, rng, code: int
) -> None:
    """Mark as rate-limited (`code`) the requests of one day a planted endpoint refuses."""
    k = ep_k[ep]
    limited = k > 0
    if not limited.any():
        return
    key = ep * 24 + hours
    volume = np.bincount(key[limited], weights=weight[limited], minlength=int(key.max()) + 1)
    v = volume[key]
    # each endpoint's mean over the day's hours with traffic (a handful of endpoints, not rows)
    mean_by_ep = np.ones(ep_k.size)
    for e in np.unique(ep[limited]):
        per_hour = volume[e * 24 : e * 24 + 24]
        mean_by_ep[e] = per_hour[per_hour > 0].mean()
    p = np.where(limited, np.minimum(k * v / mean_by_ep[ep], 0.9), 0.0)
    u = rng.random(ep.size)
    err[(err < 0) & (u < p)] = code


def planted_capacity() -> list[dict]:
    """The manifest's planted_capacity: the capacity-limited service object and its K."""
    return [{"model": MODEL, "provider": PROVIDER, "k": K}]
