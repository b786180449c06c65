-- core_routing__policy_daily: the additive pieces of marts.routing_policies for one chunk of
-- requests, per (day, model, policy): weighted requests routed and excluded, weighted sums of
-- cost, decode throughput and success, and the weight of every TTFT value rounded to the
-- millisecond (for the weighted p90: expected TTFTs of retries and balance are continuous, and
-- unrounded they would make one row per request). Reads the temporary view `decisions` (the
-- long form of sql/views/routing_decisions.sql); period labels are added after grouping.
with per_day as (
    select
        date,
        model,
        policy,
        round(ttft_ms) as ttft_ms,
        coalesce(sum(w) filter (where not excluded), 0) as routed,
        coalesce(sum(w) filter (where excluded), 0) as excluded,
        coalesce(sum(w * cost_usd) filter (where not excluded), 0) as cost_sum,
        coalesce(sum(w * decode_tps) filter (where not excluded), 0) as tps_sum,
        coalesce(sum(w) filter (where not excluded and decode_tps is not null), 0) as tps_weight,
        coalesce(sum(w * success_prob) filter (where not excluded), 0) as success_sum
    from decisions
    group by all
)

select
    date, month_label(date) as month, quarter_label(date) as quarter, model, policy, ttft_ms,
    routed, excluded, cost_sum, tps_sum, tps_weight, success_sum
from per_day
