-- marts.family_demand: one row per (period, family); period is a quarter (2025Q4) or a month (2025-11).
-- requests and tokens are sample-weighted; shares are of the period's total; rank 1 = most requests.
-- Parameters: $daily = core_demand__daily Parquet.
with daily as (
    select * from read_parquet($daily)
),

by_period as (
    select quarter as period, 'quarter' as period_type, family, requests, tokens from daily
    union all
    select month as period, 'month' as period_type, family, requests, tokens from daily
),

result as (
    select
        period,
        period_type,
        family,
        sum(requests) as requests,
        sum(tokens) as tokens,
        sum(requests) / sum(sum(requests)) over (partition by period) as request_share,
        sum(tokens) / sum(sum(tokens)) over (partition by period) as token_share,
        rank() over (partition by period order by sum(requests) desc) as rank
    from by_period
    group by period, period_type, family
)

-- no inf or nan is published: a figure that is not finite (a weight 1 / sample_rate past 1.8e308) is null
select * replace (
    case when isfinite(requests) then requests end as requests,
    case when isfinite(tokens) then tokens end as tokens,
    case when isfinite(request_share) then request_share end as request_share,
    case when isfinite(token_share) then token_share end as token_share
)
from result
order by period_type desc, period, rank
