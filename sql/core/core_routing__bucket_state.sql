-- core_routing__bucket_state: `buckets` after the scenario's what-ifs.
--   $down_provider is unavailable (success 0) in buckets starting in [$down_start, $down_end);
--   rate limits $rate_limit_factor times as frequent: success minus (factor - 1) x rate-limit rate.
-- Parameters: $down_provider, $down_start, $down_end, $rate_limit_factor.
select
    model,
    provider,
    bucket,
    probes,
    decode_tps_p50,
    ttft_p50_ms,
    ttft_p90_ms,
    case
        when provider = $down_provider and bucket >= $down_start and bucket < $down_end then 0.0
        else greatest(0.0, success_rate - ($rate_limit_factor - 1) * rate_limit_rate)
    end as success_rate
from buckets
