-- marts.provider_scorecard: one row per (period, provider) listed in marts.service_objects: the
-- provider's reliability and speed over its service objects, the report's scorecard
-- (pipeline/lib/report/sections/reliability.py), which only formats these rows.
--   models_probed: service objects with at least one latency probe
--   probe_success_rate: successful probes / probes, over all its probes
--   worst_day: the lowest uptime_min_day over its service objects
--   ttft_p50_ms, decode_tps_p50: medians over its service objects of their p50s
--   request_error_rate: request-weighted provider-fault rate over the service objects with requests
-- Parameters: $service_objects (mart file).
select
    period,
    period_type,
    provider,
    count(*) filter (where probes > 0) as models_probed,
    sum(probes)::bigint as probes,
    sum(probe_success_rate * probes) / nullif(sum(probes), 0) as probe_success_rate,
    min(uptime_min_day) as worst_day,
    median(ttft_p50_ms) as ttft_p50_ms,
    median(decode_tps_p50) as decode_tps_p50,
    sum(request_error_rate * requests)
    / nullif(sum(requests) filter (where request_error_rate is not null), 0) as request_error_rate
from read_parquet($service_objects)
group by period, period_type, provider
order by period_type desc, period, provider
