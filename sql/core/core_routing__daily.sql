-- core_routing__daily: per (day, model, objective, contract policy) the weighted sums that
-- routing_counterfactual and its paired day-bootstrap need, over the requests where both the
-- baseline and the routed value exist. Reads the temporary table `groups` (core_routing__groups,
-- one row per group with every policy's outcome): every request of a group has the same outcome,
-- so a day's sums are sums over its groups (cost: the group totals; throughput: the group's
-- weight x its value).
-- The contract's policies map onto the replayed ones (pipeline/lib/routing.py CONTRACT_POLICIES):
-- cost/oracle = cost_oracle, cost/causal = cheapest, throughput/oracle = throughput_oracle,
-- throughput/causal = fastest; the baseline is `official`. imputed: the routed requests
-- (weighted) whose cache hits were estimated (core_routing__cache_rates).
-- cost: routed_sum and base_sum are total USD; throughput: weighted sums of decode tok/s, so
-- their ratio is the ratio of weighted means over the same requests (the contract's
-- per-request mean). For throughput also the totals: output_tokens (weighted) and the decode
-- seconds they take routed and at the baseline (tokens / the provider's decode tok/s), whose
-- ratio is the tokens-per-second of the traffic as a whole (token-weighted); null for cost.
-- Every sum adds its terms in ascending order (list_sum of a sorted list), so a day's sums are the
-- same bits whichever other days are replayed with it and whichever thread saw which group.
with pairs as (
    select date, model, official_provider, w_requests as w, w_imputed_requests as w_imputed, excluded, 'cost' as objective,
           'oracle' as policy, cost_oracle_cost_usd as routed, official_cost_usd as base,
           null::double as tokens, null::double as routed_s, null::double as base_s
    from groups
    union all
    select date, model, official_provider, w_requests, w_imputed_requests, excluded, 'cost', 'causal', cheapest_cost_usd, official_cost_usd,
           null, null, null
    from groups
    union all
    select date, model, official_provider, w_requests, w_imputed_requests, excluded, 'throughput', 'oracle',
           w_requests * throughput_oracle_decode_tps, w_requests * official_decode_tps,
           w_output_tokens, w_output_tokens / nullif(throughput_oracle_decode_tps, 0), w_output_tokens / nullif(official_decode_tps, 0)
    from groups
    union all
    select date, model, official_provider, w_requests, w_imputed_requests, excluded, 'throughput', 'causal',
           w_requests * fastest_decode_tps, w_requests * official_decode_tps,
           w_output_tokens, w_output_tokens / nullif(fastest_decode_tps, 0), w_output_tokens / nullif(official_decode_tps, 0)
    from groups
),

flagged as (
    select *, not excluded and routed is not null and base is not null as paired from pairs
)

select
    date,
    month_label(date) as month,
    quarter_label(date) as quarter,
    model,
    objective,
    policy,
    max(official_provider) filter (where not excluded) as baseline_provider,
    coalesce(list_sum(list_sort(list(w) filter (where paired))), 0) as routed,
    coalesce(list_sum(list_sort(list(w) filter (where not paired))), 0) as excluded,
    coalesce(list_sum(list_sort(list(w_imputed) filter (where paired))), 0) as imputed,
    coalesce(list_sum(list_sort(list(routed) filter (where paired))), 0) as routed_sum,
    coalesce(list_sum(list_sort(list(base) filter (where paired))), 0) as base_sum,
    list_sum(list_sort(list(tokens) filter (where paired))) as output_tokens,
    list_sum(list_sort(list(routed_s) filter (where paired))) as routed_decode_s,
    list_sum(list_sort(list(base_s) filter (where paired))) as base_decode_s
from flagged
group by date, model, objective, policy
order by date, model, objective, policy
