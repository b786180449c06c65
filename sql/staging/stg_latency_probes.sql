-- stg_latency_probes: one row per probe call, hive-partitioned by the UTC date of ts.
-- Throughputs follow the contract: decode = tokens after the first per second of decode time,
-- end-to-end = output tokens per second of the whole call; null for failed probes, and null
-- where the division leaves the float range (a decode time of 1e-320 ms is not a measurement).
select
    * exclude (decode_tps_raw, e2e_tps_raw),
    case when isfinite(decode_tps_raw) then decode_tps_raw end as decode_tps,
    case when isfinite(e2e_tps_raw) then e2e_tps_raw end as e2e_tps
from (
    select
        *,
        case when status = 'ok' and latency_ms > ttft_ms
            then output_tokens / ((latency_ms - ttft_ms) / 1000.0) end as decode_tps_raw,
        case when status = 'ok' and latency_ms > 0
            then output_tokens / (latency_ms / 1000.0) end as e2e_tps_raw,
        cast(ts as date) as date
    from ok
) as probes
