-- marts.error_matrix: one row per (period, provider, source, error_type) with at least one error:
-- how often each provider fails, and how, seen by the traffic (source `requests`, weighted) and
-- by the probes (source `probes`). rate = errors / attempts of that provider in the period over
-- every model it served; `held_against_provider` is false for client errors (auth,
-- invalid_request) and `rate_limit` is kept apart (its class), as in service_objects.
-- Parameters: $probes = glob of staged latency_probes, $hourly = core_requests__hourly Parquet.
with req as (
    select
        coalesce(quarter, month) as period,
        case when grouping(quarter) = 0 then 'quarter' else 'month' end as period_type,
        provider,
        sum(requests) as attempts,
        sum(rate_limit) as rate_limit,
        sum(timeout) as timeout,
        sum(server_error) as server_error,
        sum(context_overflow) as context_overflow,
        sum(invalid_request) as invalid_request,
        sum(auth) as auth,
        sum(content_filter) as content_filter,
        sum(other) as other
    from read_parquet($hourly)
    group by grouping sets ((quarter, provider), (month, provider))
),

req_long as (
    unpivot req
    on rate_limit, timeout, server_error, context_overflow, invalid_request, auth, content_filter, other
    into name error_type value errors
),

probes as (
    select
        provider,
        month_label(date) as month,
        quarter_label(date) as quarter,
        case when status = 'error' then coalesce(error_type, 'other') end as error_type
    from read_parquet($probes, hive_partitioning = true)
),

probe_attempts as (
    select coalesce(quarter, month) as period, provider, count(*) as attempts
    from probes
    group by grouping sets ((quarter, provider), (month, provider))
),

probe_errors as (
    select
        coalesce(quarter, month) as period,
        case when grouping(quarter) = 0 then 'quarter' else 'month' end as period_type,
        provider,
        error_type,
        count(*) as errors
    from probes
    where error_type is not null
    group by grouping sets ((quarter, provider, error_type), (month, provider, error_type))
),

matrix as (
    select period, period_type, provider, 'requests' as source, error_type, errors, attempts
    from req_long
    where errors > 0
    union all
    select e.period, e.period_type, e.provider, 'probes', e.error_type, e.errors, a.attempts
    from probe_errors as e
    inner join probe_attempts as a on a.period = e.period and a.provider = e.provider
),

result as (
    select
        period,
        period_type,
        provider,
        source,
        error_type,
        case
            when error_type in ('auth', 'invalid_request') then 'client'
            when error_type = 'rate_limit' then 'rate_limit'
            else 'provider_fault'
        end as error_class,
        error_type not in ('auth', 'invalid_request') as held_against_provider,
        errors,
        attempts,
        errors / attempts as rate
    from matrix
)

-- no inf or nan is published: a figure that is not finite (a weight 1 / sample_rate past 1.8e308) is null
select * replace (
    case when isfinite(errors) then errors end as errors,
    case when isfinite(attempts) then attempts end as attempts,
    case when isfinite(rate) then rate end as rate
)
from result
order by period_type desc, period, provider, source, error_type
