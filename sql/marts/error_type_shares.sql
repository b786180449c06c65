-- marts.error_type_shares: one row per (period, error type) seen in the logged requests or the
-- latency probes: its errors in each source and their share of the source's errors in the
-- period, over every provider, with the type's class. The report's error-semantics table
-- (pipeline/lib/report/sections/reliability.py) only formats these rows.
--   request_errors: weighted request errors of the type (0 when none)
--   request_share: request_errors / all weighted request errors of the period (null when none)
--   probe_errors, probe_share: the same over the latency probes (counted)
-- Parameters: $error_matrix (mart file).
with by_source as (
    select
        period,
        period_type,
        source,
        error_type,
        min(error_class) as error_class,
        bool_and(held_against_provider) as held_against_provider,
        sum(errors) as errors
    from read_parquet($error_matrix)
    group by all
),

requests as (
    select * from by_source where source = 'requests'
),

probes as (
    select * from by_source where source = 'probes'
),

wide as (
    select
        coalesce(r.period, p.period) as period,
        coalesce(r.period_type, p.period_type) as period_type,
        coalesce(r.error_type, p.error_type) as error_type,
        coalesce(r.error_class, p.error_class) as error_class,
        coalesce(r.held_against_provider, p.held_against_provider) as held_against_provider,
        coalesce(r.errors, 0) as request_errors,
        coalesce(p.errors, 0) as probe_errors
    from requests as r
    full join probes as p
        on r.period = p.period and r.period_type = p.period_type and r.error_type = p.error_type
)

select
    period,
    period_type,
    error_type,
    error_class,
    held_against_provider,
    request_errors,
    request_errors / nullif(sum(request_errors) over (partition by period, period_type), 0) as request_share,
    probe_errors,
    probe_errors / nullif(sum(probe_errors) over (partition by period, period_type), 0) as probe_share
from wide
order by period_type desc, period, request_errors desc, error_type
