-- marts.service_timeseries: one row per (hour, provider, model) with a probe or a request: the
-- service object's hourly series, for charts and for the routing simulator's time buckets.
-- Probes give availability and speed (percentiles over the hour's successful probes,
-- linear interpolation); requests give the weighted error rates.
-- Error classes come from core_requests__hourly (client errors stay out of the denominator).
-- Parameters: $probes = glob of staged latency_probes, $hourly = core_requests__hourly Parquet.
with probes as (
    select
        date_trunc('hour', ts) as hour,
        provider,
        model,
        count(*) as probes,
        count(*) filter (where status = 'ok') as probes_ok,
        quantile_cont(ttft_ms, 0.5) as ttft_p50_ms,
        quantile_cont(ttft_ms, 0.9) as ttft_p90_ms,
        quantile_cont(decode_tps, 0.5) as decode_tps_p50,
        quantile_cont(e2e_tps, 0.5) as e2e_tps_p50
    from read_parquet($probes, hive_partitioning = true)
    group by all
),

reqs as (
    select * from read_parquet($hourly)
),

result as (
    select
        coalesce(p.hour, r.hour) as hour,
        cast(coalesce(p.hour, r.hour) as date) as date,
        coalesce(p.provider, r.provider) as provider,
        coalesce(p.model, r.model) as model,
        coalesce(p.probes, 0) as probes,
        p.probes_ok / p.probes as probe_success_rate,
        p.ttft_p50_ms,
        p.ttft_p90_ms,
        p.decode_tps_p50,
        p.e2e_tps_p50,
        coalesce(r.requests, 0) as requests,
        r.provider_faults / nullif(r.requests - r.client_errors, 0) as request_error_rate,
        r.rate_limits / nullif(r.requests - r.client_errors, 0) as rate_limit_rate,
        r.client_errors / r.requests as client_error_rate
    from probes as p
    full outer join reqs as r on p.hour = r.hour and p.provider = r.provider and p.model = r.model
)

-- no inf or nan is published: a figure that is not finite after arithmetic is null
select * replace (
    case when isfinite(ttft_p50_ms) then ttft_p50_ms end as ttft_p50_ms,
    case when isfinite(ttft_p90_ms) then ttft_p90_ms end as ttft_p90_ms,
    case when isfinite(decode_tps_p50) then decode_tps_p50 end as decode_tps_p50,
    case when isfinite(e2e_tps_p50) then e2e_tps_p50 end as e2e_tps_p50,
    case when isfinite(requests) then requests end as requests,
    case when isfinite(request_error_rate) then request_error_rate end as request_error_rate,
    case when isfinite(rate_limit_rate) then rate_limit_rate end as rate_limit_rate,
    case when isfinite(client_error_rate) then client_error_rate end as client_error_rate
)
from result
order by hour, provider, model
