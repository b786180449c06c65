-- marts.application_regimes: one row per (period, application): the application's weighted
-- requests and their share of the period's, with the token quantiles and regime of
-- marts.task_regimes that the report's regime table shows, so that the table only formats rows.
-- The share is unknown (null) for every application of a period in which any application's
-- requests are unknown (a weight past the doubles), or whose requests sum to 0.
-- Parameters: $regimes = marts.task_regimes.
with totals as (
    select
        *,
        case
            when count(requests) over (partition by period, period_type) = count(*) over (partition by period, period_type)
                then sum(requests) over (partition by period, period_type)
        end as period_requests
    from read_parquet($regimes)
)

select
    period,
    period_type,
    application,
    requests,
    requests / nullif(period_requests, 0) as request_share,
    input_p50,
    input_p90,
    output_p50,
    output_p90,
    output_share,
    regime
from totals
order by period_type desc, period, requests desc, application
