-- marts.application_token_density: one row per (period, application, log2 input bin, log2 output
-- bin): the bin's weighted requests as a share of the application's in the period, with the
-- application's regime, for the report's 2-D density charts (marts.task_regimes_histogram's
-- bins; the regime from marts.task_regimes, null when it has none for the application).
-- Parameters: $histogram = marts.task_regimes_histogram, $regimes = marts.task_regimes.
with bins as (
    select
        *,
        requests / sum(requests) over (partition by period, period_type, application) as share
    from read_parquet($histogram)
)

select
    b.period,
    b.period_type,
    b.application,
    r.regime,
    b.input_bin,
    b.output_bin,
    b.requests,
    -- no inf or nan is published: a share of an application without known requests is null
    case when isfinite(b.share) then b.share end as share
from bins as b
left join read_parquet($regimes) as r
    on b.period = r.period and b.period_type = r.period_type and b.application = r.application
order by b.period_type desc, b.period, b.application, b.input_bin, b.output_bin
