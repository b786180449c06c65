-- marts.routing_policy_summary: one row per (period, policy, scenario): marts.routing_policies
-- over its models, so that the report's policy table only formats rows. The requests and the
-- cost are sums over the models; the changes are the median over the models of each model's
-- change against the official policy (not the change of the totals: marts.routing_totals has
-- that, with intervals); the success rate is the lowest of any model.
-- Sums over no value are 0, not null: a policy that routed nothing cost nothing.
-- A routing_policies without period_type (an older or hand-made one) gets it from its period's label.
-- Parameters: $policies = marts.routing_policies.
with policies as (
    select * from read_parquet($policies)
    union all by name
    select null::varchar as period_type
    where false
)

select
    period,
    coalesce(period_type, if(regexp_full_match(period, '\d{4}Q[1-4]'), 'quarter', 'month')) as period_type,
    policy,
    scenario,
    count(*) as models,
    coalesce(sum(requests_routed), 0) as requests_routed,
    coalesce(sum(requests_excluded), 0) as requests_excluded,
    coalesce(sum(total_cost_usd), 0) as total_cost_usd,
    median(cost_change_pct) as median_cost_change_pct,
    median(tps_change_pct) as median_tps_change_pct,
    min(expected_success_rate) as lowest_success_rate
from policies
group by all
order by period_type desc, period, policy, scenario
