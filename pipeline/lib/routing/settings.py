"""What a replay is asked: the policies, the scenario (a provider down, rate limits scaled) and the
routing parameters (bucket, availability rule, bootstrap)."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from statistics import NormalDist

POLICIES = (
    "official",
    "cost_oracle",
    "throughput_oracle",
    "cheapest",
    "fastest",
    "lowest_p90_ttft",
    "sort_price_with_retries",
    "price_weighted_balance",
    "cheapest_list_price",
    "frozen_cheapest",
    "frozen_fastest",
)


# The contract's (objective, policy) -> the policy column that implements it. `causal` chooses
# with the previous bucket, which is what a live gateway sorting by price or speed does; `frozen`
# keeps the provider order of the quarter's start (core_routing__frozen_orders) all quarter, what a
# gateway configured once does: causal against frozen is what staleness cost (issue 16).
CONTRACT_POLICIES = {
    ("cost", "oracle"): "cost_oracle",
    ("cost", "causal"): "cheapest",
    ("cost", "frozen"): "frozen_cheapest",
    ("throughput", "oracle"): "throughput_oracle",
    ("throughput", "causal"): "fastest",
    ("throughput", "frozen"): "frozen_fastest",
}


@dataclass(frozen=True)
class Scenario:
    """A what-if. The defaults replay what happened."""

    name: str = "observed"
    down_provider: str | None = None
    down_start: dt.datetime | None = None
    down_end: dt.datetime | None = None
    rate_limit_factor: float = 1.0
    price_asof: dt.datetime | None = None


@dataclass(frozen=True)
class RoutingParams:
    bucket_minutes: int = 60
    min_success: float = 0.9
    # down only when the bucket's probes show success below min_success at this one-sided
    # confidence (Wilson); 0: the contract's point rule (success rate >= min_success)
    availability_confidence: float = 0.95
    # models whose headline figures are also replayed under other availability rules, thresholds
    # and bucket sizes (marts.routing_sensitivity): the public study's headline cases
    sensitivity_models: tuple[str, ...] = ("qwen3-32b", "deepseek-v3.2")
    # cache hits a log does not show are estimated from the day's requests that report them, in
    # the finest cell (model x application, model, application, the day) with at least this many
    cache_min_reporting: int = 10
    # whether a failed attempt is billed is read from the day's logged failures of its provider
    # when it has at least this many, else from all of the day's (core_routing__failure_billing)
    failure_min_reporting: int = 10
    n_boot: int = 1000
    seed: int = 0
    models: tuple[str, ...] | None = field(default=None)
    # requests replayed per pass over the request files (whole days): bounds memory, which grows
    # with the number of groups (about 60k per million requests on the sample world), not requests
    chunk_rows: int = 30_000_000
    memory_limit: str = "2GB"


def availability_z(confidence: float) -> float:
    """The one-sided normal quantile of the availability rule; 0 for the point rule."""
    if not 0 <= confidence < 1:
        raise ValueError(f"availability confidence must be in [0, 1), got {confidence}")
    return NormalDist().inv_cdf(confidence) if confidence > 0.5 else 0.0


SCENARIO_FORMS = (
    "observed, provider_down:PROVIDER:START:END, rate_limits_xF (e.g. rate_limits_x2) or prices_asof:YYYY-MM-DD"
)


def _ts(text: str, what: str, scenario: str) -> dt.datetime:
    """An ISO date or time as a naive UTC datetime (the warehouse's timestamps are naive UTC)."""
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"scenario {scenario!r}: {what} {text!r} is not a date (YYYY-MM-DD) or time (YYYY-MM-DDTHH:MM)"
        ) from None
    return value.astimezone(dt.UTC).replace(tzinfo=None) if value.tzinfo else value


def _window(span: str, scenario: str) -> tuple[dt.datetime, dt.datetime]:
    """START:END, where either may be a time with colons of its own (2025-11-01T06:00:2025-11-02):
    the first split at a colon where both sides parse."""
    cuts = [i for i, ch in enumerate(span) if ch == ":"]
    if not cuts:
        raise ValueError(
            f"unknown scenario {scenario!r}: use provider_down:PROVIDER:START:END, e.g. provider_down:fireworks:2025-12-08:2025-12-15"
        )
    for i in cuts:
        try:
            return _ts(span[:i], "START", scenario), _ts(span[i + 1 :], "END", scenario)
        except ValueError:
            continue
    start, end = span[: cuts[0]], span[cuts[0] + 1 :]  # no split parses: name the first side that does not
    return _ts(start, "START", scenario), _ts(end, "END", scenario)


def parse_scenario(text: str | None) -> Scenario:
    """`observed` (default); `provider_down:PROVIDER:START:END` (ISO dates or times, END
    exclusive, after START); `rate_limits_x2` or `rate_limits_xF` (F >= 0); `prices_asof:DATE`
    (re-cost the same traffic at the prices in force at DATE). Raises ValueError with one line
    saying what is wrong. Whether the provider, model and dates exist in a warehouse is checked
    against its data by the CLI (pipeline/lib/cli_checks.py)."""
    if not text or text == "observed":
        return Scenario()
    kind, sep, rest = text.partition(":")
    if kind == "provider_down":
        provider, _, span = rest.partition(":")
        if not provider.strip() or not span:
            raise ValueError(
                f"unknown scenario {text!r}: use provider_down:PROVIDER:START:END, e.g. provider_down:fireworks:2025-12-08:2025-12-15"
            )
        start, end = _window(span, text)
        if end <= start:
            raise ValueError(
                f"scenario {text!r}: END {end:%Y-%m-%d %H:%M} must be after START {start:%Y-%m-%d %H:%M} (END is exclusive)"
            )
        return Scenario(text, down_provider=provider.strip(), down_start=start, down_end=end)
    if kind.startswith("rate_limits_x") and not sep:
        factor_text = kind.removeprefix("rate_limits_x")
        try:
            factor = float(factor_text)
        except ValueError:
            factor = float("nan")
        if not math.isfinite(factor) or factor < 0:
            raise ValueError(
                f"scenario {text!r}: the factor after rate_limits_x must be a number >= 0, e.g. rate_limits_x2"
            )
        return Scenario(text, rate_limit_factor=factor)
    if kind == "prices_asof":
        return Scenario(text, price_asof=_ts(rest, "DATE", text))
    raise ValueError(f"unknown scenario {text!r}: use {SCENARIO_FORMS}")
