-- marts.request_rate_ranking: one row per (period, provider, model) service object with logged
-- requests (a request error rate): its provider-fault and rate-limit rates with their 95 %
-- intervals, its rank by provider-fault rate in the period, and how many service objects of the
-- period have requests and how many of them are thin. The report lists the top of the ranking
-- (pipeline/lib/report/sections/reliability.py) and only formats these rows.
--   fault_rank: 1 for the highest request_error_rate of the period (ties: provider, model)
--   service_objects_with_requests, thin_service_objects: the period's counts, on every row
-- Parameters: $service_objects (mart file).
with rated as (
    select
        period,
        period_type,
        provider,
        model,
        requests_effective,
        thin,
        request_error_rate,
        request_error_rate_ci_low,
        request_error_rate_ci_high,
        rate_limit_rate,
        rate_limit_rate_ci_low,
        rate_limit_rate_ci_high
    from read_parquet($service_objects)
    where request_error_rate is not null
)

select
    *,
    row_number() over (
        partition by period, period_type order by request_error_rate desc, provider, model
    ) as fault_rank,
    count(*) over (partition by period, period_type) as service_objects_with_requests,
    count(*) filter (where thin) over (partition by period, period_type) as thin_service_objects
from rated
order by period_type desc, period, fault_rank
