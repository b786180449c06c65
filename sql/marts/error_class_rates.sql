-- marts.error_class_rates: one row per (period, provider, error class) with logged request
-- errors: the provider's weighted request errors of the class as a share of its weighted
-- requests, and its rate over all classes. The report draws them as stacked bars per provider
-- (pipeline/lib/report/sections/reliability.py) and only formats these rows.
--   rate: the class's errors / the provider's attempts (client errors stay in the denominator)
--   provider_rate: the sum of rate over the provider's classes (what the bars are sorted by)
-- Parameters: $error_matrix (mart file).
with by_class as (
    select
        period,
        period_type,
        provider,
        error_class,
        sum(rate) as rate
    from read_parquet($error_matrix)
    where source = 'requests'
    group by all
)

select
    period,
    period_type,
    provider,
    error_class,
    rate,
    sum(rate) over (partition by period, period_type, provider) as provider_rate
from by_class
order by period_type desc, period, provider, error_class
