-- marts.routing_policies: one row per (period, model, policy) of the scenario: the replayed traffic's
-- total cost, mean decode throughput, p90 TTFT and expected success rate, and the change of cost
-- and throughput against the official policy on the same requests. Weighted by 1 / sample_rate;
-- p90_ttft_ms is the weighted 90th percentile over requests of the TTFT each would have seen
-- (the serving provider's median TTFT in the request's bucket, to the millisecond): the smallest
-- value whose cumulative weight reaches 90 %.
-- Reads the temporary table `policy_daily` (core_routing__policy_daily of every replayed day).
-- Run single-threaded over the pieces in date order (pipeline/lib/routing/marts.py policy_summary), so
-- the mart is the same bits whether it is built after a full replay or after replaying some days.
-- Parameters: $scenario.
with totals as (
    select
        coalesce(quarter, month) as period,
        case when grouping(quarter) = 0 then 'quarter' else 'month' end as period_type,
        model,
        policy,
        sum(routed) as requests_routed,
        sum(excluded) as requests_excluded,
        sum(cost_sum) as total_cost_usd,
        sum(tps_sum) / nullif(sum(tps_weight), 0) as mean_decode_tps,
        sum(success_sum) / nullif(sum(routed), 0) as expected_success_rate
    from policy_daily
    group by grouping sets ((quarter, model, policy), (month, model, policy))
),

ttft_weights as (
    select coalesce(quarter, month) as period, model, policy, ttft_ms, sum(routed) as w
    from policy_daily
    where ttft_ms is not null
    group by grouping sets ((quarter, model, policy, ttft_ms), (month, model, policy, ttft_ms))
),

ttft_p90 as (
    select period, model, policy, min(ttft_ms) as p90_ttft_ms
    from (
        select
            *,
            sum(w) over (partition by period, model, policy order by ttft_ms) / sum(w) over (partition by period, model, policy) as cum
        from ttft_weights
    ) as ranked
    where cum >= 0.9 - 1e-12
    group by all
),

result as (
    select
        t.period,
        t.period_type,
        t.model,
        t.policy,
        $scenario as scenario,
        t.requests_routed,
        t.requests_excluded,
        case when t.requests_routed > 0 then t.total_cost_usd end as total_cost_usd,
        t.mean_decode_tps,
        q.p90_ttft_ms,
        t.expected_success_rate,
        100 * (t.total_cost_usd / nullif(o.total_cost_usd, 0) - 1) as cost_change_pct,
        100 * (t.mean_decode_tps / nullif(o.mean_decode_tps, 0) - 1) as tps_change_pct
    from totals as t
    left join ttft_p90 as q on q.period = t.period and q.model = t.model and q.policy = t.policy
    left join totals as o on o.period = t.period and o.model = t.model and o.policy = 'official'
)

-- no inf or nan is published: a cost past 1.8e308 (2^62 tokens at 1e308 USD/Mtok), a weight
-- 1 / sample_rate past it, and the changes computed from them are null
select * replace (
    case when isfinite(requests_routed) then requests_routed end as requests_routed,
    case when isfinite(requests_excluded) then requests_excluded end as requests_excluded,
    case when isfinite(total_cost_usd) then total_cost_usd end as total_cost_usd,
    case when isfinite(mean_decode_tps) then mean_decode_tps end as mean_decode_tps,
    case when isfinite(p90_ttft_ms) then p90_ttft_ms end as p90_ttft_ms,
    case when isfinite(expected_success_rate) then expected_success_rate end as expected_success_rate,
    case when isfinite(cost_change_pct) then cost_change_pct end as cost_change_pct,
    case when isfinite(tps_change_pct) then tps_change_pct end as tps_change_pct
)
from result
order by period_type desc, period, model, policy
