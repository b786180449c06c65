-- marts.pareto_by_provider: one row per (period, provider) with a placed service object in
-- marts.service_pareto (one with a price, a decode p50 and a success rate): how many of its
-- service objects are placed and how many dominated, and the period's totals over every
-- provider. The report's Pareto sentence (pipeline/lib/report/sections/heterogeneity.py) only
-- formats these rows.
--   placed, dominated: the provider's placed and dominated service objects
--   period_placed, period_dominated: the same over every provider of the period, on every row
-- Parameters: $service_pareto (mart file).
with counted as (
    select
        period,
        period_type,
        provider,
        count(*) as placed,
        count(*) filter (where dominated) as dominated
    from read_parquet($service_pareto)
    where dominated is not null
    group by all
)

select
    *,
    sum(placed) over (partition by period, period_type)::bigint as period_placed,
    sum(dominated) over (partition by period, period_type)::bigint as period_dominated
from counted
order by period_type desc, period, provider
