-- marts.service_diurnal: one row per (period, provider, model, hour_of_day UTC): the daily
-- profile of a service object, percentiles over all of the period's probes in that hour of day.
-- Parameters: $probes = glob of staged latency_probes.
with probes as (
    select
        provider,
        model,
        hour(ts) as hour_of_day,
        month_label(date) as month,
        quarter_label(date) as quarter,
        status = 'ok' as ok,
        ttft_ms,
        decode_tps
    from read_parquet($probes, hive_partitioning = true)
),

result as (
    select
        coalesce(quarter, month) as period,
        case when grouping(quarter) = 0 then 'quarter' else 'month' end as period_type,
        provider,
        model,
        hour_of_day,
        count(*) as probes,
        avg(ok::double) as probe_success_rate,
        quantile_cont(ttft_ms, 0.5) as ttft_p50_ms,
        quantile_cont(ttft_ms, 0.9) as ttft_p90_ms,
        quantile_cont(decode_tps, 0.5) as decode_tps_p50
    from probes
    group by grouping sets ((quarter, provider, model, hour_of_day), (month, provider, model, hour_of_day))
)

-- no inf or nan is published: a percentile over an inf throughput (a probe timed at 5e-324 ms) is null
select * replace (
    case when isfinite(ttft_p50_ms) then ttft_p50_ms end as ttft_p50_ms,
    case when isfinite(ttft_p90_ms) then ttft_p90_ms end as ttft_p90_ms,
    case when isfinite(decode_tps_p50) then decode_tps_p50 end as decode_tps_p50
)
from result
order by period_type desc, period, model, provider, hour_of_day
