-- core_routing__capacity: per day, hour, model, policy and the provider the policy chose, what
-- the replay sent there (the pass's `groups`, those the official provider can serve):
-- weighted requests, their cost under the policy (and of their input tokens alone: what a refused
-- attempt is billed where the provider bills refusals) and at the official API, and weight x decode
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
        w_uncached_tokens,
        w_cached_tokens,
        official_cost_usd as cost_off,
        w_requests * official_decode_tps as tpsw_off,
        unnest([
            {'policy': 'cost_oracle', 'provider': cost_oracle_provider, 'cost': cost_oracle_cost_usd,
                'tps': cost_oracle_decode_tps,
                'input': cost_oracle_input_usd_per_mtok, 'cached': cost_oracle_cached_input_usd_per_mtok},
            {'policy': 'throughput_oracle', 'provider': throughput_oracle_provider,
                'cost': throughput_oracle_cost_usd, 'tps': throughput_oracle_decode_tps,
                'input': throughput_oracle_input_usd_per_mtok, 'cached': throughput_oracle_cached_input_usd_per_mtok},
            {'policy': 'cheapest', 'provider': cheapest_provider, 'cost': cheapest_cost_usd,
                'tps': cheapest_decode_tps,
                'input': cheapest_input_usd_per_mtok, 'cached': cheapest_cached_input_usd_per_mtok},
            {'policy': 'fastest', 'provider': fastest_provider, 'cost': fastest_cost_usd,
                'tps': fastest_decode_tps,
                'input': fastest_input_usd_per_mtok, 'cached': fastest_cached_input_usd_per_mtok},
            {'policy': 'lowest_p90_ttft', 'provider': lowest_p90_ttft_provider, 'cost': lowest_p90_ttft_cost_usd,
                'tps': lowest_p90_ttft_decode_tps,
                'input': lowest_p90_ttft_input_usd_per_mtok, 'cached': lowest_p90_ttft_cached_input_usd_per_mtok},
            {'policy': 'cheapest_list_price', 'provider': cheapest_list_price_provider,
                'cost': cheapest_list_price_cost_usd, 'tps': cheapest_list_price_decode_tps,
                'input': cheapest_list_price_input_usd_per_mtok, 'cached': cheapest_list_price_cached_input_usd_per_mtok},
            {'policy': 'frozen_cheapest', 'provider': frozen_cheapest_provider, 'cost': frozen_cheapest_cost_usd,
                'tps': frozen_cheapest_decode_tps,
                'input': frozen_cheapest_input_usd_per_mtok, 'cached': frozen_cheapest_cached_input_usd_per_mtok},
            {'policy': 'frozen_fastest', 'provider': frozen_fastest_provider, 'cost': frozen_fastest_cost_usd,
                'tps': frozen_fastest_decode_tps,
                'input': frozen_fastest_input_usd_per_mtok, 'cached': frozen_fastest_cached_input_usd_per_mtok}
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
    sum((p.input * w_uncached_tokens + p.cached * w_cached_tokens) / 1e6) as cost_input_policy,
    sum(cost_off) as cost_official,
    sum(w * p.tps) as tpsw_policy,
    sum(tpsw_off) as tpsw_official
from picks
where p.provider is not null
group by all
