-- core_routing__policy_daily: the additive pieces of marts.routing_policies per (day, model,
-- policy): weighted requests routed and excluded, weighted sums of cost, decode throughput and
-- success, and the weight of every TTFT value rounded to the millisecond (what the weighted p90
-- needs: TTFT is constant within a group, so the quantile over groups is the quantile over
-- requests; expected TTFTs of retries and balance are continuous, rounding keeps the table small).
-- Reads the temporary table `groups` (core_routing__groups, one row per group with every
-- policy's outcome), unpivoted. Every sum adds its terms in a canonical order (the terms sorted
-- as structs), so a day's pieces are the same bits whichever other days are replayed with it and
-- whichever thread saw which group.
with per_policy as (
    select date, model, excluded, w_requests, unnest([
        {'policy': 'official', 'cost': official_cost_usd, 'tps': official_decode_tps, 'ttft': official_ttft_ms, 'success': official_success_prob},
        {'policy': 'cost_oracle', 'cost': cost_oracle_cost_usd, 'tps': cost_oracle_decode_tps, 'ttft': cost_oracle_ttft_ms,
         'success': cost_oracle_success_prob},
        {'policy': 'throughput_oracle', 'cost': throughput_oracle_cost_usd, 'tps': throughput_oracle_decode_tps, 'ttft': throughput_oracle_ttft_ms,
         'success': throughput_oracle_success_prob},
        {'policy': 'cheapest', 'cost': cheapest_cost_usd, 'tps': cheapest_decode_tps, 'ttft': cheapest_ttft_ms, 'success': cheapest_success_prob},
        {'policy': 'fastest', 'cost': fastest_cost_usd, 'tps': fastest_decode_tps, 'ttft': fastest_ttft_ms, 'success': fastest_success_prob},
        {'policy': 'lowest_p90_ttft', 'cost': lowest_p90_ttft_cost_usd, 'tps': lowest_p90_ttft_decode_tps, 'ttft': lowest_p90_ttft_ttft_ms,
         'success': lowest_p90_ttft_success_prob},
        {'policy': 'sort_price_with_retries', 'cost': sort_price_with_retries_cost_usd, 'tps': sort_price_with_retries_decode_tps,
         'ttft': sort_price_with_retries_ttft_ms, 'success': sort_price_with_retries_success_prob},
        {'policy': 'price_weighted_balance', 'cost': price_weighted_balance_cost_usd, 'tps': price_weighted_balance_decode_tps,
         'ttft': price_weighted_balance_ttft_ms, 'success': price_weighted_balance_success_prob},
        {'policy': 'cheapest_list_price', 'cost': cheapest_list_price_cost_usd, 'tps': cheapest_list_price_decode_tps,
         'ttft': cheapest_list_price_ttft_ms, 'success': cheapest_list_price_success_prob},
        {'policy': 'frozen_cheapest', 'cost': frozen_cheapest_cost_usd, 'tps': frozen_cheapest_decode_tps,
         'ttft': frozen_cheapest_ttft_ms, 'success': frozen_cheapest_success_prob},
        {'policy': 'frozen_fastest', 'cost': frozen_fastest_cost_usd, 'tps': frozen_fastest_decode_tps,
         'ttft': frozen_fastest_ttft_ms, 'success': frozen_fastest_success_prob}
    ]) as o
    from groups
),


-- the terms of one (day, model, policy, TTFT) in a canonical order (sorted as structs), summed
terms as (
    select
        date,
        model,
        o.policy,
        round(o.ttft) as ttft_ms,
        list_sort(list({'excluded': excluded, 'w': w_requests, 'cost': o.cost, 'tps': o.tps, 'success': o.success})) as terms
    from per_policy
    group by date, model, o.policy, round(o.ttft)
)

select
    date,
    month_label(date) as month,
    quarter_label(date) as quarter,
    model,
    policy,
    ttft_ms,
    coalesce(list_sum(list_transform(list_filter(terms, t -> not t.excluded), t -> t.w)), 0) as routed,
    coalesce(list_sum(list_transform(list_filter(terms, t -> t.excluded), t -> t.w)), 0) as excluded,
    coalesce(list_sum(list_transform(list_filter(terms, t -> not t.excluded), t -> t.cost)), 0) as cost_sum,
    coalesce(list_sum(list_transform(list_filter(terms, t -> not t.excluded), t -> t.w * t.tps)), 0) as tps_sum,
    coalesce(list_sum(list_transform(list_filter(terms, t -> not t.excluded and t.tps is not null), t -> t.w)), 0) as tps_weight,
    coalesce(list_sum(list_transform(list_filter(terms, t -> not t.excluded), t -> t.w * t.success)), 0) as success_sum
from terms
order by date, model, policy, ttft_ms
