-- core_routing__capacity: per day, hour, model, policy and the provider the policy chose, what
-- the replay sent there (the pass's `groups`, those the official provider can serve):
-- weighted requests, their cost under the policy and at the official API, and weight x decode
-- tok/s both ways. What marts.routing_capacity needs to charge a provider the rate limits its
-- own logs say it adds when sent more traffic. The policies that send a group to one provider;
-- sort_price_with_retries and price_weighted_balance spread a group over several and are left out.
-- Written in the replay's pass, one partition per day. Reads the temporary table `groups`.
with picks as (
    select
        date,
        date_trunc('hour', bucket) as hour,
        model,
        official_provider,
        w_requests as w,
        official_cost_usd as cost_off,
        w_requests * official_decode_tps as tpsw_off,
        unnest([
            {'policy': 'cost_oracle', 'provider': cost_oracle_provider, 'cost': cost_oracle_cost_usd,
                'tps': cost_oracle_decode_tps},
            {'policy': 'throughput_oracle', 'provider': throughput_oracle_provider,
                'cost': throughput_oracle_cost_usd, 'tps': throughput_oracle_decode_tps},
            {'policy': 'cheapest', 'provider': cheapest_provider, 'cost': cheapest_cost_usd,
                'tps': cheapest_decode_tps},
            {'policy': 'fastest', 'provider': fastest_provider, 'cost': fastest_cost_usd,
                'tps': fastest_decode_tps},
            {'policy': 'lowest_p90_ttft', 'provider': lowest_p90_ttft_provider, 'cost': lowest_p90_ttft_cost_usd,
                'tps': lowest_p90_ttft_decode_tps},
            {'policy': 'cheapest_list_price', 'provider': cheapest_list_price_provider,
                'cost': cheapest_list_price_cost_usd, 'tps': cheapest_list_price_decode_tps},
            {'policy': 'frozen_cheapest', 'provider': frozen_cheapest_provider, 'cost': frozen_cheapest_cost_usd,
                'tps': frozen_cheapest_decode_tps},
            {'policy': 'frozen_fastest', 'provider': frozen_fastest_provider, 'cost': frozen_fastest_cost_usd,
                'tps': frozen_fastest_decode_tps}
        ]) as p
    from groups
    where not excluded
)

select
    date,
    hour,
    model,
    p.policy,
    p.provider,
    p.provider = official_provider as is_official,
    sum(w) as w,
    sum(p.cost) as cost_policy,
    sum(cost_off) as cost_official,
    sum(w * p.tps) as tpsw_policy,
    sum(tpsw_off) as tpsw_official
from picks
where p.provider is not null
group by all
