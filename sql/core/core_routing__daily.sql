-- core_routing__daily: per (day, model, objective, contract policy) the weighted sums that
-- routing_counterfactual and its paired day-bootstrap need, over the requests where both the
-- baseline and the routed value exist. Reads the temporary table `outcomes` (one row per request).
-- The contract's policies map onto the replayed ones (pipeline/lib/routing.py CONTRACT_POLICIES):
-- cost/oracle = cost_oracle, cost/causal = cheapest, throughput/oracle = throughput_oracle,
-- throughput/causal = fastest; the baseline is `official`.
-- cost: routed_sum and base_sum are total USD; throughput: weighted sums of decode tok/s, so
-- their ratio is the ratio of weighted means over the same requests.
with pairs as (
    select date, month, quarter, model, w, excluded, official_provider, 'cost' as objective, 'oracle' as policy,
           cost_oracle_cost as routed, official_cost as base
    from outcomes
    union all
    select date, month, quarter, model, w, excluded, official_provider, 'cost', 'causal', cheapest_cost, official_cost
    from outcomes
    union all
    select date, month, quarter, model, w, excluded, official_provider, 'throughput', 'oracle', throughput_oracle_tps, official_tps
    from outcomes
    union all
    select date, month, quarter, model, w, excluded, official_provider, 'throughput', 'causal', fastest_tps, official_tps
    from outcomes
)

select
    date,
    month,
    quarter,
    model,
    objective,
    policy,
    any_value(official_provider) as baseline_provider,
    coalesce(sum(w) filter (where not excluded and routed is not null and base is not null), 0) as routed,
    coalesce(sum(w) filter (where excluded or routed is null or base is null), 0) as excluded,
    coalesce(sum(w * routed) filter (where not excluded and routed is not null and base is not null), 0) as routed_sum,
    coalesce(sum(w * base) filter (where not excluded and routed is not null and base is not null), 0) as base_sum
from pairs
group by all
