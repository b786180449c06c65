"""Counterfactual routing (issue 5; issue 13, "routing at scale"): replay the logged requests
under routing policies, by groups of requests that every policy treats alike.

Within a slot (model, segment of unchanged endpoints and prices, time bucket) every policy's choice
depends only on which candidates fit a request (its fit mask) and, for the price-ranked policies,
on the order of what the request costs on each candidate, which is linear in its tokens. So the
requests are counted per (day, slot, sample rate, fit mask, cost order) with exact integer token
sums, each policy decides once per group, and outcomes follow by linearity (cost = effective
prices x weighted token sums; throughput, TTFT and success are constant per group). All
set-based in DuckDB, one pass over the requests (sql/core/core_routing__*.sql):

    segments -> segment_lists -> pieces (+ bucket_state from the probes) -> slots
    requests x pieces -> request_groups -> decisions -> groups -> daily, policy_daily

`replay_days` recomputes a list of days and replaces, atomically per day, the per-day partials
under the working root:

    core/core_routing__daily/date=D/        per-day sums of the contract counterfactual (bootstrap unit)
    core/core_routing__policy_daily/date=D/ additive pieces of marts.routing_policies (p90 TTFT weights too)
    marts/routing_groups/date=D/            the grouped decisions (published; one row per group x policy)
    marts/routing_segments.parquet          each segment's candidates as lists (published; what the
                                            view marts.routing_decisions needs to place a request)
    marts/routing_decisions/date=D/         per-request decisions, only when asked (write_decisions)

and the marts (routing_policies, routing_counterfactual) are rebuilt from every day's partials in
date order, so a mart built after replaying one day again is the one a full rebuild gives.

The package, by what each part does: settings (policies, scenario, parameters), layout (the
per-day partials on disk), replay (the passes over the requests), marts (the marts from the
partials, and the entry points), sensitivity (marts.routing_sensitivity).
"""

from __future__ import annotations

from pipeline.lib.marts.routing_counterfactual import imputation_var
from pipeline.lib.routing.layout import PARTIALS, partial_dir, replace_dir, staged_days, write_day_frames
from pipeline.lib.routing.marts import (
    COUNTERFACTUAL_SCHEMA,
    DAILY_SCHEMA,
    build_counterfactual,
    build_policies,
    build_replay,
    build_routing,
    counterfactual,
    policy_summary,
    read_partials,
    simulate,
)
from pipeline.lib.routing.replay import make_table, replay_days, routable_models, slot_tables, slot_values
from pipeline.lib.routing.settings import (
    CONTRACT_POLICIES,
    POLICIES,
    RoutingParams,
    Scenario,
    availability_z,
    parse_scenario,
)

__all__ = [
    "CONTRACT_POLICIES",
    "COUNTERFACTUAL_SCHEMA",
    "DAILY_SCHEMA",
    "PARTIALS",
    "POLICIES",
    "RoutingParams",
    "Scenario",
    "availability_z",
    "build_counterfactual",
    "build_policies",
    "build_replay",
    "build_routing",
    "counterfactual",
    "imputation_var",
    "make_table",
    "parse_scenario",
    "partial_dir",
    "policy_summary",
    "read_partials",
    "replace_dir",
    "replay_days",
    "routable_models",
    "simulate",
    "slot_tables",
    "slot_values",
    "staged_days",
    "write_day_frames",
]
