-- marts.period_facts: one row per period (quarter or month) with what the warehouse holds for it
-- and the counts the report's coverage table and threats to validity cite: days and units with
-- requests, weighted requests and tokens, the sampled rows behind them, service objects and
-- probes, compatibility cases, how many models have one or two providers, successor releases,
-- tool-call verdicts without an official rerun. Each comes from the mart that publishes it.
-- Parameters: $concentration, $family_demand, $service_objects, $verification, $dispersion,
-- $inertia (marts), $demand_daily, $tokens_daily (core).
with sampled as (
    -- the sampled rows from the per-day demand table, the applications from the per-day token
    -- distributions: a new day adds its partials, the quarter's requests are not read again
    select
        period,
        period_type,
        cast(sum(logged_requests) as bigint) as sampled_rows,
        sum(requests) as sampled_rows_weight,
        min(min_sample_rate) as min_sample_rate,
        max(max_sample_rate) as max_sample_rate
    from (
        select quarter as period, 'quarter' as period_type, logged_requests, requests, min_sample_rate, max_sample_rate
        from read_parquet($demand_daily)
        union all
        select month, 'month', logged_requests, requests, min_sample_rate, max_sample_rate
        from read_parquet($demand_daily)
    ) as days_by_period
    group by all
),

applications as (
    select period, count(distinct application) as applications
    from (
        select quarter as period, application from read_parquet($tokens_daily) where side = 'input'
        union all
        select month, application from read_parquet($tokens_daily) where side = 'input'
    ) as apps_by_period
    group by period
),

conc as (
    select
        period,
        any_value(period_type) as period_type,
        max(n_days) as days_with_requests,
        max(n) filter (where level = 'family' and measure = 'requests') as families_with_requests,
        max(n) filter (where level = 'model' and measure = 'requests') as models_with_requests,
        max(n) filter (where level = 'provider' and measure = 'requests') as providers_with_requests
    from read_parquet($concentration)
    group by period
),

demand as (
    select period, any_value(period_type) as period_type, sum(requests) as weighted_requests, sum(tokens) as weighted_tokens
    from read_parquet($family_demand)
    group by period
),

objects as (
    select
        period,
        any_value(period_type) as period_type,
        count(*) filter (where listed_days > 0) as service_objects_listed,
        count(*) filter (where probes > 0) as service_objects_probed,
        cast(sum(probes) as bigint) as probes,
        count(distinct provider) as providers,
        median(probes) as median_probes_per_object,
        min(probes) filter (where probes > 0) as min_probes_per_probed_object
    from read_parquet($service_objects)
    group by period
),

verification as (
    select
        period,
        any_value(period_type) as period_type,
        cast(sum(cases) as bigint) as compat_cases,
        count(distinct suite) as compat_suites,
        count(*) filter (
            where suite = 'tool_calls' and f1_threshold is null and tool_call_f1 is not null
        ) as tool_call_objects_without_rerun
    from read_parquet($verification)
    group by period
),

providers_per_model as (
    select period, any_value(period_type) as period_type, model, max(n_providers) as n
    from read_parquet($dispersion)
    group by period, model
),

dispersion as (
    select
        period,
        any_value(period_type) as period_type,
        count(*) as models_compared,
        count(*) filter (where n = 2) as models_with_two_providers,
        count(*) filter (where n < 2) as models_with_one_provider
    from providers_per_model
    group by period
),

releases as (
    select period, period_type, count(*) as successor_releases
    from (
        select
            quarter_label(release_date) as period,
            'quarter' as period_type,
            old_model,
            new_model
        from read_parquet($inertia)
        union
        select month_label(release_date), 'month', old_model, new_model from read_parquet($inertia)
    ) as pairs_by_period
    group by all
),

periods as (
    select period, period_type from sampled
    union
    select period, period_type from conc
    union
    select period, period_type from demand
    union
    select period, period_type from objects
    union
    select period, period_type from verification
    union
    select period, period_type from dispersion
)

select
    p.period,
    p.period_type,
    c.days_with_requests,
    c.families_with_requests,
    c.models_with_requests,
    c.providers_with_requests,
    d.weighted_requests,
    d.weighted_tokens,
    s.sampled_rows,
    s.sampled_rows_weight,
    s.min_sample_rate,
    s.max_sample_rate,
    a.applications,
    o.service_objects_listed,
    o.service_objects_probed,
    o.probes,
    o.providers,
    o.median_probes_per_object,
    o.min_probes_per_probed_object,
    v.compat_cases,
    v.compat_suites,
    v.tool_call_objects_without_rerun,
    x.models_compared,
    x.models_with_two_providers,
    x.models_with_one_provider,
    coalesce(r.successor_releases, 0) as successor_releases
from periods as p
left join sampled as s on p.period = s.period
left join applications as a on p.period = a.period
left join conc as c on p.period = c.period
left join demand as d on p.period = d.period
left join objects as o on p.period = o.period
left join verification as v on p.period = v.period
left join dispersion as x on p.period = x.period
left join releases as r on p.period = r.period
order by p.period_type desc, p.period
