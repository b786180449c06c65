-- marts.supply_use: one row per (period, model) for every model listed or used in the period.
-- listing_breadth = providers listing the model, averaged over the period's days (a provider
-- lists a model on a day when one of its endpoint rows is valid at some time that day);
-- demand_share = the model's share of the period's weighted requests; provider_top1_share
-- and provider_hhi = how concentrated the model's own traffic is across its providers.
-- Parameters: $daily = core_demand__daily, $endpoints, $models = staged files.
with days as (
    select distinct date, month, quarter from read_parquet($daily)
),

periods as (
    select date, quarter as period, 'quarter' as period_type from days
    union all
    select date, month as period, 'month' as period_type from days
),

n_days as (
    select period, count(*) as n from periods group by all
),

listing as (
    select p.period, p.period_type, e.model, p.date, count(distinct e.provider) as providers
    from periods as p
    inner join read_parquet($endpoints) as e
        on e.valid_from < cast(p.date + 1 as timestamp) and (e.valid_to is null or e.valid_to > cast(p.date as timestamp))
    group by all
),

breadth as (
    select l.period, l.period_type, l.model, sum(l.providers) / any_value(n.n) as listing_breadth, count(*) as days_listed
    from listing as l
    inner join n_days as n using (period)
    group by all
),

demand as (
    select p.period, p.period_type, d.model, d.provider, sum(d.requests) as requests
    from read_parquet($daily) as d
    inner join periods as p using (date)
    group by all
),

model_demand as (
    select
        period, period_type, model,
        sum(requests) as requests,
        count(*) as providers_used,
        max(requests) / sum(requests) as provider_top1_share,
        sum(requests * requests) / (sum(requests) * sum(requests)) as provider_hhi
    from demand
    group by all
),

totals as (
    select period, sum(requests) as total from demand group by all
),

result as (
    select
        coalesce(b.period, md.period) as period,
        coalesce(b.period_type, md.period_type) as period_type,
        coalesce(b.model, md.model) as model,
        m.family,
        coalesce(b.listing_breadth, 0) as listing_breadth,
        coalesce(b.days_listed, 0) as days_listed,
        coalesce(md.requests, 0) as requests,
        coalesce(md.requests, 0) / t.total as demand_share,
        coalesce(md.providers_used, 0) as providers_used,
        md.provider_top1_share,
        md.provider_hhi
    from breadth as b
    full outer join model_demand as md on md.period = b.period and md.model = b.model
    inner join totals as t on t.period = coalesce(b.period, md.period)
    left join read_parquet($models) as m on m.model = coalesce(b.model, md.model)
)

-- no inf or nan is published: a figure that is not finite (a weight 1 / sample_rate past 1.8e308) is null
select * replace (
    case when isfinite(listing_breadth) then listing_breadth end as listing_breadth,
    case when isfinite(requests) then requests end as requests,
    case when isfinite(demand_share) then demand_share end as demand_share,
    case when isfinite(provider_top1_share) then provider_top1_share end as provider_top1_share,
    case when isfinite(provider_hhi) then provider_hhi end as provider_hhi
)
from result
order by period_type desc, period, demand_share desc
